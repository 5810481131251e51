// name: user_features
// summary: Which of the items user $user_id interacted with carry each of the tags and entities $keys.
// mode: read
// params:
//   $user_id  STRING  the user
//   $keys     LIST    tag names and entity ids to look for
// returns: relationship STRING ('HAS_TAG' | 'RELATED'), key STRING (tag name | entity id), via_ids LIST (the user's items that carry it, each once, ascending) (relationship, key)
MATCH (:User {id: $user_id})-[:INTERACTED]->(v:Item)-[r:HAS_TAG|RELATED]->(x)
WITH v.id AS via_id, type(r) AS relationship, coalesce(x.id, x.name) AS key
WHERE key IN $keys
WITH DISTINCT relationship, key, via_id
ORDER BY relationship, key, via_id
RETURN relationship, key, collect(via_id) AS via_ids
ORDER BY relationship, key
