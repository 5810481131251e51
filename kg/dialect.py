"""Where Neo4j 5 and FalkorDB Cypher differ: one table per backend, nothing else.

Labels and property names put into these templates come from the fixed data model
(:data:`kgrec.kg.schema.ID_KEYS`), never from user input; values always travel as parameters.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Dialect:
    """Cypher snippets for one backend.

    Attributes:
        name: backend name.
        id_index: DDL making ``{label}.{key}`` indexed (unique where the backend can).
        vector_index: DDL for a cosine vector index on ``{label}.{prop}`` of ``{dim}`` dims.
        vector_value: wraps a list-of-floats expression so it is stored as a vector.
        vector_search: procedure call yielding ``node`` and ``similarity`` (cosine, -1..1)
            for the ``$k`` nearest neighbours of ``$vector``.
        index_exists_errors: lower-case fragments of the error a backend raises when an
            index already exists (treated as success).
    """

    name: str
    id_index: str
    vector_index: str
    vector_value: str
    vector_search: str
    index_exists_errors: tuple[str, ...] = ()

    def vector(self, expr: str) -> str:
        """``expr`` as a stored vector (``vecf32(expr)`` on FalkorDB)."""
        return self.vector_value.format(expr=expr)


FALKORDB = Dialect(
    name="falkordb",
    id_index="CREATE INDEX FOR (n:{label}) ON (n.{key})",
    vector_index=(
        "CREATE VECTOR INDEX FOR (n:{label}) ON (n.{prop}) "
        "OPTIONS {{dimension: {dim}, similarityFunction: 'cosine'}}"
    ),
    vector_value="vecf32({expr})",
    vector_search=(
        "CALL db.idx.vector.queryNodes('{label}', '{prop}', $k, vecf32($vector)) "
        "YIELD node, score WITH node, 1.0 - score AS similarity"
    ),
    index_exists_errors=("already indexed", "already exists"),
)

NEO4J = Dialect(
    name="neo4j",
    id_index=(
        "CREATE CONSTRAINT {name} IF NOT EXISTS FOR (n:{label}) REQUIRE n.{key} IS UNIQUE"
    ),
    vector_index=(
        "CREATE VECTOR INDEX {name} IF NOT EXISTS FOR (n:{label}) ON n.{prop} "
        "OPTIONS {{indexConfig: {{`vector.dimensions`: {dim}, "
        "`vector.similarity_function`: 'cosine'}}}}"
    ),
    vector_value="{expr}",
    vector_search=(
        "CALL db.index.vector.queryNodes('{name}', $k, $vector) "
        "YIELD node, score WITH node, 2.0 * score - 1.0 AS similarity"
    ),
)

DIALECTS = {d.name: d for d in (FALKORDB, NEO4J)}
