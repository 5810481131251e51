// name: count_newer_interactions
// summary: How many of the given (user, item, ts) rows the store holds a newer interaction for (kept: the latest timestamp wins).
// mode: read
// params:
//   $rows  LIST  maps {user_id, item_id, ts}
// returns: newer INTEGER
UNWIND $rows AS r
MATCH (:User {id: r.user_id})-[e:INTERACTED]->(:Item {id: r.item_id})
WHERE e.ts > r.ts
RETURN count(e) AS newer
