"""k-nearest-neighbour search over a vector index, the same call on both backends."""

from __future__ import annotations

from typing import Sequence

from kgrec.kg.schema import VECTOR_INDEXES
from kgrec.kg.store import GraphStore


def vector_search(
    store: GraphStore,
    vector: Sequence[float],
    k: int,
    label: str = "Item",
    prop: str = "embedding",
) -> list[dict]:
    """The ``k`` nodes nearest to ``vector`` by cosine similarity, most similar first.

    Returns:
        Rows ``{id, title, similarity}`` (``title`` is None for nodes without one).
    """
    if k <= 0:
        return []
    call = store.dialect.vector_search.format(
        label=label, prop=prop, name=VECTOR_INDEXES[(label, prop)]
    )
    cypher = (
        f"{call} RETURN node.id AS id, node.title AS title, similarity "
        "ORDER BY similarity DESC"
    )
    return store.run(cypher, {"k": int(k), "vector": [float(x) for x in vector]})
