// name: mark_added_items
// summary: Mark items added while serving (add_item) that are not marked yet.
// mode: write
// params:
//   $rows   LIST   maps {id}
//   $added  FLOAT  unix seconds of the addition
// returns: updated INTEGER (items marked now)
UNWIND $rows AS r
MATCH (i:Item {id: r.id})
WITH i
WHERE i.added IS NULL
SET i.added = $added
RETURN count(i) AS updated
