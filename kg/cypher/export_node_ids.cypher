// name: export_node_ids
// summary: Ids of users, items, tags and entities, one row per node (for paging exports).
// mode: read
// params:
// returns: label STRING, id STRING
MATCH (n)
WHERE n:User OR n:Item OR n:Tag OR n:Entity
RETURN labels(n)[0] AS label, coalesce(n.id, n.name) AS id
