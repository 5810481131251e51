// name: explain_user_tags
// summary: Paths user -TAGGED-> tag <- recommended item, for a batch of items.
// mode: read
// params:
//   $user_id   STRING   the user
//   $item_ids  LIST     recommended item ids
//   $limit     INTEGER  most rows returned (default 500)
// returns: item_id STRING, tag STRING, tagged_item_id STRING (the item the user tagged)
MATCH (rec:Item)
WHERE rec.id IN $item_ids
MATCH (u:User {id: $user_id})-[tg:TAGGED]->(t:Tag)<-[:HAS_TAG]-(rec)
WHERE tg.item_id <> rec.id
RETURN DISTINCT rec.id AS item_id, t.name AS tag, tg.item_id AS tagged_item_id
ORDER BY item_id, tag, tagged_item_id
LIMIT $limit
