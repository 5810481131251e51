// name: set_user_gnn_embeddings
// summary: Store the live model's user embeddings that changed, with its version, on users.
// mode: write
// params:
//   $rows     LIST    maps {id, embedding}
//   $model_version  STRING  the model version
// returns: nothing
UNWIND $rows AS r
MATCH (u:User {id: r.id})
// REMOVE first: FalkorDB skips SET of a vector over one of the same size.
REMOVE u.gnn_embedding
SET u.gnn_embedding = kgrec_vector(r.embedding), u.model_version = $model_version
