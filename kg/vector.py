"""k-nearest-neighbour search over a vector index, the same call on both backends."""

from __future__ import annotations

from collections.abc import Sequence

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


def similar_items(
    store: GraphStore, item_id: str, k: int = 10, prop: str = "embedding"
) -> list[dict]:
    """The ``k`` items nearest to ``item_id`` by the vector property ``prop``, itself excluded.

    Raises:
        UnknownIdError: no such item, or it carries no ``prop`` vector.
    """
    from kgrec.errors import UnknownIdError
    from kgrec.kg.writer import WRITES

    rows = store.run(WRITES.get("item_vector").text, {"id": str(item_id), "prop": prop})
    if not rows:
        raise UnknownIdError(f"unknown item {item_id!r}: no Item with that id in {store.uri}")
    if rows[0]["vector"] is None:
        raise UnknownIdError(
            f"item {item_id!r} has no {prop}; run `kgrec ingest` (text) or `kgrec train` (gnn)"
        )
    hits = vector_search(store, rows[0]["vector"], k + 1, prop=prop)
    return [h for h in hits if h["id"] != str(item_id)][:k]
