// name: tag_cooccurrence
// summary: Pairs of tags carried by the same items; all pairs, or the partners of $tag.
// mode: read
// params:
//   $tag  STRING   only pairs with this tag (as tag_a); null for all pairs (default null)
//   $k    INTEGER  rows to return (default 20)
// returns: tag_a STRING, tag_b STRING, items INTEGER, examples LIST (first 3 titles A-Z) (items DESC, tag_a, tag_b)
MATCH (a:Tag)<-[ha:HAS_TAG]-(i:Item)-[hb:HAS_TAG]->(b:Tag)
WHERE ha <> hb AND (($tag IS NULL AND a.name < b.name) OR (a.name = $tag AND b.name <> a.name))
WITH a, b, i
ORDER BY i.title
WITH a.name AS tag_a, b.name AS tag_b, collect(DISTINCT i.title) AS titles
RETURN tag_a, tag_b, size(titles) AS items, titles[..3] AS examples
ORDER BY items DESC, tag_a, tag_b
LIMIT $k
