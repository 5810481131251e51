// name: top_items_for_tag
// summary: Items carrying $tag, by number of interactions, then mean rating.
// mode: read
// params:
//   $tag  STRING   the tag name (matched lower-cased and trimmed)
//   $k    INTEGER  rows to return (default 10)
// returns: item_id STRING, title STRING, interactions INTEGER, mean_rating FLOAT (interactions DESC, mean_rating DESC)
MATCH (t:Tag {name: toLower(trim($tag))})<-[:HAS_TAG]-(i:Item)
WITH DISTINCT i
OPTIONAL MATCH (i)<-[r:INTERACTED]-(:User)
RETURN i.id AS item_id, i.title AS title, count(r) AS interactions, avg(r.rating) AS mean_rating
ORDER BY interactions DESC, mean_rating DESC, item_id
LIMIT $k
