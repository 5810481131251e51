// name: export_tags
// summary: Tags of one page with their text embedding.
// mode: read
// params:
//   $names  LIST  tag names of the page
// returns: name STRING, embedding LIST<FLOAT>
UNWIND $names AS name
MATCH (t:Tag {name: name})
RETURN t.name AS name, t.embedding AS embedding
