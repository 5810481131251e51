// name: set_item_embeddings
// summary: Store text embeddings on items with the hash of the text embedded.
// mode: write
// params:
//   $rows  LIST  maps {id, embedding, text_hash}
// returns: nothing
UNWIND $rows AS r
MATCH (i:Item {id: r.id})
// REMOVE first: FalkorDB skips SET of a vector over one of the same size.
REMOVE i.embedding
SET i.embedding = kgrec_vector(r.embedding), i.embedding_hash = r.text_hash
