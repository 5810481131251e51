// name: clear_stale_gnn_embeddings
// summary: Remove model embeddings and versions of users and items that another model version wrote (up to $limit nodes per call).
// mode: write
// params:
//   $model_version  STRING   the live version (its values stay)
//   $limit          INTEGER  most nodes cleared by one call
// returns: cleared INTEGER
MATCH (n)
WHERE (n:User OR n:Item) AND n.model_version IS NOT NULL AND n.model_version <> $model_version
WITH n LIMIT $limit
REMOVE n.gnn_embedding, n.model_version
RETURN count(n) AS cleared
