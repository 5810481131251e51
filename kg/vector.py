"""Vector properties: writes that keep their index exact, and k-nearest-neighbour search."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kgrec.core.progress import Progress
from kgrec.kg.schema import (
    VECTOR_INDEXES,
    VECTOR_OWNERS,
    drop_vector_index,
    ensure_vector_index,
    rebuild_vector_index,
    vector_index,
)
from kgrec.kg.store import GraphStore
from kgrec.kg.writer import VECTOR_BATCH_SIZE, BatchWriter, StepReport

#: A FalkorDB vector index is rebuilt once its stale entries (of updated nodes) outnumber
#: this share of the nodes it indexes, so its upkeep grows with the updates, not the graph.
STALE_SHARE = 0.5


def write_vectors(
    store: GraphStore,
    statement: str,
    label: str,
    prop: str,
    rows: list[dict[str, Any]],
    dim: int,
    params: dict[str, Any] | None = None,
    progress: Progress | None = None,
    batch_size: int = VECTOR_BATCH_SIZE,
    settle: bool = True,
) -> StepReport:
    """Write vectors of ``label.prop`` with the named statement; leave an exact index behind.

    The index is created (or recreated, when its dimension differs) before the write. On a
    backend whose index keeps stale entries for updated nodes, :func:`vector_search` asks
    for more neighbours to make up for them, and :func:`settle_vector_index` rebuilds the
    index once they outgrow :data:`STALE_SHARE` of it, so a top-k query returns k current
    nodes however often vectors change. There, a bulk write (rows past :data:`STALE_SHARE`
    of the indexed nodes, or no index yet) drops the index, writes, and builds it once: the
    rebuild would follow anyway, and an index kept up row by row costs more than the write.

    Args:
        store: the target store.
        statement: a write statement of the catalogue taking ``$rows`` (and ``params``).
        label: ``Item`` or ``User``.
        prop: ``embedding`` or ``gnn_embedding``.
        rows: the statement's rows, each with a ``dim``-long vector.
        dim: the vectors' dimension.
        params: fixed parameters of the statement (a model version).
        progress: called with (statement, rows written so far, total rows).
        batch_size: rows per write.
        settle: call :func:`settle_vector_index` at the end; pass False when more vector
            changes follow (removals, say), and call it after them.
    """
    if not rows:
        return StepReport()
    bulk = _bulk_write(store, label, prop, len(rows))
    if bulk:
        drop_vector_index(store, label, prop)
    else:
        ensure_vector_index(store, label, prop, dim)
    report = BatchWriter(store, progress).write(statement, rows, batch_size, params)
    if bulk:
        ensure_vector_index(store, label, prop, dim)
    elif settle:
        settle_vector_index(store, label, prop, dim)
    return report


def _bulk_write(store: GraphStore, label: str, prop: str, rows: int) -> bool:
    """Whether writing ``rows`` vectors of ``label.prop`` is cheaper with its index dropped
    and built once after: on a backend whose index keeps stale entries, when there is no
    index yet or the rows outnumber :data:`STALE_SHARE` of the nodes it indexes."""
    if not store.dialect.reindex_after_vector_update:
        return False
    index = vector_index(store, label, prop)
    return index is None or rows > STALE_SHARE * max(index["documents"] or 0, 1)


def settle_vector_index(store: GraphStore, label: str, prop: str, dim: int) -> bool:
    """After nodes of ``label`` changed: where the backend keeps stale entries for updated
    nodes (FalkorDB), rebuild the index on ``label.prop`` once they outnumber
    :data:`STALE_SHARE` of its nodes; nothing elsewhere.

    Returns:
        True if the index was rebuilt.
    """
    if not store.dialect.reindex_after_vector_update:
        return False
    index = vector_index(store, label, prop)
    if index is None or index["stale"] <= STALE_SHARE * max(index["documents"] or 0, 1):
        return False
    rebuild_vector_index(store, label, prop, dim)
    return True


def vector_search(
    store: GraphStore,
    vector: Sequence[float],
    k: int,
    label: str = "Item",
    prop: str = "embedding",
) -> list[dict[str, Any]]:
    """The ``k`` nodes nearest to ``vector`` by cosine similarity, most similar first.

    Where the index keeps stale entries (FalkorDB), a search that finds fewer than ``k``
    nodes asks again for ``k`` plus the stale entries, since each can take one place.

    Returns:
        Rows ``{id, title, similarity}`` (``title`` is None for nodes without one; for a
        node holding another's vector, such as ``ItemVector``, the title of that node);
        ties in similarity are broken by id, so both backends give the same order.
    """
    if k <= 0:
        return []
    call = store.dialect.vector_search.format(
        label=label, prop=prop, name=VECTOR_INDEXES[(label, prop)]
    )
    owner = VECTOR_OWNERS.get(label)  # labels come from the schema, never from input
    titled = f"MATCH (owner:{owner} {{id: node.id}}) " if owner else ""
    title = "owner.title" if owner else "node.title"
    cypher = (
        f"{call} {titled}RETURN node.id AS id, {title} AS title, similarity "
        "ORDER BY similarity DESC, id"
    )
    query = [float(x) for x in vector]
    rows = store.run(cypher, {"k": int(k), "vector": query})
    if len(rows) < k and store.dialect.reindex_after_vector_update:
        index = vector_index(store, label, prop)
        if index is not None and index["stale"]:
            rows = store.run(cypher, {"k": int(k) + index["stale"], "vector": query})[:k]
    return rows


def similar_items(
    store: GraphStore, item_id: str, k: int = 10, prop: str = "embedding"
) -> list[dict[str, Any]]:
    """The ``k`` items nearest to ``item_id`` by the vector property ``prop``, itself excluded.

    Raises:
        UnknownIdError: no such item, or it carries no ``prop`` vector.
    """
    from kgrec.core.errors import UnknownIdError
    from kgrec.kg.catalogue import READS

    rows = store.run(READS.get("item_vector").text, {"id": str(item_id), "prop": prop})
    if not rows:
        raise UnknownIdError(f"unknown item {item_id!r}: no Item with that id in {store.uri}")
    if rows[0]["vector"] is None:
        raise UnknownIdError(
            f"item {item_id!r} has no {prop}; run `kgrec ingest` (text) or `kgrec train` (gnn)"
        )
    label = next(
        (lbl for lbl, p in VECTOR_INDEXES if p == prop and VECTOR_OWNERS.get(lbl, lbl) == "Item"),
        "Item",
    )
    hits = vector_search(store, rows[0]["vector"], k + 1, label=label, prop=prop)
    return [h for h in hits if h["id"] != str(item_id)][:k]
