"""The server backend: Neo4j 5 through the official driver."""

from __future__ import annotations

from typing import Any, LiteralString, cast

from kgrec.core.errors import CypherError, StoreUnavailable, WriteInReadMode
from kgrec.core.settings import neo4j_auth
from kgrec.kg.dialect import NEO4J
from kgrec.kg.store import GraphStore, Mode, Row, WriteCounters


def plain(value: Any) -> Any:
    """Driver values (nodes, relationships, paths) as the same plain shapes as FalkorDB's."""
    from neo4j.graph import Node, Path, Relationship

    if isinstance(value, Node):
        return {"labels": sorted(value.labels), "properties": dict(value)}
    if isinstance(value, Relationship):
        return {"type": value.type, "properties": dict(value)}
    if isinstance(value, Path):
        return {
            "nodes": [plain(n) for n in value.nodes],
            "relationships": [plain(r) for r in value.relationships],
        }
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value


def _quoted(name: str) -> str:
    """A schema name as a quoted Cypher identifier (names come from the server's own list)."""
    return "`" + name.replace("`", "``") + "`"


class Neo4jStore(GraphStore):
    """A Neo4j 5 database behind a ``neo4j://`` or ``bolt://`` URI.

    Args:
        uri: the server URI.
        database: database name; None for the server's default.
    """

    dialect = NEO4J

    def __init__(self, uri: str, database: str | None = None) -> None:
        import neo4j

        self.uri = uri
        self.database = database
        try:
            # A label, type or property no node carries yet is normal in a fresh graph (no
            # RECOMMENDED edge before the first training run), so the server's UNRECOGNIZED
            # notices are off; deprecation and performance notices still reach the log.
            self._driver = neo4j.GraphDatabase.driver(
                uri,
                auth=neo4j_auth(),
                notifications_disabled_classifications=[
                    neo4j.NotificationDisabledClassification.UNRECOGNIZED
                ],
            )
            self._driver.verify_connectivity()
        except (neo4j.exceptions.Neo4jError, neo4j.exceptions.DriverError, OSError) as e:
            raise StoreUnavailable(
                f"cannot reach Neo4j at {uri}: {e}; check the URI and NEO4J_USER/NEO4J_PASSWORD"
            ) from e

    def _execute(
        self, cypher: str, params: dict[str, Any] | None, mode: Mode = Mode.WRITE
    ) -> tuple[list[dict[str, Any]], Any]:
        """Run ``cypher`` as an auto-commit transaction of access mode ``mode``.

        Auto-commit, so ``CALL {...} IN TRANSACTIONS`` works; the server refuses a write in
        a READ-mode session (a routing driver also sends reads to a reader).
        """
        from neo4j.exceptions import Neo4jError

        import neo4j

        # Queries come from the project's own .cypher files; values are parameters.
        query = cast(LiteralString, cypher)
        access = neo4j.READ_ACCESS if mode is Mode.READ else neo4j.WRITE_ACCESS
        try:
            with self._driver.session(
                database=self.database, default_access_mode=access
            ) as session:
                result = session.run(query, params or {})
                records = [dict(r.items()) for r in result]
                return records, result.consume().counters
        except Neo4jError as e:
            where = cypher.strip().splitlines()[0][:120] if cypher.strip() else ""
            if e.code in self.dialect.read_only_refusals:
                raise WriteInReadMode(
                    f"the statement writes, but was sent in read mode (in: {where}); "
                    "run it in write mode"
                ) from e
            raise CypherError(f"{e.message} (in: {where})") from e

    def run(self, cypher: str, params: dict[str, Any] | None = None) -> list[Row]:
        records, _ = self._execute(cypher, params, Mode.READ)
        return [{k: plain(v) for k, v in r.items()} for r in records]

    def write(
        self, cypher: str, params: dict[str, Any] | None = None
    ) -> tuple[list[Row], WriteCounters]:
        records, c = self._execute(cypher, params, Mode.WRITE)
        counters = WriteCounters(
            nodes_created=c.nodes_created,
            nodes_deleted=c.nodes_deleted,
            relationships_created=c.relationships_created,
            relationships_deleted=c.relationships_deleted,
            properties_set=c.properties_set,
            indexes_added=c.indexes_added + c.constraints_added,
        )
        return [{k: plain(v) for k, v in r.items()} for r in records], counters

    def drop(self) -> None:
        """Delete every node and relationship (batched), then every index and constraint
        but the built-in lookup indexes: the database is as new."""
        # Relationships first, then nodes: a DETACH DELETE of 10,000 well-connected nodes
        # in one transaction can pass the server's transaction memory limit.
        self._execute("MATCH ()-[r]->() CALL (r) { DELETE r } IN TRANSACTIONS OF 10000 ROWS", None)
        self._execute("MATCH (n) CALL (n) { DELETE n } IN TRANSACTIONS OF 10000 ROWS", None)
        records, _ = self._execute("SHOW CONSTRAINTS YIELD name RETURN name", None)
        for r in records:
            self._execute(f"DROP CONSTRAINT {_quoted(r['name'])} IF EXISTS", None)
        records, _ = self._execute(
            "SHOW INDEXES YIELD name, type WHERE type <> 'LOOKUP' RETURN name", None
        )
        for r in records:
            self._execute(f"DROP INDEX {_quoted(r['name'])} IF EXISTS", None)

    def compact(self, timeout_s: float = 300.0) -> bool:
        """Nothing to do: Neo4j manages its own store files. Returns False."""
        return False

    def close(self) -> None:
        self._driver.close()
