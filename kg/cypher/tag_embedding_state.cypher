// name: tag_embedding_state
// summary: Each tag's embedded-text hash.
// mode: read
// params:
// returns: name STRING, text_hash STRING
MATCH (t:Tag)
RETURN t.name AS name, t.text_hash AS text_hash
