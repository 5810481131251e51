// name: item_exists
// summary: The item $id, one row when the graph holds it, none otherwise.
// mode: read
// params:
//   $id  STRING  the item
// returns: id STRING
MATCH (i:Item {id: $id})
RETURN i.id AS id
