// name: explain_co_users
// summary: Paths user -> item <- other user -> recommended item, per (item, via item), from the user's $max_via best-rated items.
// mode: read
// params:
//   $user_id   STRING   the user
//   $item_ids  LIST     recommended item ids
//   $limit     INTEGER  most rows returned (most co-users first) (default 500)
//   $max_via   INTEGER  via items considered: the user's highest-rated, then latest (default 10)
// returns: item_id STRING, via_id STRING, via_title STRING, rating FLOAT (of via, may be null), co_users INTEGER (all of them), other_user_ids LIST (up to 3, ascending)
MATCH (rec:Item)
WHERE rec.id IN $item_ids
WITH collect(rec) AS recs
MATCH (u:User {id: $user_id})-[r:INTERACTED]->(v:Item)
WITH recs, u, r, v
ORDER BY coalesce(r.rating, 0.0) DESC, r.ts DESC, v.id
LIMIT $max_via
UNWIND recs AS rec
MATCH (v)<-[:INTERACTED]-(o:User)-[:INTERACTED]->(rec)
WHERE o <> u AND v <> rec
WITH rec, v, r, o.id AS other
ORDER BY other
WITH rec, v, r, count(other) AS co_users, collect(other) AS others
RETURN rec.id AS item_id, v.id AS via_id, v.title AS via_title, r.rating AS rating, co_users,
       others[..3] AS other_user_ids
ORDER BY co_users DESC, coalesce(rating, 0.0) DESC, item_id, via_id
LIMIT $limit
