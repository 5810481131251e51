// name: user_features
// summary: Which of the items user $user_id interacted with carry each of the tags and entities $keys.
// mode: read
// params:
//   $user_id  STRING  the user
//   $keys     LIST    tag names and entity ids to look for
// returns: relationship STRING ('HAS_TAG' | 'RELATED'), key STRING (tag name | entity id), via_ids LIST (the user's items that carry it, each once) (relationship, key)
MATCH (:User {id: $user_id})-[:INTERACTED]->(v:Item)-[r:HAS_TAG|RELATED]->(x)
WITH v, r, coalesce(x.id, x.name) AS key
WHERE key IN $keys
RETURN type(r) AS relationship, key, collect(DISTINCT v.id) AS via_ids
ORDER BY relationship, key
