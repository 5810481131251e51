// name: shortest_paths
// summary: The shortest paths (up to 4 hops, any direction) from user $user_id to item $item_id.
// mode: read
// params:
//   $user_id  STRING   the user
//   $item_id  STRING   the item
//   $k        INTEGER  paths to return (default 10)
// returns: hops INTEGER, nodes LIST (names), kinds LIST (labels), relationships LIST (types) (hops, then the path's node ids)
MATCH (u:User {id: $user_id})
MATCH (i:Item {id: $item_id})
WITH u, i
MATCH p = allShortestPaths((u)-[:INTERACTED|HAS_TAG|TAGGED|RELATED*..4]-(i))
WITH p, reduce(key = '', n IN nodes(p) | key + labels(n)[0] + ':' + coalesce(n.id, n.name) + '/')
     AS path_key
RETURN length(p) AS hops,
       [n IN nodes(p) | coalesce(n.title, n.name, n.id)] AS nodes,
       [n IN nodes(p) | labels(n)[0]] AS kinds,
       [r IN relationships(p) | type(r)] AS relationships
ORDER BY hops, path_key
LIMIT $k
