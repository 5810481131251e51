// name: export_item_tags
// summary: Tag links of one page of items.
// mode: read
// params:
//   $ids  LIST  item ids of the page
// returns: item_id STRING, tag STRING, source STRING, count INTEGER
UNWIND $ids AS id
MATCH (:Item {id: id})-[e:HAS_TAG]->(x)
RETURN id AS item_id, coalesce(x.id, x.name) AS tag, e.source AS source, e.count AS count
