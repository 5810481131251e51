// name: write_back_started
// summary: Mark the write-back of a model version as started and not complete (its first write).
// mode: write
// params:
//   $key            STRING   the state node's key ('write_back')
//   $model_version  STRING   the version being written back
//   $started        STRING   UTC time, ISO 8601
//   $k              INTEGER  recommendations per user
// returns: nothing
MERGE (s:ModelState {key: $key})
SET s.version = $model_version, s.complete = false, s.started = $started, s.k = $k,
    s.finished = null, s.users = null, s.items = null, s.recommendations = null,
    s.base = null, s.written = null
