// name: item_vector
// summary: One item's title and a stored vector: its text embedding, or the live model's vector from its ItemVector node.
// mode: read
// params:
//   $id    STRING  the item
//   $prop  STRING  embedding | gnn_embedding
// returns: id STRING, title STRING, vector LIST<FLOAT> (null when absent)
MATCH (i:Item {id: $id})
OPTIONAL MATCH (v:ItemVector {id: $id})
RETURN i.id AS id, i.title AS title,
       CASE $prop WHEN 'gnn_embedding' THEN v.gnn_embedding ELSE i[$prop] END AS vector
