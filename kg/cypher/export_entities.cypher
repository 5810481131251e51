// name: export_entities
// summary: Entities of one page.
// mode: read
// params:
//   $ids  LIST  entity ids of the page
// returns: id STRING, name STRING, type STRING
UNWIND $ids AS id
MATCH (e:Entity {id: id})
RETURN e.id AS id, e.name AS name, e.type AS type
