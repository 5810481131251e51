// name: also_liked
// summary: Items most often liked by the users who liked $item_id (both ratings >= $min_rating).
// mode: read
// params:
//   $item_id     STRING   the item
//   $min_rating  FLOAT    a rating at least this counts as liked (default 4.0)
//   $k           INTEGER  rows to return (default 10)
// returns: item_id STRING, title STRING, users INTEGER, mean_rating FLOAT (users DESC, mean_rating DESC)
MATCH (seed:Item {id: $item_id})<-[r1:INTERACTED]-(u:User)-[r2:INTERACTED]->(other:Item)
WHERE r1 <> r2 AND r1.rating >= $min_rating AND r2.rating >= $min_rating AND other <> seed
RETURN other.id AS item_id, other.title AS title, count(DISTINCT u) AS users,
       avg(r2.rating) AS mean_rating
ORDER BY users DESC, mean_rating DESC, item_id
LIMIT $k
