// name: export_interactions
// summary: Interactions of one page of users.
// mode: read
// params:
//   $ids  LIST  user ids of the page
// returns: user_id STRING, item_id STRING, kind STRING, rating FLOAT, weight FLOAT, ts INTEGER, split STRING
UNWIND $ids AS id
MATCH (:User {id: id})-[e:INTERACTED]->(x)
RETURN id AS user_id, x.id AS item_id, e.kind AS kind, e.rating AS rating, e.weight AS weight,
       e.ts AS ts, e.split AS split
