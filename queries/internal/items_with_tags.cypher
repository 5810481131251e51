// name: items_with_tags
// summary: Items carrying at least one of the given tags.
// mode: read
// params:
//   $tags  LIST  tag names (normalised)
// returns: item_id STRING (item_id)
MATCH (i:Item)-[:HAS_TAG]->(t:Tag)
WHERE t.name IN $tags
RETURN DISTINCT i.id AS item_id
ORDER BY item_id
