"""A tiny hand-made graph for the query tests: every expected row is computed by hand.

Items (tags; entities)::

    i1  Alien <"1979">   scifi, horror   directed_by e1 (Ridley Scott)
    i2  Solaris          scifi, space
    i3  Clueless         comedy
    i4  Aliens           scifi, horror   directed_by e1
    i5  Spaceballs       comedy, space   stars e2 (Rick Moranis)
    i6  The Thing        horror          (no interactions: cold)

Ratings::

    u1: i1 5.0, i2 4.0, i3 2.0
    u2: i1 4.5, i4 5.0, i3 3.0
    u3: i1 4.0, i4 4.0, i5 5.0
    u4: i2 3.0, i5 4.0
    u5: (nothing)

User tags: u1 tagged i2 'space', u4 tagged i5 'comedy'.
Recommendations (model v1): u1 -> i4 (1), i5 (2); u2 -> i2 (1).
"""

from __future__ import annotations

import pandas as pd
import pytest

from kgrec.core.dataset import Dataset

ITEMS = {
    "i1": ('Alien <"1979">', ["scifi", "horror"]),
    "i2": ("Solaris", ["scifi", "space"]),
    "i3": ("Clueless", ["comedy"]),
    "i4": ("Aliens", ["scifi", "horror"]),
    "i5": ("Spaceballs", ["comedy", "space"]),
    "i6": ("The Thing", ["horror"]),
}
RATINGS = [
    ("u1", "i1", 5.0),
    ("u1", "i2", 4.0),
    ("u1", "i3", 2.0),
    ("u2", "i1", 4.5),
    ("u2", "i4", 5.0),
    ("u2", "i3", 3.0),
    ("u3", "i1", 4.0),
    ("u3", "i4", 4.0),
    ("u3", "i5", 5.0),
    ("u4", "i2", 3.0),
    ("u4", "i5", 4.0),
]
USER_TAGS = [("u1", "i2", "space"), ("u4", "i5", "comedy")]
ENTITIES = [("e1", "Ridley Scott", "person"), ("e2", "Rick Moranis", "person")]
TRIPLES = [("i1", "directed_by", "e1"), ("i4", "directed_by", "e1"), ("i5", "stars", "e2")]
RECOMMENDED = [("u1", "i4", 1, 0.9), ("u1", "i5", 2, 0.8), ("u2", "i2", 1, 0.7)]


def tiny_dataset() -> Dataset:
    """The graph described in the module docstring as canonical frames."""
    tags = sorted({t for _, ts in ITEMS.values() for t in ts})
    return Dataset(
        name="tiny",
        users=pd.DataFrame({"id": ["u1", "u2", "u3", "u4", "u5"]}),
        items=pd.DataFrame(
            {
                "id": list(ITEMS),
                "title": [t for t, _ in ITEMS.values()],
                "description": [None] * len(ITEMS),
            }
        ),
        tags=pd.DataFrame({"name": tags}),
        interactions=pd.DataFrame(
            [
                {
                    "user_id": u,
                    "item_id": i,
                    "kind": "rating",
                    "rating": r,
                    "weight": 1.0,
                    "ts": 1_600_000_000 + n,
                    "split": "",
                }
                for n, (u, i, r) in enumerate(RATINGS)
            ]
        ),
        item_tags=pd.DataFrame(
            [
                {"item_id": i, "tag": t, "source": "genre", "count": 1}
                for i, (_, ts) in ITEMS.items()
                for t in ts
            ]
        ),
        user_tags=pd.DataFrame(
            [{"user_id": u, "item_id": i, "tag": t, "ts": 1_700_000_000} for u, i, t in USER_TAGS]
        ),
        entities=pd.DataFrame([{"id": e, "name": n, "type": t} for e, n, t in ENTITIES]),
        triples=pd.DataFrame(
            [{"item_id": i, "relation": r, "entity_id": e} for i, r, e in TRIPLES]
        ),
    )


def load_tiny(store, embedder) -> None:
    """Ingest the tiny graph and its RECOMMENDED edges of model 'v1' into ``store``."""
    from kgrec.app.ingest import ingest
    from kgrec.kg.writer import WRITES

    ingest(tiny_dataset(), store, embedder)
    rows = [{"user_id": u, "item_id": i, "rank": k, "score": s} for u, i, k, s in RECOMMENDED]
    store.write(WRITES.get("create_recommendations").text, {"rows": rows, "model_version": "v1"})


@pytest.fixture
def tiny_store(backend, store_pool, embedder):
    """The tiny graph in a real store of each backend (read-only for tests)."""
    _, store, _ = store_pool.loaded(backend, "tiny", lambda s, _: load_tiny(s, embedder))
    return store
