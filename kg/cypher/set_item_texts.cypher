// name: set_item_texts
// summary: Store each item's text (what is embedded) and its hash.
// mode: write
// params:
//   $rows  LIST  maps {id, text, text_hash}
// returns: nothing
UNWIND $rows AS r
MATCH (i:Item {id: r.id})
SET i.text = r.text, i.text_hash = r.text_hash
