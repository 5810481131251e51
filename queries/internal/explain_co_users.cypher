// name: explain_co_users
// summary: Paths user -> via item <- other user -> recommended item, for given (item, via item) pairs.
// mode: read
// params:
//   $user_id   STRING   the user
//   $rows      LIST     maps {item_id, via_id}: a recommended item and an item of the user's
//   $limit     INTEGER  most rows returned (most co-users first) (default 500)
// returns: item_id STRING, via_id STRING, via_title STRING, rating FLOAT (of via, may be null), co_users INTEGER (all of them), other_user_ids LIST (up to 3, ascending)
UNWIND $rows AS p
MATCH (v:Item {id: p.via_id})
MATCH (rec:Item {id: p.item_id})
WITH p, v, rec
MATCH (u:User {id: $user_id})-[r:INTERACTED]->(v)
WHERE v <> rec
MATCH (v)<-[:INTERACTED]-(o:User)-[:INTERACTED]->(rec)
WHERE o <> u
WITH rec, v, r, o.id AS other
ORDER BY other
WITH rec, v, r, count(other) AS co_users, collect(other) AS others
RETURN rec.id AS item_id, v.id AS via_id, v.title AS via_title, r.rating AS rating, co_users,
       others[..3] AS other_user_ids
ORDER BY co_users DESC, coalesce(rating, 0.0) DESC, item_id, via_id
LIMIT $limit
