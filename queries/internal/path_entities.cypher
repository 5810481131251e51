// name: path_entities
// summary: Given (item, via item, entity) triples, the stored paths user -> via -> entity <- item.
// mode: read
// params:
//   $user_id  STRING  the user
//   $rows     LIST    maps {item_id, via_id, entity_id}
// returns: item_id STRING, via_id STRING, via_title STRING, rating FLOAT, entity_id STRING, entity_name STRING, relation STRING
UNWIND $rows AS p
MATCH (u:User {id: $user_id})-[r:INTERACTED]->(v:Item {id: p.via_id})
MATCH (v)-[:RELATED]->(x:Entity {id: p.entity_id})<-[rel:RELATED]-(rec:Item {id: p.item_id})
RETURN DISTINCT rec.id AS item_id, v.id AS via_id, v.title AS via_title, r.rating AS rating,
       x.id AS entity_id, x.name AS entity_name, rel.relation AS relation
