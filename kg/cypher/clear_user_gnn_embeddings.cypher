// name: clear_user_gnn_embeddings
// summary: Remove the model embedding and version of users the live model no longer knows.
// mode: write
// params:
//   $rows  LIST  maps {id}
// returns: nothing
UNWIND $rows AS r
MATCH (u:User {id: r.id})
WHERE u.model_version IS NOT NULL
REMOVE u.gnn_embedding, u.model_version
