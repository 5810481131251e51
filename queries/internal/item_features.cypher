// name: item_features
// summary: The tags and entities of each item in $item_ids: what explanation reasons group by.
// mode: read
// params:
//   $item_ids  LIST  item ids
// returns: item_id STRING, relationship STRING ('HAS_TAG' | 'RELATED'), key STRING (tag name | entity id), label STRING (tag name | entity name), relation STRING (of an entity link; null for a tag)
MATCH (i:Item)-[r:HAS_TAG|RELATED]->(x)
WHERE i.id IN $item_ids
RETURN DISTINCT i.id AS item_id, type(r) AS relationship, coalesce(x.id, x.name) AS key,
       coalesce(x.name, x.id) AS label, r.relation AS relation
ORDER BY item_id, relationship, key
