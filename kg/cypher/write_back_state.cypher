// name: write_back_state
// summary: The recorded state of the last write-back of a model version into the store.
// mode: read
// params:
//   $key  STRING  the state node's key ('write_back')
// returns: version STRING, complete BOOLEAN, started STRING, finished STRING, k INTEGER, users INTEGER, items INTEGER, recommendations INTEGER, base STRING, written STRING
MATCH (s:ModelState {key: $key})
RETURN s.version AS version, s.complete AS complete, s.started AS started,
       s.finished AS finished, s.k AS k, s.users AS users, s.items AS items,
       s.recommendations AS recommendations, s.base AS base, s.written AS written
