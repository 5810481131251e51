"""The graph-store interface and the function that opens one from a store URI."""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from enum import StrEnum
from pathlib import Path
from typing import Any

from kgrec.core.errors import StoreUnavailable
from kgrec.core.settings import store_location
from kgrec.kg.dialect import Dialect

log = logging.getLogger(__name__)

Row = dict[str, Any]


class Mode(StrEnum):
    """How a statement runs: ``read`` (refused by the store if it writes) or ``write``."""

    READ = "read"
    WRITE = "write"


@dataclass
class WriteCounters:
    """What a write statement changed, summed over batches."""

    nodes_created: int = 0
    nodes_deleted: int = 0
    relationships_created: int = 0
    relationships_deleted: int = 0
    properties_set: int = 0
    indexes_added: int = 0
    labels_added: int = 0
    labels_removed: int = 0

    def __iadd__(self, other: WriteCounters) -> WriteCounters:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))
        return self

    def as_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def summary(self) -> str:
        """``nodes created: 1, properties set: 2`` (``nothing changed`` when all are 0)."""
        changed = [f"{name.replace('_', ' ')}: {n}" for name, n in self.as_dict().items() if n]
        return ", ".join(changed) or "nothing changed"


@dataclass
class PlanNode:
    """One operator of a statement's plan, as both stores describe it.

    Attributes:
        operator: the operator's name (``NodeByLabelScan``, ``Expand(All)``...).
        details: what it works on, in the store's words.
        children: the operators feeding it.
        rows: rows it produced (PROFILE only).
        time_ms: milliseconds spent in it (PROFILE, where the store measures it).
        db_hits: storage accesses (PROFILE on Neo4j).
    """

    operator: str
    details: str = ""
    children: list[PlanNode] = field(default_factory=list)
    rows: int | None = None
    time_ms: float | None = None
    db_hits: int | None = None

    def lines(self, indent: int = 0) -> list[str]:
        """The plan as an indented tree, one operator a line."""
        measured = [
            f"{name} {value}"
            for name, value in (
                ("rows", self.rows),
                ("db hits", self.db_hits),
                ("ms", None if self.time_ms is None else f"{self.time_ms:.3f}"),
            )
            if value is not None
        ]
        text = "  " * indent + self.operator
        if self.details:
            text += f" | {self.details}"
        if measured:
            text += f" ({', '.join(measured)})"
        out = [text]
        for child in self.children:
            out += child.lines(indent + 1)
        return out

    def operators(self) -> list[str]:
        """Every operator's name, this one first."""
        return [self.operator] + [op for c in self.children for op in c.operators()]

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"operator": self.operator, "details": self.details}
        for name in ("rows", "time_ms", "db_hits"):
            if getattr(self, name) is not None:
                out[name] = getattr(self, name)
        out["children"] = [c.as_dict() for c in self.children]
        return out


