// name: export_user_tags
// summary: Tag applications of one page of users.
// mode: read
// params:
//   $ids  LIST  user ids of the page
// returns: user_id STRING, item_id STRING, tag STRING, ts INTEGER
UNWIND $ids AS id
MATCH (:User {id: id})-[e:TAGGED]->(x)
RETURN id AS user_id, e.item_id AS item_id, coalesce(x.id, x.name) AS tag, e.ts AS ts
