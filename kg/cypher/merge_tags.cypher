// name: merge_tags
// summary: Create the tags of a batch that do not exist yet.
// mode: write
// params:
//   $rows  LIST  maps {name}
// returns: nothing
UNWIND $rows AS r
MERGE (:Tag {name: r.name})
