// name: set_item_gnn_embeddings
// summary: Store the live model's item embeddings that changed, with its version, on items.
// mode: write
// params:
//   $rows     LIST    maps {id, embedding}
//   $model_version  STRING  the model version
// returns: nothing
UNWIND $rows AS r
MATCH (i:Item {id: r.id})
// REMOVE first: FalkorDB skips SET of a vector over one of the same size.
REMOVE i.gnn_embedding
SET i.gnn_embedding = kgrec_vector(r.embedding), i.model_version = $model_version
