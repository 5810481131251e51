// Ad-hoc analyst questions over the tiny graph of tests/queries/conftest.py, run as an
// analyst runs them (kgrec cypher) on both stores; each must give the same rows.
//
// Each entry starts with "// name:"; "// params:" holds a JSON object of parameter values;
// "// warns:" a fragment of the notice the embedded store gives (a rewrite it made).
// Rows are compared in order where the statement has ORDER BY, as a multiset otherwise.

// name: cotag_partners
// warns: added WHERE r1 <> r2
// params: {"tag": "scifi"}
MATCH (t:Tag {name: $tag})<-[r1:HAS_TAG]-(i:Item)-[r2:HAS_TAG]->(t2:Tag)
RETURN t2.name AS tag, count(*) AS items

// name: cotag_pairs_anonymous
// warns: added WHERE _r1 <> _r2
MATCH (a:Tag)<-[:HAS_TAG]-(:Item)-[:HAS_TAG]->(b:Tag)
RETURN a.name AS a, b.name AS b, count(*) AS items

// name: cotag_pairs_with_where
// warns: added WHERE r1 <> r2
MATCH (a:Tag)<-[r1:HAS_TAG]-(i:Item)-[r2:HAS_TAG]->(b:Tag)
WHERE a.name = 'horror' OR b.name = 'horror'
WITH a, b, i
ORDER BY i.id
RETURN a.name AS a, b.name AS b, collect(i.id) AS items

// name: co_users
// warns: added WHERE r1 <> r2
// params: {"user": "u1"}
MATCH (u:User {id: $user})-[r1:INTERACTED]->(i:Item)<-[r2:INTERACTED]-(v:User)
RETURN v.id AS user, count(i) AS shared, sum(r2.rating) AS their_ratings

// name: two_hop_items_by_tag
// warns: added WHERE _r1 <> _r2
// params: {"user": "u4"}
MATCH (u:User {id: $user})-[:INTERACTED]->(:Item)-[:HAS_TAG]->(t:Tag)<-[:HAS_TAG]-(rec:Item)
RETURN DISTINCT rec.id AS item

// name: same_director
// warns: added WHERE
MATCH (u:User)-[:INTERACTED]->(a:Item)-[:RELATED]->(e:Entity)<-[:RELATED]-(b:Item)
WHERE a <> b
RETURN u.id AS user, b.id AS item, e.name AS via

// name: already_distinct
MATCH (a:Tag)<-[r1:HAS_TAG]-(i:Item)-[r2:HAS_TAG]->(b:Tag)
WHERE r1 <> r2 AND a.name < b.name
RETURN a.name AS a, b.name AS b, count(i) AS items
ORDER BY items DESC, a, b

// name: integer_sum_per_tag
MATCH (:Item)-[h:HAS_TAG]->(t:Tag)
RETURN t.name AS tag, sum(h.count) AS uses
ORDER BY tag

// name: integer_sum_of_case
MATCH (:User)-[r:INTERACTED]->(i:Item)
RETURN i.id AS item, sum(CASE WHEN r.rating >= 4 THEN 1 ELSE 0 END) AS liked,
       sum(DISTINCT r.ts - 1600000000) AS offsets
ORDER BY item

// name: integer_sum_of_nothing
MATCH (:User {id: 'u5'})-[r:INTERACTED]->(:Item)
RETURN sum(r.ts) AS total, count(r) AS n

// name: float_sum_and_avg
MATCH (u:User)-[r:INTERACTED]->(:Item)
RETURN u.id AS user, sum(r.rating) AS total, avg(r.rating) AS mean, min(r.rating) AS low,
       max(r.rating) AS high, count(*) AS n
ORDER BY user

// name: optional_entities
MATCH (i:Item)
OPTIONAL MATCH (i)-[rel:RELATED]->(e:Entity)
RETURN i.id AS item, rel.relation AS relation, e.name AS entity

// name: optional_recommendations_counted
MATCH (u:User)
OPTIONAL MATCH (u)-[r:RECOMMENDED]->(i:Item)
WITH u, r, i
ORDER BY r.rank
RETURN u.id AS user, count(r) AS recommended, collect(i.id) AS items
ORDER BY user

// name: collect_ordered
MATCH (u:User)-[r:INTERACTED]->(i:Item)
WITH u, i, r
ORDER BY r.rating DESC, i.id
RETURN u.id AS user, collect(i.id) AS items_best_first
ORDER BY user

