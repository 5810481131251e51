// name: path_shared_tags
// summary: Given (item, via item, tag) triples, the stored paths user -> via -> tag <- item.
// mode: read
// params:
//   $user_id  STRING  the user
//   $rows     LIST    maps {item_id, via_id, tag}
// returns: item_id STRING, via_id STRING, via_title STRING, rating FLOAT, tag STRING
UNWIND $rows AS p
MATCH (u:User {id: $user_id})-[r:INTERACTED]->(v:Item {id: p.via_id})
MATCH (v)-[:HAS_TAG]->(t:Tag {name: p.tag})<-[:HAS_TAG]-(rec:Item {id: p.item_id})
RETURN DISTINCT rec.id AS item_id, v.id AS via_id, v.title AS via_title, r.rating AS rating,
       t.name AS tag
