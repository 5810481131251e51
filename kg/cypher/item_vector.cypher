// name: item_vector
// summary: One item's title and a stored vector property (text or GNN embedding).
// mode: read
// params:
//   $id    STRING  the item
//   $prop  STRING  embedding | gnn_embedding
// returns: id STRING, title STRING, vector LIST<FLOAT> (null when absent)
MATCH (i:Item {id: $id})
RETURN i.id AS id, i.title AS title, i[$prop] AS vector
