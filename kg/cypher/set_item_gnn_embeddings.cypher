// name: set_item_gnn_embeddings
// summary: Store the live model's item embeddings and its version on items.
// mode: write
// params:
//   $rows     LIST    maps {id, embedding}
//   $model_version  STRING  the model version
// returns: nothing
UNWIND $rows AS r
MATCH (i:Item {id: r.id})
SET i.gnn_embedding = kgrec_vector(r.embedding), i.model_version = $model_version
