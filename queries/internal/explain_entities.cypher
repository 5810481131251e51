// name: explain_entities
// summary: Paths user -> item -> entity <- recommended item, for a batch of items.
// mode: read
// params:
//   $user_id   STRING   the user
//   $item_ids  LIST     recommended item ids
//   $limit     INTEGER  most rows returned (highest-rated via items first) (default 500)
// returns: item_id STRING, via_id STRING, via_title STRING, rating FLOAT (of via, may be null), entity_id STRING, entity_name STRING, relation STRING (of the recommended item's link)
MATCH (rec:Item)
WHERE rec.id IN $item_ids
WITH collect(rec) AS recs
MATCH (u:User {id: $user_id})-[r:INTERACTED]->(v:Item)-[:RELATED]->(x:Entity)
WITH DISTINCT recs, r, v, x
UNWIND recs AS rec
MATCH (x)<-[rel:RELATED]-(rec)
WHERE v <> rec
RETURN DISTINCT rec.id AS item_id, v.id AS via_id, v.title AS via_title, r.rating AS rating,
       x.id AS entity_id, x.name AS entity_name, rel.relation AS relation
ORDER BY coalesce(rating, 0.0) DESC, item_id, via_id, entity_id
LIMIT $limit
