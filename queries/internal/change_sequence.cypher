// name: change_sequence
// summary: The counter of changes made while serving (record_interaction, add_item); no row before the first.
// mode: read
// params:
//   $key  STRING  the counter's key ('changes')
// returns: seq INTEGER
MATCH (s:ModelState {key: $key})
RETURN s.seq AS seq
