"""Indexes on every id, and vector indexes on embeddings. Safe to run any number of times."""

from __future__ import annotations

import logging

from kgrec.errors import CypherError
from kgrec.kg.store import GraphStore

log = logging.getLogger(__name__)

#: The labels of the data model and the property that identifies each.
ID_KEYS: dict[str, str] = {"User": "id", "Item": "id", "Tag": "name", "Entity": "id"}

#: Vector properties that carry an index: (label, property) -> index name.
VECTOR_INDEXES: dict[tuple[str, str], str] = {
    ("Item", "embedding"): "item_embedding",
    ("Item", "gnn_embedding"): "item_gnn_embedding",
    ("User", "gnn_embedding"): "user_gnn_embedding",
}


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
        ddl = store.dialect.id_index.format(
            label=label, key=key, name=f"{label.lower()}_{key}"
        )
        created += _ddl(store, ddl)
    return created


def ensure_vector_index(store: GraphStore, label: str, prop: str, dim: int) -> bool:
    """Create the cosine vector index on ``label.prop`` with ``dim`` dimensions, if missing."""
    name = VECTOR_INDEXES[(label, prop)]
    if vector_index_dims(store, label, prop) == dim:
        return False
    ddl = store.dialect.vector_index.format(label=label, prop=prop, dim=int(dim), name=name)
    return _ddl(store, ddl)


def vector_index_dims(store: GraphStore, label: str, prop: str) -> int | None:
    """The dimension of the vector index on ``label.prop``, or None if there is none."""
    for index in list_indexes(store):
        if index["label"] == label and index["property"] == prop and index["kind"] == "vector":
            return index.get("dimension")
    return None


def list_indexes(store: GraphStore) -> list[dict]:
    """Indexes as ``{label, property, kind ('range'|'vector'|...), state, dimension}``."""
    out: list[dict] = []
    if store.dialect.name == "falkordb":
        for row in store.run("CALL db.indexes() YIELD label, properties, types, options, status"):
            for prop in row["properties"]:
                kinds = [k.lower() for k in row["types"].get(prop, [])]
                for kind in kinds:
                    dim = (row.get("options") or {}).get(prop, {}).get("dimension")
                    out.append(
                        {
                            "label": row["label"],
                            "property": prop,
                            "kind": kind,
                            "state": row["status"].lower(),
                            "dimension": dim if kind == "vector" else None,
                        }
                    )
        return out
    rows = store.run(
        "SHOW INDEXES YIELD labelsOrTypes, properties, type, state, options "
        "WHERE labelsOrTypes IS NOT NULL RETURN labelsOrTypes, properties, type, state, options"
    )
    for row in rows:
        config = (row.get("options") or {}).get("indexConfig") or {}
        for prop in row["properties"] or []:
            out.append(
                {
                    "label": row["labelsOrTypes"][0],
                    "property": prop,
                    "kind": row["type"].lower(),
                    "state": row["state"].lower(),
                    "dimension": config.get("vector.dimensions"),
                }
            )
    return out
