"""Where Neo4j 5 and FalkorDB Cypher differ: one table per backend, nothing else.

Labels and property names put into these templates come from the fixed data model
(:data:`kgrec.kg.schema.ID_KEYS`, :data:`kgrec.kg.schema.VECTOR_INDEXES`), never from user
input; values always travel as parameters.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple


class IndexEntry(NamedTuple):
    """One (label, property, kind) index as a backend lists it, before normalising."""

    label: str
    property: str
    kind: str
    state: str
    dimension: Any = None
    similarity: Any = None
    quantized: Any = None
    #: Entries the index holds beyond its current ones, at most (None: none are kept).
    stale: Any = None
    #: Nodes the index holds (None where the backend does not say).
    documents: Any = None


def _falkordb_index_entries(row: dict[str, Any]) -> Iterator[IndexEntry]:
    """Entries of one ``CALL db.indexes()`` row (one row per label, many properties).

    The label's one index re-adds a node under a new document id on every update of it and
    keeps the old vectors (FalkorDB 4.x), so ids minted beyond the documents bound the
    stale vector entries."""
    info = row.get("info") or {}
    documents = int(info.get("numDocuments", 0))
    stale = max(int(info.get("maxDocId", 0)) - documents, 0)
    for prop in row["properties"]:
        opts = (row.get("options") or {}).get(prop, {}) or {}
        for kind in (k.lower() for k in row["types"].get(prop, [])):
            yield IndexEntry(
                row["label"],
                prop,
                kind,
                row["status"],
                opts.get("dimension"),
                opts.get("similarityFunction"),
                False,
                stale,
                documents,
            )


def _neo4j_index_entries(row: dict[str, Any]) -> Iterator[IndexEntry]:
    """Entries of one ``SHOW INDEXES`` row."""
    config = (row.get("options") or {}).get("indexConfig") or {}
    for prop in row["properties"] or []:
        yield IndexEntry(
            row["labelsOrTypes"][0],
            prop,
            row["type"].lower(),
            row["state"],
            config.get("vector.dimensions"),
            config.get("vector.similarity_function"),
            config.get("vector.quantization.enabled", False),
        )


@dataclass(frozen=True)
class Dialect:
    """Cypher snippets and known behaviours of one backend.

    Attributes:
        name: backend name.
        id_index: DDL making ``{label}.{key}`` indexed (unique where the backend can).
        vector_index: DDL for an exact-similarity cosine vector index on ``{label}.{prop}``
            of ``{dim}`` dims, named ``{name}`` where the backend names indexes.
        drop_vector_index: DDL dropping the vector index on ``{label}.{prop}`` / ``{name}``.
        vector_value: wraps a list-of-floats expression so it is stored as a vector.
        vector_search: procedure call yielding ``node`` and ``similarity`` (cosine, -1..1)
            for the ``$k`` nearest neighbours of ``$vector``.
        index_exists_errors: lower-case fragments of the error a backend raises when an
            index already exists (treated as success).
        index_states: fragments of the backend's index states (lower case) -> the
            project's vocabulary, ``online`` | ``populating`` | ``failed``.
        reindex_after_vector_update: the backend's vector index keeps stale entries for
            updated nodes (FalkorDB 4.x: any update of a node; a top-k query then returns
            fewer than k nodes), so searches ask for more and the index is rebuilt once the
            stale entries outgrow a share of it (:mod:`kgrec.kg.vector`).
        await_indexes: a statement that returns once every index is online; None where
            the state is polled instead. Both backends populate new indexes in the background.
        list_indexes: a read statement listing the indexes on node labels.
        index_entries: turns one row of ``list_indexes`` into :class:`IndexEntry` values.
        read_only_refusals: how the backend says a read-mode statement tried to write
            (Neo4j: the error code; FalkorDB: a lower-case fragment of the message).
        unique_relationships: one relationship is never bound to two relationship patterns
            of one MATCH (Neo4j); FalkorDB binds it to both, so an analyst's statement gets
            ``r1 <> r2`` added (:mod:`kgrec.queries.statement`).
        integer_sum: ``sum()`` over integers is an integer (Neo4j); FalkorDB returns a float.
        unsupported: upper-case tokens of syntax the backend lacks -> what to use instead.
        store_name: how messages name the backend's store.
    """

    name: str
    id_index: str
    vector_index: str
    drop_vector_index: str
    vector_value: str
    vector_search: str
    index_exists_errors: tuple[str, ...] = ()
    index_states: dict[str, str] = field(default_factory=dict)
    reindex_after_vector_update: bool = False
    await_indexes: str | None = None
    list_indexes: str = ""
    index_entries: Callable[[dict[str, Any]], Iterator[IndexEntry]] = _neo4j_index_entries
    read_only_refusals: tuple[str, ...] = ()
    unique_relationships: bool = True
    integer_sum: bool = True
    unsupported: dict[str, str] = field(default_factory=dict)
    store_name: str = "store"

    def vector(self, expr: str) -> str:
        """``expr`` as a stored vector (``vecf32(expr)`` on FalkorDB)."""
        return self.vector_value.format(expr=expr)

    def index_state(self, state: str) -> str:
        """The backend's index state in the project's vocabulary (unknown ones as given)."""
        state = state.lower()
        for known, ours in self.index_states.items():
            if known in state:  # FalkorDB: "[indexing] 10/10: under construction"
                return ours
        return state


FALKORDB = Dialect(
    name="falkordb",
    id_index="CREATE INDEX FOR (n:{label}) ON (n.{key})",
    vector_index=(
        "CREATE VECTOR INDEX FOR (n:{label}) ON (n.{prop}) "
        "OPTIONS {{dimension: {dim}, similarityFunction: 'cosine'}}"
    ),
    drop_vector_index="DROP VECTOR INDEX FOR (n:{label}) ON (n.{prop})",
    vector_value="vecf32({expr})",
    vector_search=(
        "CALL db.idx.vector.queryNodes('{label}', '{prop}', $k, vecf32($vector)) "
        "YIELD node, score WITH node, 1.0 - score AS similarity"
    ),
    index_exists_errors=("already indexed", "already exists"),
    index_states={"operational": "online", "under construction": "populating"},
    reindex_after_vector_update=True,
    list_indexes="CALL db.indexes() YIELD label, properties, types, options, status, info",
    index_entries=_falkordb_index_entries,
    read_only_refusals=("to be executed only on read-only queries",),
    unique_relationships=False,
    integer_sum=False,
    unsupported={
        "=~": "match text with STARTS WITH, ENDS WITH or CONTAINS (toLower() on both sides "
        "for any case), or run the statement on Neo4j",
        "EXISTS {": "use a pattern predicate, WHERE (x)-[:T]->(:L), or "
        "size([(x)-[:T]->(y) WHERE ... | y]) > 0",
        "COUNT {": "use size([(x)-[:T]->(y) | y]), or OPTIONAL MATCH ... WITH count(y)",
    },
    store_name="embedded store (FalkorDB)",
)

NEO4J = Dialect(
    name="neo4j",
    id_index=("CREATE CONSTRAINT {name} IF NOT EXISTS FOR (n:{label}) REQUIRE n.{key} IS UNIQUE"),
    # Quantization (on by default since 5.23) trades exact similarities for memory: off, so
    # both backends return the true cosine.
    vector_index=(
        "CREATE VECTOR INDEX {name} IF NOT EXISTS FOR (n:{label}) ON n.{prop} "
        "OPTIONS {{indexConfig: {{`vector.dimensions`: {dim}, "
        "`vector.similarity_function`: 'cosine', `vector.quantization.enabled`: false}}}}"
    ),
    drop_vector_index="DROP INDEX {name} IF EXISTS",
    vector_value="{expr}",
    vector_search=(
        "CALL db.index.vector.queryNodes('{name}', $k, $vector) "
        "YIELD node, score WITH node, 2.0 * score - 1.0 AS similarity"
    ),
    index_states={"online": "online", "populating": "populating", "failed": "failed"},
    await_indexes="CALL db.awaitIndexes(300)",
    list_indexes=(
        "SHOW INDEXES YIELD labelsOrTypes, properties, type, state, options "
        "WHERE labelsOrTypes IS NOT NULL RETURN labelsOrTypes, properties, type, state, options"
    ),
    index_entries=_neo4j_index_entries,
    read_only_refusals=("Neo.ClientError.Statement.AccessMode",),
    store_name="Neo4j store",
)

DIALECTS = {d.name: d for d in (FALKORDB, NEO4J)}
