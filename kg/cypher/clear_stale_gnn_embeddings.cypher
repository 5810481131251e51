// name: clear_stale_gnn_embeddings
// summary: Remove model embeddings and versions that another model version wrote on users, and those earlier releases kept on items themselves (up to $limit nodes per call).
// mode: write
// params:
//   $model_version  STRING   the live version (its values stay)
//   $limit          INTEGER  most nodes cleared by one call
// returns: cleared INTEGER
MATCH (n)
WHERE (n:User AND n.model_version IS NOT NULL AND n.model_version <> $model_version)
   OR (n:Item AND n.model_version IS NOT NULL)
WITH n LIMIT $limit
REMOVE n.gnn_embedding, n.model_version
RETURN count(n) AS cleared
