// name: rating_range
// summary: The store's rating scale, stored by ingestion: bounded with low and high, or unbounded (any finite rating); no row before the first ingest of ratings.
// mode: read
// params:
//   $key  STRING  the state node's key ('ratings')
// returns: bounded BOOLEAN, low FLOAT, high FLOAT
MATCH (s:ModelState {key: $key})
WHERE s.bounded IS NOT NULL
RETURN s.bounded AS bounded, s.low AS low, s.high AS high
