"""Helpers of the write-validation tests: a small MovieLens folder, and a snapshot of
everything a write could change in a store."""

from __future__ import annotations

from pathlib import Path

MOVIES = (
    "movieId,title,genres\n"
    "1,Alpha (1995),Drama|Sci-Fi\n2,Beta (1996),Comedy\n3,Gamma (1997),Drama\n"
)
RATINGS = (
    "userId,movieId,rating,timestamp\n"
    "1,1,4.0,964982703\n1,2,3.5,964981247\n2,1,5.0,964982224\n2,3,0.5,964983815\n"
    "3,2,2.0,964983000\n"
)
#: The ts of the newest rating in :data:`RATINGS`.
NEWEST = 964983815

SNAPSHOT = [
    "MATCH (u:User) RETURN u.id AS id ORDER BY id",
    "MATCH (i:Item) RETURN i.id AS id, i.title AS title, i.text AS text, i.text_hash AS h, "
    "i.embedding_hash AS eh, i.dataset AS dataset ORDER BY id",
    "MATCH (u:User)-[e:INTERACTED]->(i:Item) RETURN u.id AS u, i.id AS i, e.kind AS kind, "
    "e.rating AS rating, e.weight AS weight, e.ts AS ts, e.recorded AS recorded ORDER BY u, i",
    "MATCH (i:Item)-[h:HAS_TAG]->(t:Tag) RETURN i.id AS i, t.name AS t, h.source AS s, "
    "h.count AS c ORDER BY i, t, s",
    "MATCH (t:Tag) RETURN t.name AS name ORDER BY name",
    "MATCH (s:ModelState) RETURN s.key AS key, s.seq AS seq, s.bounded AS bounded, "
    "s.low AS low, s.high AS high ORDER BY key",
]


def movielens_folder(root: Path, ratings: str = RATINGS) -> Path:
    """A MovieLens folder (movies.csv, ratings.csv) under ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "movies.csv").write_text(MOVIES)
    (root / "ratings.csv").write_text(ratings)
    return root


def snapshot(store) -> list[list[dict]]:
    """Every user, item, interaction, tag link, tag and state node, with their properties."""
    return [store.run(q) for q in SNAPSHOT]


def rating_of(store, user: str, item: str) -> tuple[float | None, int | None]:
    """The stored (rating, ts) of ``user`` -> ``item``."""
    rows = store.run(
        "MATCH (:User {id: $u})-[e:INTERACTED]->(:Item {id: $i}) RETURN e.rating AS r, e.ts AS ts",
        {"u": user, "i": item},
    )
    assert len(rows) == 1, rows
    return rows[0]["r"], rows[0]["ts"]
