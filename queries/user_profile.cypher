// name: user_profile
// summary: One user's interactions count, mean rating, top tags of the items they rated, own tags.
// mode: read
// params:
//   $user_id  STRING   the user
//   $k        INTEGER  top tags to list (default 5)
// returns: user_id STRING, interactions INTEGER, mean_rating FLOAT, top_tags LIST (most items first), own_tags LIST
MATCH (u:User {id: $user_id})
OPTIONAL MATCH (u)-[r:INTERACTED]->(:Item)
WITH u, count(r) AS interactions, avg(r.rating) AS mean_rating
OPTIONAL MATCH (u)-[:INTERACTED]->(i:Item)-[:HAS_TAG]->(t:Tag)
WITH u, interactions, mean_rating, t.name AS tag, count(DISTINCT i) AS tag_items
ORDER BY tag_items DESC, tag
WITH u, interactions, mean_rating, collect(tag)[..$k] AS top_tags
OPTIONAL MATCH (u)-[:TAGGED]->(own:Tag)
WITH u, interactions, mean_rating, top_tags, own.name AS own_tag
ORDER BY own_tag
RETURN u.id AS user_id, interactions, mean_rating, top_tags, collect(DISTINCT own_tag) AS own_tags
