// name: user_exists
// summary: The user $id, one row when the graph holds it, none otherwise.
// mode: read
// params:
//   $id  STRING  the user
// returns: id STRING
MATCH (u:User {id: $id})
RETURN u.id AS id
