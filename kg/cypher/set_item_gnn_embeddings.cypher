// name: set_item_gnn_embeddings
// summary: Store the live model's item embeddings that changed, with its version, on each item's ItemVector node.
// mode: write
// params:
//   $rows     LIST    maps {id, embedding}
//   $model_version  STRING  the model version
// returns: nothing
UNWIND $rows AS r
MATCH (i:Item {id: r.id})
MERGE (v:ItemVector {id: i.id})
// REMOVE first: FalkorDB skips SET of a vector over one of the same size.
REMOVE v.gnn_embedding
SET v.gnn_embedding = kgrec_vector(r.embedding), v.model_version = $model_version
