// name: merge_users
// summary: Create the users of a batch that do not exist yet.
// mode: write
// params:
//   $rows  LIST  maps {id}
// returns: nothing
UNWIND $rows AS r
MERGE (:User {id: r.id})
