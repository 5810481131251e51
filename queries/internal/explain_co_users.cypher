// name: explain_co_users
// summary: Paths user -> via item <- other user -> recommended item, for given (item, via item) pairs.
// mode: read
// params:
//   $user_id   STRING   the user
//   $rows      LIST     maps {item_id, via_id}: a recommended item and an item of the user's
//   $limit     INTEGER  most rows returned (most co-users first) (default 500)
// returns: item_id STRING, via_id STRING, via_title STRING, rating FLOAT (of via, may be null), co_users INTEGER (all of them), other_user_id STRING (the smallest id among them)
UNWIND $rows AS p
MATCH (v:Item {id: p.via_id})
MATCH (rec:Item {id: p.item_id})
WITH p, v, rec
MATCH (u:User {id: $user_id})-[r:INTERACTED]->(v)
WHERE v <> rec
MATCH (v)<-[:INTERACTED]-(o:User)-[:INTERACTED]->(rec)
WHERE o <> u
// Counted, and one id taken by min(): collecting and sorting every co-user's id cost most of
// the statement on popular items (benchmarks/README.md, Scale).
WITH rec, v, r, count(o) AS co_users, min(o.id) AS other_user_id
RETURN rec.id AS item_id, v.id AS via_id, v.title AS via_title, r.rating AS rating, co_users,
       other_user_id
ORDER BY co_users DESC, coalesce(rating, 0.0) DESC, item_id, via_id
LIMIT $limit
