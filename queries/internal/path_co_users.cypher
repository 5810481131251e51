// name: path_co_users
// summary: Given (item, via item, other user) triples, the stored paths user -> via <- other -> item.
// mode: read
// params:
//   $user_id  STRING  the user
//   $rows     LIST    maps {item_id, via_id, other_id, co_users}
// returns: item_id STRING, via_id STRING, via_title STRING, rating FLOAT, co_users INTEGER, other_user_id STRING
UNWIND $rows AS p
MATCH (u:User {id: $user_id})-[r:INTERACTED]->(v:Item {id: p.via_id})
MATCH (v)<-[:INTERACTED]-(o:User {id: p.other_id})-[:INTERACTED]->(rec:Item {id: p.item_id})
RETURN rec.id AS item_id, v.id AS via_id, v.title AS via_title, r.rating AS rating,
       p.co_users AS co_users, o.id AS other_user_id
