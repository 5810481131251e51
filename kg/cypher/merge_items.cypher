// name: merge_items
// summary: Create or update items; a property is written only where the input carries it and it differs.
// mode: write
// params:
//   $rows     LIST    maps {id, title, description}; null means "not given": the stored value is kept
//   $dataset  STRING  the dataset's name, recorded on items it creates
// returns: updated INTEGER (items changed)
UNWIND $rows AS r
MERGE (i:Item {id: r.id})
ON CREATE SET i.dataset = $dataset
WITH i, r
WHERE (r.title IS NOT NULL AND coalesce(i.title <> r.title, true))
   OR (r.description IS NOT NULL AND coalesce(i.description <> r.description, true))
SET i.title = coalesce(r.title, i.title), i.description = coalesce(r.description, i.description)
RETURN count(i) AS updated
