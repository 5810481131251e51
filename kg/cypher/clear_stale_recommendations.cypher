// name: clear_stale_recommendations
// summary: Delete RECOMMENDED relationships of any other model version (up to $limit per call).
// mode: write
// params:
//   $model_version  STRING   the live version (its relationships stay)
//   $limit          INTEGER  most relationships deleted by one call
// returns: cleared INTEGER
MATCH ()-[r:RECOMMENDED]->()
WHERE r.model_version IS NULL OR r.model_version <> $model_version
WITH r LIMIT $limit
DELETE r
RETURN count(*) AS cleared
