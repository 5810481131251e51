// name: item_popularity
// summary: Number of interactions of every item that has any.
// mode: read
// params:
// returns: item_id STRING, interactions INTEGER (interactions DESC, item_id)
MATCH (:User)-[r:INTERACTED]->(i:Item)
RETURN i.id AS item_id, count(r) AS interactions
ORDER BY interactions DESC, item_id
