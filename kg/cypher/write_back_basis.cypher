// name: write_back_basis
// summary: Record which written record a started write-back compares the live model with (right after write_back_started).
// mode: write
// params:
//   $key            STRING   the state node's key ('write_back')
//   $model_version  STRING   the version being written back
//   $base           STRING   the record's token
// returns: nothing
MATCH (s:ModelState {key: $key})
WHERE s.version = $model_version AND s.complete = false
SET s.base = $base
