// name: export_user_edges
// summary: Interactions and tag applications of one page of users.
// mode: read
// params:
//   $ids  LIST  user ids of the page
// returns: rel STRING, user_id STRING, target STRING, kind STRING, rating FLOAT, weight FLOAT, ts INTEGER, split STRING, item_id STRING
UNWIND $ids AS id
MATCH (u:User {id: id})-[e:INTERACTED|TAGGED]->(x)
RETURN type(e) AS rel, u.id AS user_id, coalesce(x.id, x.name) AS target, e.kind AS kind,
       e.rating AS rating, e.weight AS weight, e.ts AS ts, e.split AS split,
       e.item_id AS item_id
