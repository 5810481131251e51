// name: items_of_other_datasets
// summary: How many of the given items exist already, created by another dataset, per dataset.
// mode: read
// params:
//   $ids      LIST    item ids
//   $dataset  STRING  the dataset being ingested
// returns: dataset STRING, items INTEGER (dataset)
UNWIND $ids AS id
MATCH (i:Item {id: id})
WHERE i.dataset IS NOT NULL AND i.dataset <> $dataset
RETURN i.dataset AS dataset, count(i) AS items
ORDER BY dataset
