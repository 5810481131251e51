// name: popular_items
// summary: Items with the most interactions (ratings or not), with their mean rating.
// mode: read
// params:
//   $k  INTEGER  rows to return (default 10)
// returns: item_id STRING, title STRING, interactions INTEGER, mean_rating FLOAT (interactions DESC)
MATCH (:User)-[r:INTERACTED]->(i:Item)
WITH i, count(r) AS interactions, avg(r.rating) AS mean_rating
RETURN i.id AS item_id, i.title AS title, interactions, mean_rating
ORDER BY interactions DESC, mean_rating DESC, item_id
LIMIT $k
