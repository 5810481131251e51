// name: merge_user_tags
// summary: Create or update TAGGED relationships, one per (user, tag, item tagged).
// mode: write
// params:
//   $rows  LIST  maps {user_id, item_id, tag, ts}
// returns: updated INTEGER
UNWIND $rows AS r
MATCH (u:User {id: r.user_id})
MATCH (t:Tag {name: r.tag})
MERGE (u)-[e:TAGGED {item_id: r.item_id}]->(t)
WITH e, r
WHERE e.ts IS NULL OR e.ts <> r.ts
SET e.ts = r.ts
RETURN count(e) AS updated
