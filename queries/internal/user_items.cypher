// name: user_items
// summary: The items user $user_id interacted with, latest first.
// mode: read
// params:
//   $user_id  STRING  the user
// returns: item_id STRING, title STRING, rating FLOAT (null if none), ts INTEGER, recorded FLOAT (unix seconds when recorded while serving, else null) (ts DESC, item_id)
MATCH (:User {id: $user_id})-[r:INTERACTED]->(i:Item)
RETURN i.id AS item_id, i.title AS title, r.rating AS rating, r.ts AS ts,
       r.recorded AS recorded
ORDER BY ts DESC, item_id
