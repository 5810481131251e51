// name: item_embedding_state
// summary: Each item's id and the hash of the text its stored embedding was made from.
// mode: read
// params:
// returns: id STRING, text_hash STRING (null when the item has no embedding)
MATCH (i:Item)
RETURN i.id AS id, i.embedding_hash AS text_hash
