// name: export_item_edges
// summary: Tag links and knowledge-graph triples of one page of items.
// mode: read
// params:
//   $ids  LIST  item ids of the page
// returns: rel STRING, item_id STRING, target STRING, source STRING, count INTEGER, relation STRING
UNWIND $ids AS id
MATCH (i:Item {id: id})-[e:HAS_TAG|RELATED]->(x)
RETURN type(e) AS rel, i.id AS item_id, coalesce(x.id, x.name) AS target, e.source AS source,
       e.count AS count, e.relation AS relation
