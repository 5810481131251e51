// name: export_items
// summary: Items of one page with their title, description and text embedding.
// mode: read
// params:
//   $ids  LIST  item ids of the page
// returns: id STRING, title STRING, description STRING, embedding LIST<FLOAT>
UNWIND $ids AS id
MATCH (i:Item {id: id})
RETURN i.id AS id, i.title AS title, i.description AS description, i.embedding AS embedding
