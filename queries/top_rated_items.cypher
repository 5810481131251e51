// name: top_rated_items
// summary: Items with at least $min_ratings ratings, by mean rating, then number of ratings.
// mode: read
// params:
//   $k            INTEGER  rows to return (default 10)
//   $min_ratings  INTEGER  fewest ratings an item needs (default 10)
// returns: item_id STRING, title STRING, ratings INTEGER, mean_rating FLOAT (mean_rating DESC, ratings DESC)
MATCH (:User)-[r:INTERACTED]->(i:Item)
WHERE r.rating IS NOT NULL
WITH i, count(r) AS ratings, avg(r.rating) AS mean_rating
WHERE ratings >= $min_ratings
RETURN i.id AS item_id, i.title AS title, ratings, mean_rating
ORDER BY mean_rating DESC, ratings DESC, item_id
LIMIT $k
