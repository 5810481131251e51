// name: item_text_sources
// summary: What an item's text is built from: title, description, tags; and the hashes of its stored text and embedding.
// mode: read
// params:
//   $ids  LIST  item ids
// returns: id STRING, title STRING, description STRING, text_hash STRING, embedding_hash STRING, tags LIST<MAP {tag, source, count}>
UNWIND $ids AS id
MATCH (i:Item {id: id})
OPTIONAL MATCH (i)-[e:HAS_TAG]->(t:Tag)
WITH i, collect({tag: t.name, source: e.source, count: e.count}) AS tags
RETURN i.id AS id, i.title AS title, i.description AS description, i.text_hash AS text_hash,
       i.embedding_hash AS embedding_hash, [x IN tags WHERE x.tag IS NOT NULL] AS tags
