"""Indexes on every id, and vector indexes on embeddings. Safe to run any number of times."""

from __future__ import annotations

import logging
import time
from typing import Any

from kgrec.core.errors import CypherError, StoreUnavailable
from kgrec.kg.dialect import Dialect, IndexEntry
from kgrec.kg.store import GraphStore

log = logging.getLogger(__name__)

#: The labels of the data model and the property that identifies each.
ID_KEYS: dict[str, str] = {
    "User": "id",
    "Item": "id",
    "Tag": "name",
    "Entity": "id",
    "ItemVector": "id",
}

#: Nodes that hold a model's output for a node of another label with the same id:
#: ``(:ItemVector {id, gnn_embedding, model_version})`` for ``(:Item {id})``. An item's
#: learned vector lives apart from the item because on FalkorDB setting any property of a
#: node re-inserts it into every vector index of its label: a write-back that set
#: ``gnn_embedding`` on the items themselves also rebuilt their 384-dimension text-index
#: entries, about 140 times the cost of the write (``benchmarks/store_io.py --index-upkeep``).
VECTOR_OWNERS: dict[str, str] = {"ItemVector": "Item"}

#: Vector properties that carry an index: (label, property) -> index name. ``User``
#: vectors carry none: no statement searches them, and on FalkorDB an index makes every
#: update of a user cost an index insertion.
VECTOR_INDEXES: dict[tuple[str, str], str] = {
    ("Item", "embedding"): "item_embedding",
    ("ItemVector", "gnn_embedding"): "item_vector_gnn_embedding",
}

#: Vector indexes earlier releases created, which :func:`drop_vector_index` still removes.
RETIRED_VECTOR_INDEXES: dict[tuple[str, str], str] = {
    ("User", "gnn_embedding"): "user_gnn_embedding",
    ("Item", "gnn_embedding"): "item_gnn_embedding",
}

#: The similarity every vector index uses.
VECTOR_SIMILARITY = "cosine"


def _ddl(store: GraphStore, statement: str) -> bool:
    """Run one DDL statement; an 'already exists' answer counts as done. True if created."""
    try:
        _, counters = store.write(statement)
    except CypherError as e:
        if any(frag in str(e).lower() for frag in store.dialect.index_exists_errors):
            return False
        raise
    return counters.indexes_added > 0


def ensure_schema(store: GraphStore) -> int:
    """Create the id index (unique constraint on Neo4j) of every label; return how many are new."""
    created = 0
    for label, key in ID_KEYS.items():
        ddl = store.dialect.id_index.format(label=label, key=key, name=f"{label.lower()}_{key}")
        created += _ddl(store, ddl)
    if created:
        await_indexes(store)
    return created


def ensure_vector_index(store: GraphStore, label: str, prop: str, dim: int) -> bool:
    """Make ``label.prop`` carry an exact cosine vector index of ``dim`` dimensions.

    An index of another dimension, another similarity or with quantization (vectors of
    another model, say) is dropped and created anew; creating an index whose twin exists
    would otherwise be skipped silently by ``IF NOT EXISTS``.

    Returns:
        True if an index was created.
    """
    current = vector_index(store, label, prop)
    if current is not None and _matches(current, dim):
        return False
    if current is not None:
        log.info(
            "recreating the vector index on %s.%s: it has %s dims (%s), %d wanted",
            label,
            prop,
            current["dimension"],
            current["similarity"],
            dim,
        )
        drop_vector_index(store, label, prop)
    return _create_vector_index(store, label, prop, dim)


def rebuild_vector_index(store: GraphStore, label: str, prop: str, dim: int) -> None:
    """Drop and create the vector index on ``label.prop`` so it holds only current vectors."""
    drop_vector_index(store, label, prop)
    _create_vector_index(store, label, prop, dim)


def drop_vector_index(store: GraphStore, label: str, prop: str) -> None:
    """Drop the vector index on ``label.prop`` if there is one."""
    if vector_index(store, label, prop) is None:
        return
    name = {**RETIRED_VECTOR_INDEXES, **VECTOR_INDEXES}[(label, prop)]
    store.write(store.dialect.drop_vector_index.format(label=label, prop=prop, name=name))


def _create_vector_index(store: GraphStore, label: str, prop: str, dim: int) -> bool:
    name = VECTOR_INDEXES[(label, prop)]
    ddl = store.dialect.vector_index.format(label=label, prop=prop, dim=int(dim), name=name)
    created = _ddl(store, ddl)
    await_indexes(store)
    return created


def await_indexes(store: GraphStore, timeout_s: float = 300.0) -> None:
    """Return once every index is online (new indexes are populated in the background).

    Raises:
        StoreUnavailable: an index failed, or is still populating after ``timeout_s``.
    """
    if store.dialect.await_indexes:
        store.run(store.dialect.await_indexes)
        return
    deadline = time.monotonic() + timeout_s
    while True:
        pending = [i for i in list_indexes(store) if i["state"] != "online"]
        if not pending:
            return
        if any(i["state"] == "failed" for i in pending) or time.monotonic() > deadline:
            bad = ", ".join(f"{i['label']}.{i['property']} ({i['state']})" for i in pending)
            raise StoreUnavailable(f"indexes not online in {store.uri}: {bad}")
        time.sleep(0.02)


def _matches(index: dict[str, Any], dim: int) -> bool:
    return (
        index["dimension"] == dim
        and (index["similarity"] or VECTOR_SIMILARITY) == VECTOR_SIMILARITY
        and not index["quantized"]
    )


def vector_index(store: GraphStore, label: str, prop: str) -> dict[str, Any] | None:
    """The vector index on ``label.prop`` as listed by :func:`list_indexes`, or None."""
    for index in list_indexes(store):
        if index["label"] == label and index["property"] == prop and index["kind"] == "vector":
            return index
    return None


def list_indexes(store: GraphStore) -> list[dict[str, Any]]:
    """Indexes as ``{label, property, kind, state, dimension, similarity, quantized, stale,
    documents}``.

    ``kind`` is ``range``, ``vector``, ...; ``state`` is ``online``, ``populating`` or
    ``failed`` on both backends; the last five are None except for vector indexes.
    ``stale`` bounds the entries of updated nodes a FalkorDB vector index still holds
    (0 on Neo4j) and ``documents`` counts the nodes it indexes (None on Neo4j).
    Sorted by label, property and kind.
    """
    dialect = store.dialect
    rows = [
        _index_row(dialect, entry)
        for row in store.run(dialect.list_indexes)
        for entry in dialect.index_entries(row)
    ]
    return sorted(rows, key=lambda i: (i["label"], i["property"], i["kind"]))


def _index_row(dialect: Dialect, entry: IndexEntry) -> dict[str, Any]:
    vector = entry.kind == "vector"
    return {
        "label": entry.label,
        "property": entry.property,
        "kind": entry.kind,
        "state": dialect.index_state(entry.state),
        "dimension": int(entry.dimension) if vector and entry.dimension is not None else None,
        "similarity": entry.similarity.lower() if vector and entry.similarity else None,
        "quantized": bool(entry.quantized) if vector else None,
        "stale": int(entry.stale or 0) if vector else None,
        "documents": int(entry.documents) if vector and entry.documents is not None else None,
    }
