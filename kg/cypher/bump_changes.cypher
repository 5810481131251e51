// name: bump_changes
// summary: Count one more change of behaviour or catalogue made while serving; serving processes poll this counter.
// mode: write
// params:
//   $key  STRING  the counter's key ('changes')
// returns: seq INTEGER (the counter after this change)
MERGE (s:ModelState {key: $key})
SET s.seq = coalesce(s.seq, 0) + 1
RETURN s.seq AS seq
