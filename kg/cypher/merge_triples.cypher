// name: merge_triples
// summary: Create RELATED relationships from (item, relation, entity) triples.
// mode: write
// params:
//   $rows  LIST  maps {item_id, relation, entity_id}
// returns: nothing
UNWIND $rows AS r
MATCH (i:Item {id: r.item_id})
MATCH (x:Entity {id: r.entity_id})
MERGE (i)-[:RELATED {relation: r.relation}]->(x)
