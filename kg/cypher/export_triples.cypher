// name: export_triples
// summary: Knowledge-graph triples of one page of items.
// mode: read
// params:
//   $ids  LIST  item ids of the page
// returns: item_id STRING, relation STRING, entity_id STRING
UNWIND $ids AS id
MATCH (:Item {id: id})-[e:RELATED]->(x)
RETURN id AS item_id, e.relation AS relation, coalesce(x.id, x.name) AS entity_id
