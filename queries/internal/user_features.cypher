// name: user_features
// summary: Which of the tags and entities $keys each item user $user_id interacted with carries.
// mode: read
// params:
//   $user_id  STRING  the user
//   $keys     LIST    tag names and entity ids to look for
// returns: via_id STRING (an item of the user's), relationship STRING ('HAS_TAG' | 'RELATED'), key STRING (tag name | entity id)
MATCH (:User {id: $user_id})-[:INTERACTED]->(v:Item)-[r:HAS_TAG|RELATED]->(x)
WHERE coalesce(x.id, x.name) IN $keys
RETURN DISTINCT v.id AS via_id, type(r) AS relationship, coalesce(x.id, x.name) AS key
ORDER BY via_id, relationship, key
