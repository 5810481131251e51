// name: create_recommendations
// summary: Record each user's current top-k from the live model as RECOMMENDED relationships.
// mode: write
// params:
//   $rows     LIST    maps {user_id, item_id, rank, score}
//   $model_version  STRING  the model version
// returns: nothing
UNWIND $rows AS r
MATCH (u:User {id: r.user_id})
MATCH (i:Item {id: r.item_id})
CREATE (u)-[:RECOMMENDED {rank: r.rank, score: r.score, model_version: $model_version}]->(i)
