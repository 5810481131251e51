// name: merge_rating_range
// summary: Widen the store's rating scale to cover one ingested dataset's (bounded false: any finite rating); nothing is set when it already covers it.
// mode: write
// params:
//   $key      STRING   the state node's key ('ratings')
//   $bounded  BOOLEAN  the dataset has a rating scale (false: any finite rating)
//   $low      FLOAT    its lowest rating (null when unbounded)
//   $high     FLOAT    its highest rating (null when unbounded)
// returns: updated INTEGER (1 when the stored scale changed)
MERGE (s:ModelState {key: $key})
WITH s, coalesce(s.bounded, true) AND $bounded AS bounded
WITH s, bounded,
     CASE WHEN NOT bounded THEN null
          WHEN s.low IS NULL OR $low < s.low THEN $low ELSE s.low END AS low,
     CASE WHEN NOT bounded THEN null
          WHEN s.high IS NULL OR $high > s.high THEN $high ELSE s.high END AS high
WHERE s.bounded IS NULL OR s.bounded <> bounded
   OR (bounded AND (s.low <> low OR s.high <> high))
SET s.bounded = bounded, s.low = low, s.high = high
RETURN count(s) AS updated
