// name: clear_item_gnn_embeddings
// summary: Remove the model embedding and version of items the live model no longer knows.
// mode: write
// params:
//   $rows  LIST  maps {id}
// returns: nothing
UNWIND $rows AS r
MATCH (v:ItemVector {id: r.id})
DELETE v
