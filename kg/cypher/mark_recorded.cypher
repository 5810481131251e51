// name: mark_recorded
// summary: Mark INTERACTED relationships recorded while serving (record_interaction) that are not marked yet and hold the recorded row (a newer stored one is not marked).
// mode: write
// params:
//   $rows      LIST   maps {user_id, item_id, ts}
//   $recorded  FLOAT  unix seconds of the recording
// returns: updated INTEGER (relationships marked now)
UNWIND $rows AS r
MATCH (:User {id: r.user_id})-[e:INTERACTED]->(:Item {id: r.item_id})
WITH e, r
WHERE e.recorded IS NULL AND e.ts = r.ts
SET e.recorded = $recorded
RETURN count(e) AS updated
