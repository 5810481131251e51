// name: count_graph
// summary: Node and relationship counts by label and type.
// mode: read
// params:
// returns: users, items, tags, entities, interactions, item_tags, user_tags, triples INTEGER
CALL { MATCH (n:User) RETURN count(n) AS users }
CALL { MATCH (n:Item) RETURN count(n) AS items }
CALL { MATCH (n:Tag) RETURN count(n) AS tags }
CALL { MATCH (n:Entity) RETURN count(n) AS entities }
CALL { MATCH ()-[r:INTERACTED]->() RETURN count(r) AS interactions }
CALL { MATCH ()-[r:HAS_TAG]->() RETURN count(r) AS item_tags }
CALL { MATCH ()-[r:TAGGED]->() RETURN count(r) AS user_tags }
CALL { MATCH ()-[r:RELATED]->() RETURN count(r) AS triples }
RETURN users, items, tags, entities, interactions, item_tags, user_tags, triples
