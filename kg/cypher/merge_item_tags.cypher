// name: merge_item_tags
// summary: Create or update HAS_TAG relationships, one per (item, tag, source).
// mode: write
// params:
//   $rows  LIST  maps {item_id, tag, source, count}
// returns: updated INTEGER
UNWIND $rows AS r
MATCH (i:Item {id: r.item_id})
MATCH (t:Tag {name: r.tag})
MERGE (i)-[e:HAS_TAG {source: r.source}]->(t)
WITH e, r
WHERE e.count IS NULL OR e.count <> r.count
SET e.count = r.count
RETURN count(e) AS updated
