// name: merge_interactions
// summary: Create or update INTERACTED relationships, the latest timestamp winning: a stored one is replaced only by a row whose ts is >= its ts, and only where a property differs.
// mode: write
// params:
//   $rows  LIST  maps {user_id, item_id, kind, rating, weight, ts, split}
// returns: updated INTEGER (relationships created or changed)
UNWIND $rows AS r
MATCH (u:User {id: r.user_id})
MATCH (i:Item {id: r.item_id})
MERGE (u)-[e:INTERACTED]->(i)
// a write first: it locks e, so a concurrent writer's ts is read only once committed
SET e.ts = e.ts
WITH e, r
WHERE (e.ts IS NULL OR r.ts >= e.ts)
  AND (e.kind IS NULL OR e.kind <> r.kind OR e.weight <> r.weight OR e.ts <> r.ts
       OR coalesce(e.rating, -1.0) <> coalesce(r.rating, -1.0)
       OR coalesce(e.split, '') <> r.split)
SET e.kind = r.kind, e.rating = r.rating, e.weight = r.weight, e.ts = r.ts, e.split = r.split
RETURN count(e) AS updated
