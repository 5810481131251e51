// name: set_tag_embeddings
// summary: Store text embeddings on tags, with the hash of the text embedded.
// mode: write
// params:
//   $rows  LIST  maps {name, embedding, text_hash}
// returns: nothing
UNWIND $rows AS r
MATCH (t:Tag {name: r.name})
// REMOVE first: FalkorDB skips SET of a vector over one of the same size.
REMOVE t.embedding
SET t.embedding = kgrec_vector(r.embedding), t.text_hash = r.text_hash
