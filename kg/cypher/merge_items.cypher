// name: merge_items
// summary: Create or update items; properties are written only where they differ.
// mode: write
// params:
//   $rows  LIST  maps {id, title, description, text, text_hash}
// returns: updated INTEGER (items created or changed)
UNWIND $rows AS r
MERGE (i:Item {id: r.id})
WITH i, r
WHERE i.title IS NULL OR i.title <> r.title
   OR coalesce(i.description, '') <> coalesce(r.description, '')
   OR coalesce(i.text_hash, '') <> r.text_hash
SET i.title = r.title, i.description = r.description, i.text = r.text,
    i.text_hash = r.text_hash
RETURN count(i) AS updated
