// name: cold_items
// summary: Items nobody has interacted with, with their tags.
// mode: read
// params:
//   $k  INTEGER  rows to return (default 100)
// returns: item_id STRING, title STRING, tags LIST (sorted) (item_id)
MATCH (i:Item)
OPTIONAL MATCH (i)<-[r:INTERACTED]-(:User)
WITH i, count(r) AS interactions
WHERE interactions = 0
OPTIONAL MATCH (i)-[:HAS_TAG]->(t:Tag)
WITH i, t
ORDER BY t.name
RETURN i.id AS item_id, i.title AS title, collect(DISTINCT t.name) AS tags
ORDER BY item_id
LIMIT $k
