// name: write_back_finished
// summary: Mark the write-back of a model version complete (its last write).
// mode: write
// params:
//   $key              STRING   the state node's key ('write_back')
//   $model_version    STRING   the version written back
//   $finished         STRING   UTC time, ISO 8601
//   $users            INTEGER  user embeddings written
//   $items            INTEGER  item embeddings written
//   $recommendations  INTEGER  RECOMMENDED relationships created
//   $written          STRING   token of the record of what the store now holds
// returns: nothing
MATCH (s:ModelState {key: $key})
WHERE s.version = $model_version
SET s.complete = true, s.finished = $finished, s.users = $users, s.items = $items,
    s.recommendations = $recommendations, s.written = $written
