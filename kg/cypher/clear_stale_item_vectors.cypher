// name: clear_stale_item_vectors
// summary: Delete item vector nodes that another model version wrote (up to $limit per call).
// mode: write
// params:
//   $model_version  STRING   the live version (its vectors stay)
//   $limit          INTEGER  most nodes deleted by one call
// returns: cleared INTEGER
MATCH (v:ItemVector)
WHERE v.model_version <> $model_version
WITH v LIMIT $limit
DELETE v
RETURN count(v) AS cleared
