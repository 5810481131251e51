// name: set_tag_embeddings
// summary: Store text embeddings on tags, with the hash of the text embedded.
// mode: write
// params:
//   $rows  LIST  maps {name, embedding, text_hash}
// returns: nothing
UNWIND $rows AS r
MATCH (t:Tag {name: r.name})
SET t.embedding = kgrec_vector(r.embedding), t.text_hash = r.text_hash
