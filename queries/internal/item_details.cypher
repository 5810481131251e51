// name: item_details
// summary: Title and tag names of each item in $item_ids.
// mode: read
// params:
//   $item_ids  LIST  item ids (strings)
// returns: item_id STRING, title STRING, tags LIST (sorted) (item_id)
MATCH (i:Item)
WHERE i.id IN $item_ids
OPTIONAL MATCH (i)-[:HAS_TAG]->(t:Tag)
WITH i, t
ORDER BY t.name
RETURN i.id AS item_id, i.title AS title, collect(DISTINCT t.name) AS tags
ORDER BY item_id
