// name: explain_shared_tags
// summary: Paths user -> item they interacted with -> tag <- recommended item, for a batch of items.
// mode: read
// params:
//   $user_id   STRING   the user
//   $item_ids  LIST     recommended item ids
//   $limit     INTEGER  most rows returned (highest-rated via items first) (default 500)
// returns: item_id STRING, via_id STRING, via_title STRING, rating FLOAT (of via, may be null), tag STRING
MATCH (rec:Item)
WHERE rec.id IN $item_ids
WITH collect(rec) AS recs
MATCH (u:User {id: $user_id})-[r:INTERACTED]->(v:Item)-[:HAS_TAG]->(t:Tag)
WITH DISTINCT recs, r, v, t
UNWIND recs AS rec
MATCH (t)<-[:HAS_TAG]-(rec)
WHERE v <> rec
RETURN DISTINCT rec.id AS item_id, v.id AS via_id, v.title AS via_title, r.rating AS rating,
       t.name AS tag
ORDER BY coalesce(rating, 0.0) DESC, item_id, via_id, tag
LIMIT $limit
