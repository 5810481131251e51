// name: clear_recommendations
// summary: Remove the RECOMMENDED relationships of a batch of users.
// mode: write
// params:
//   $rows  LIST  maps {user_id}
// returns: nothing
UNWIND $rows AS r
MATCH (:User {id: r.user_id})-[old:RECOMMENDED]->()
DELETE old