class GraphStore(ABC):
    """Cypher in, rows of plain Python values out. One instance per connection.

    Use as a context manager, or call :meth:`close`.
    """

    dialect: Dialect
    uri: str

    @abstractmethod
    def run(
        self, cypher: str, params: dict[str, Any] | None = None, timeout_s: float | None = None
    ) -> list[Row]:
        """Run one statement in read mode; rows are dicts of plain values.

        ``timeout_s``: the store stops the statement after this many seconds (None: no
        limit).

        Nodes come back as ``{"labels", "properties"}``, relationships as
        ``{"type", "properties"}`` and paths as ``{"nodes", "relationships"}``.

        Raises:
            WriteInReadMode: the statement writes; send it through :meth:`write`.
            CypherError: the store rejected the statement.
            QueryTimeout: it ran past ``timeout_s`` and was stopped.
        """

    @abstractmethod
    def write(
        self, cypher: str, params: dict[str, Any] | None = None, timeout_s: float | None = None
    ) -> tuple[list[Row], WriteCounters]:
        """Run one statement in write mode, in its own transaction; return rows and counters.

        A statement stopped after ``timeout_s`` seconds changes nothing.

        Raises:
            CypherError: the store rejected the statement.
            QueryTimeout: it ran past ``timeout_s`` and was stopped.
        """

    def execute(
        self,
        cypher: str,
        params: dict[str, Any] | None = None,
        mode: Mode = Mode.READ,
        timeout_s: float | None = None,
    ) -> list[Row]:
        """Run one statement in ``mode`` (:meth:`run` or :meth:`write`); return its rows."""
        if Mode(mode) is Mode.WRITE:
            return self.write(cypher, params, timeout_s)[0]
        return self.run(cypher, params, timeout_s)

    @abstractmethod
    def explain(self, cypher: str, params: dict[str, Any] | None = None) -> PlanNode:
        """The plan the store would run ``cypher`` with; nothing is run, nothing written.

        Raises:
            CypherError: the store rejected the statement.
        """

    @abstractmethod
    def profile(
        self,
        cypher: str,
        params: dict[str, Any] | None = None,
        mode: Mode = Mode.READ,
        timeout_s: float | None = None,
    ) -> tuple[list[Row], PlanNode, WriteCounters]:
        """Run ``cypher`` in ``mode`` and return its rows, its plan with what each operator
        produced, and its counters.

        Raises:
            WriteInReadMode: the statement writes and ``mode`` is read (nothing is run).
            CypherError: the store rejected the statement.
            QueryTimeout: it ran past ``timeout_s`` and was stopped.
        """

    @abstractmethod
    def drop(self) -> None:
        """Delete every node, relationship and index of the graph: it is as new."""

    @abstractmethod
    def compact(self, timeout_s: float = 300.0) -> bool:
        """Rewrite the store's files compactly where the backend needs it.

        Returns:
            True when a rewrite ran and finished; False where there is nothing to do.
        """

    @contextmanager
    def exclusive(self, purpose: str) -> Iterator[None]:
        """Hold the store's lock for ``purpose`` (``"ingest"``): a second holder waits.

        The embedded store needs it because FalkorDB's MERGE is not atomic between
        concurrent queries (two ingests could both create one relationship); Neo4j locks
        both end nodes of a merged relationship itself, so the base class holds nothing.
        """
        yield

    @abstractmethod
    def close(self) -> None:
        """Release the connection (and the embedded server when this was its last client)."""

    def __enter__(self) -> GraphStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.uri!r})"


def is_server_uri(store: str) -> bool:
    """True for ``neo4j://``, ``neo4j+s://``, ``bolt://`` and ``bolt+s://`` URIs."""
    scheme = store.split("://", 1)[0].lower() if "://" in store else ""
    return scheme.split("+")[0] in ("neo4j", "bolt")


def open_store(store: str, graph: str = "kgrec", create: bool = False) -> GraphStore:
    """Open the store a URI names.

    Args:
        store: ``neo4j://host:7687`` / ``bolt://...`` for Neo4j (credentials from
            ``NEO4J_USER``/``NEO4J_PASSWORD`` or ``KGREC_NEO4J_USER``/``KGREC_NEO4J_PASSWORD``),
            or a directory (``file://`` prefix optional; relative to the working directory)
            for the embedded FalkorDB store.
        graph: FalkorDB graph name, or Neo4j database name (``kgrec`` maps to Neo4j's
            default database, since Community edition has one).
        create: embedded only: create the store when the directory holds none (ingest does);
            otherwise a directory without a store is refused. Neo4j ignores it.

    Raises:
        StoreUnavailable: the store cannot be reached or started, or (embedded, without
            ``create``) there is no store in the directory.
    """
    if is_server_uri(store):
        from kgrec.kg.neo4j_store import Neo4jStore

        return Neo4jStore(store, database=None if graph == "kgrec" else graph)
    from kgrec.kg.falkordb_store import FalkorStore

    return FalkorStore(store_directory(store), graph=graph, create=create)


def store_directory(store: str) -> Path:
    """The embedded store's directory a store URI names, absolute: a path (``file://``
    prefix optional, ``~`` expanded) relative to the working directory.

    Raises:
        StoreUnavailable: ``store`` names a Neo4j server, or has another scheme.
    """
    location = store_location(store)
    if is_server_uri(store):
        raise StoreUnavailable(
            f"{store} is a Neo4j server, not an embedded store; give a directory path"
        )
    if "://" in location:
        raise StoreUnavailable(
            f"unsupported store URI {store!r}: use neo4j://, bolt:// or a directory path"
        )
    return Path(location)
