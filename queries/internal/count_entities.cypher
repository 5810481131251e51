// name: count_entities
// summary: How many Entity nodes the graph holds.
// mode: read
// params:
// returns: n INTEGER
MATCH (e:Entity)
RETURN count(e) AS n
