// name: merge_entities
// summary: Create or update knowledge-graph entities; properties written only where they differ.
// mode: write
// params:
//   $rows  LIST  maps {id, name, type}
// returns: updated INTEGER
UNWIND $rows AS r
MERGE (e:Entity {id: r.id})
WITH e, r
WHERE e.name IS NULL OR e.name <> r.name OR coalesce(e.type, '') <> coalesce(r.type, '')
SET e.name = r.name, e.type = r.type
RETURN count(e) AS updated
