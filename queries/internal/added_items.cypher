// name: added_items
// summary: Items added while serving (add_item), with their text vector and tags.
// mode: read
// params:
// returns: item_id STRING, embedding LIST<FLOAT> (null without text), tags LIST<STRING> (item_id; tags by name)
MATCH (i:Item)
WHERE i.added IS NOT NULL
OPTIONAL MATCH (i)-[:HAS_TAG]->(t:Tag)
WITH i, t
ORDER BY i.id, t.name
WITH i, collect(DISTINCT t.name) AS tags
RETURN i.id AS item_id, i.embedding AS embedding, tags
ORDER BY item_id