// name: distinct_ratings
MATCH (:User)-[r:INTERACTED]->(:Item)
RETURN DISTINCT r.rating AS rating
ORDER BY rating

// name: with_pipeline
MATCH (u:User)-[r:INTERACTED]->(:Item)
WITH u, avg(r.rating) AS mean, count(r) AS n
WHERE mean >= 4.0
RETURN u.id AS user, mean, n
ORDER BY user

// name: unwind_ids
// params: {"ids:LIST": ["i3", "i1", "nope"]}
UNWIND $ids AS id
MATCH (i:Item {id: id})
RETURN id, i.title AS title

// name: unwind_case
UNWIND range(1, 6) AS x
RETURN x, CASE WHEN x % 2 = 0 THEN 'even' WHEN x = 5 THEN 'five' ELSE 'odd' END AS kind,
       x * x AS square, x / 2 AS half, x / 2.0 AS exact_half

// name: string_functions
MATCH (i:Item)
WHERE toLower(i.title) CONTAINS 'alien' OR i.title STARTS WITH 'Sp'
RETURN i.id AS id, toUpper(i.title) AS upper, size(i.title) AS length,
       substring(i.title, 0, 4) AS head, replace(i.title, ' ', '_') AS snake,
       trim('  ' + i.id + '  ') AS trimmed, split(i.title, 'l') AS parts
ORDER BY id

// name: string_ends_and_concat
MATCH (t:Tag)
WHERE t.name ENDS WITH 'e' OR t.name CONTAINS 'fi'
RETURN t.name + '!' AS shout, left(t.name, 2) AS first_two, toString(size(t.name)) AS n
ORDER BY shout

// name: shortest_paths
MATCH (u:User {id: 'u4'})
MATCH (i:Item {id: 'i1'})
WITH u, i
MATCH p = allShortestPaths((u)-[:INTERACTED|HAS_TAG*..4]-(i))
RETURN length(p) AS hops, [n IN nodes(p) | coalesce(n.title, n.name, n.id)] AS path

// name: variable_length_unique
MATCH p = (a:Tag {name: 'space'})-[:HAS_TAG*2..2]-(b:Tag)
WHERE all(x IN range(0, length(p) - 2)
          WHERE all(y IN range(x + 1, length(p) - 1)
                    WHERE relationships(p)[x] <> relationships(p)[y]))
RETURN DISTINCT b.name AS tag

// name: pattern_comprehension
MATCH (i:Item)
RETURN i.id AS item, size([(i)<-[:INTERACTED]-(u:User) | u.id]) AS fans
ORDER BY fans DESC, item

// name: pattern_predicate_cold
MATCH (i:Item)
WHERE NOT (i)<-[:INTERACTED]-(:User)
RETURN i.id AS item

// name: distinct_counts_per_tag
MATCH (t:Tag)<-[:HAS_TAG]-(i:Item)<-[:INTERACTED]-(u:User)
RETURN t.name AS tag, count(DISTINCT u) AS users, count(DISTINCT i) AS items, count(*) AS rows
ORDER BY tag

// name: arithmetic
RETURN 7 / 2 AS int_div, 7 % 3 AS modulo, 7.0 / 2 AS float_div, toInteger(3.9) AS truncated,
       abs(-2) AS absolute, round(2.4) AS rounded, toFloat(3) AS as_float, 2 + 3 * 4 AS precedence

// name: skip_limit
MATCH (i:Item)
RETURN i.id AS id, i.title AS title
ORDER BY id
SKIP 1
LIMIT 3

// name: user_tags
MATCH (u:User)-[tg:TAGGED]->(t:Tag)
RETURN u.id AS user, collect(t.name) AS tags, min(tg.ts) AS first

// name: labels_count
MATCH (n)
WHERE n:User OR n:Item OR n:Tag OR n:Entity
RETURN labels(n)[0] AS label, count(*) AS nodes

// name: recommendation_ranks
MATCH (u:User)-[r:RECOMMENDED]->(i:Item)
RETURN u.id AS user, i.id AS item, r.rank AS rank, r.score AS score
ORDER BY user, rank

// name: coalesce_missing
MATCH (i:Item)
RETURN i.id AS id, coalesce(i.missing, i.title) AS title, i.missing IS NULL AS absent
ORDER BY id
