// name: recommendation_coverage
// summary: Share of the catalogue that appears in RECOMMENDED relationships, users served, model versions.
// mode: read
// params:
// returns: items INTEGER, recommended_items INTEGER, coverage FLOAT, users_with_recommendations INTEGER, recommendations INTEGER, model_versions LIST (sorted)
MATCH (i:Item)
WITH count(i) AS items
OPTIONAL MATCH (u:User)-[r:RECOMMENDED]->(rec:Item)
WITH items, u, r, rec
ORDER BY r.model_version
WITH items, count(DISTINCT rec) AS recommended_items, count(DISTINCT u) AS users,
     count(r) AS recommendations, collect(DISTINCT r.model_version) AS model_versions
RETURN items, recommended_items,
       CASE WHEN items = 0 THEN 0.0 ELSE toFloat(recommended_items) / items END AS coverage,
       users AS users_with_recommendations, recommendations, model_versions
