"""The server backend: Neo4j 5 through the official driver."""

from __future__ import annotations

from typing import Any, LiteralString, cast

from kgrec.core.errors import CypherError, QueryTimeout, StoreUnavailable, WriteInReadMode
from kgrec.core.settings import neo4j_auth
from kgrec.kg.dialect import NEO4J
from kgrec.kg.store import GraphStore, Mode, PlanNode, Row, WriteCounters

#: How the server says a transaction ran past its timeout (codes ending so).
_TIMED_OUT = ("TransactionTimedOut", "TransactionTimedOutClientConfiguration")


def plan_node(plan: dict[str, Any]) -> PlanNode:
    """A result summary's ``plan`` / ``profile`` dict as a :class:`PlanNode` tree."""
    args = plan.get("args") or plan.get("arguments") or {}
    time_ns = plan.get("time", args.get("Time"))
    return PlanNode(
        operator=str(plan.get("operatorType", "?")).split("@")[0],
        details=str(args.get("Details", "")),
        children=[plan_node(c) for c in plan.get("children") or []],
        rows=plan.get("rows"),
        time_ms=None if time_ns is None else float(time_ns) / 1e6,
        db_hits=plan.get("dbHits"),
    )


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
        self,
        cypher: str,
        params: dict[str, Any] | None,
        mode: Mode = Mode.WRITE,
        timeout_s: float | None = None,
        prefix: str = "",
    ) -> tuple[list[dict[str, Any]], Any]:
        """Run ``cypher`` as an auto-commit transaction of access mode ``mode``; return the
        records and the result summary.

        Auto-commit, so ``CALL {...} IN TRANSACTIONS`` works; the server refuses a write in
        a READ-mode session (a routing driver also sends reads to a reader). ``timeout_s``
        is the transaction's timeout: the server stops it and rolls it back. ``prefix``:
        ``EXPLAIN`` or ``PROFILE``.
        """
        from neo4j.exceptions import Neo4jError

        import neo4j

        # Queries come from the project's own .cypher files; values are parameters.
        text = cast(LiteralString, f"{prefix} {cypher}" if prefix else cypher)
        query = neo4j.Query(text, timeout=timeout_s) if timeout_s is not None else text
        access = neo4j.READ_ACCESS if mode is Mode.READ else neo4j.WRITE_ACCESS
        try:
            with self._driver.session(
                database=self.database, default_access_mode=access
            ) as session:
                result = session.run(query, params or {})
                records = [dict(r.items()) for r in result]
                return records, result.consume()
        except Neo4jError as e:
            where = cypher.strip().splitlines()[0][:120] if cypher.strip() else ""
            if e.code in self.dialect.read_only_refusals:
                raise WriteInReadMode(
                    f"the statement writes, but was sent in read mode (in: {where}); "
                    "run it in write mode"
                ) from e
            if timeout_s is not None and str(e.code).endswith(_TIMED_OUT):
                raise QueryTimeout(
                    f"the statement ran longer than {timeout_s:g} s and was stopped"
                    f"{' (nothing was changed)' if mode is Mode.WRITE else ''}; allow more "
                    "time with --timeout SECONDS (KGREC_QUERY_TIMEOUT; 0: no limit) or narrow "
                    f"the statement (in: {where})"
                ) from e
            raise CypherError(f"{e.message} (in: {where})") from e

    def run(
        self, cypher: str, params: dict[str, Any] | None = None, timeout_s: float | None = None
    ) -> list[Row]:
        records, _ = self._execute(cypher, params, Mode.READ, timeout_s)
        return [{k: plain(v) for k, v in r.items()} for r in records]

    def write(
        self, cypher: str, params: dict[str, Any] | None = None, timeout_s: float | None = None
    ) -> tuple[list[Row], WriteCounters]:
        records, summary = self._execute(cypher, params, Mode.WRITE, timeout_s)
        return [{k: plain(v) for k, v in r.items()} for r in records], _counters(summary)

    def explain(self, cypher: str, params: dict[str, Any] | None = None) -> PlanNode:
        """``EXPLAIN``: the plan; the server runs nothing."""
        _, summary = self._execute(cypher, params, Mode.READ, prefix="EXPLAIN")
        return plan_node(summary.plan or {})

    def profile(
        self,
        cypher: str,
        params: dict[str, Any] | None = None,
        mode: Mode = Mode.READ,
        timeout_s: float | None = None,
    ) -> tuple[list[Row], PlanNode, WriteCounters]:
        """``PROFILE``: runs the statement in ``mode`` under its timeout, once."""
        records, summary = self._execute(cypher, params, Mode(mode), timeout_s, "PROFILE")
        rows = [{k: plain(v) for k, v in r.items()} for r in records]
        return rows, plan_node(summary.profile or {}), _counters(summary)

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


def _counters(summary: Any) -> WriteCounters:
    """A result summary's counters as :class:`WriteCounters`."""
    c = summary.counters
    return WriteCounters(
        nodes_created=c.nodes_created,
        nodes_deleted=c.nodes_deleted,
        relationships_created=c.relationships_created,
        relationships_deleted=c.relationships_deleted,
        properties_set=c.properties_set,
        indexes_added=c.indexes_added + c.constraints_added,
        labels_added=c.labels_added,
        labels_removed=c.labels_removed,
    )
