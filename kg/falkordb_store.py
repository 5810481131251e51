"""The embedded backend: a FalkorDB server in a data directory, spoken to over its socket."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from kgrec.core.errors import CypherError, QueryTimeout, StoreUnavailable, WriteInReadMode
from kgrec.core.files import LockHolder, pid_lock
from kgrec.core.settings import keep_server_running
from kgrec.kg import embedded
from kgrec.kg.dialect import FALKORDB
from kgrec.kg.falkordb_results import parse_plan, plain, write_counters
from kgrec.kg.store import GraphStore, Mode, PlanNode, Row, WriteCounters

log = logging.getLogger(__name__)


#: How the server says the graph key does not exist yet (nothing was written to it).
_NO_GRAPH = ("empty key", "invalid graph")
#: How the server says a statement ran past its timeout.
_TIMED_OUT = "query timed out"
#: Plan operators that change the graph.
WRITE_OPERATORS = frozenset({"Create", "Merge", "Merge Create", "Delete", "Update", "Foreach"})
#: The ceiling set as TIMEOUT_MAX when the server has none: FalkorDB honours a write's own
#: timeout only under a TIMEOUT_MAX (reads always). A statement without a timeout still
#: runs unbounded (TIMEOUT_DEFAULT stays 0).
TIMEOUT_CEILING_MS = 2**31 - 1


class FalkorStore(GraphStore):
    """A graph in the embedded FalkorDB server of ``data_dir``.

    The first store opened on a directory starts its server; later ones (in this or another
    process) reuse it. When the last kgrec client closes, the server is shut down cleanly,
    unless it was started with ``kgrec store start`` or ``KGREC_KEEP_SERVER=1`` is set.

    Args:
        data_dir: the store directory (relative paths resolve against the working directory).
        graph: the graph's name inside the server.
        create: create the store when the directory holds none; otherwise such a directory
            raises :class:`StoreUnavailable` ("no kgrec store at DIR").

    Raises:
        StoreUnavailable: see :func:`kgrec.kg.embedded.server`.
        StoreLocked: a live server holds the directory but does not answer.
    """

    dialect = FALKORDB

    def __init__(self, data_dir: Path, graph: str = "kgrec", create: bool = False) -> None:
        from falkordb import FalkorDB

        self.data_dir = Path(os.path.abspath(Path(data_dir).expanduser()))
        self.uri = str(self.data_dir)
        self.graph_name = graph
        self._client_name = f"kgrec-{os.getpid()}-{id(self)}"
        with embedded.server(self.data_dir, create=create) as handle:
            self.started_server = handle.started
            try:
                self._db = FalkorDB(
                    unix_socket_path=str(handle.socket),
                    password=handle.password,
                    client_name=self._client_name,
                    # the password goes only to the process proven to be this store's server
                    connect_func=embedded.connect_check(self.data_dir),
                )
                self._db.connection.ping()  # connect now, while the start lock is held
                self._graph = self._db.select_graph(graph)
            except Exception as e:  # the client raises redis' own errors
                raise StoreUnavailable(
                    f"cannot connect to the embedded store at {handle.socket}: {e}; see "
                    f"{self.data_dir / embedded.LOG_NAME}"
                ) from e
        self._closed = False
        self._timeout_max_checked = False

    @property
    def socket(self) -> Path:
        """The unix socket the server listens on."""
        return embedded.socket_path(self.data_dir)

    def _query(
        self,
        cypher: str,
        params: dict[str, Any] | None,
        mode: Mode,
        timeout_s: float | None = None,
        command: str = "",
    ) -> Any:
        """``GRAPH.RO_QUERY`` in read mode (the server refuses writes), else ``GRAPH.QUERY``;
        ``command`` ``GRAPH.EXPLAIN`` / ``GRAPH.PROFILE`` returns the plan's lines instead.
        ``timeout_s`` travels as the statement's own TIMEOUT (milliseconds)."""
        import redis

        timeout_ms = None if timeout_s is None else max(1, round(timeout_s * 1000))
        if timeout_ms is not None and mode is Mode.WRITE:
            self._allow_write_timeouts()

        def send() -> Any:
            if command:
                text = self._graph._build_params_header(params) + cypher
                limit = ["timeout", timeout_ms] if timeout_ms is not None else []
                return self._db.connection.execute_command(command, self.graph_name, text, *limit)
            if mode is Mode.READ:
                return self._graph.ro_query(cypher, params, timeout=timeout_ms)
            return self._graph.query(cypher, params, timeout=timeout_ms)

        try:
            try:
                return send()
            except redis.ResponseError as e:
                if mode is Mode.WRITE or not any(f in str(e).lower() for f in _NO_GRAPH):
                    raise
                # A store nothing was written to yet has no graph key, which RO_QUERY
                # refuses; an empty graph answers the read as a fresh one would.
                self._graph.query("RETURN 0")
                return send()
        except redis.ResponseError as e:
            where = cypher.strip().splitlines()[0][:120] if cypher.strip() else ""
            if any(frag in str(e).lower() for frag in self.dialect.read_only_refusals):
                raise WriteInReadMode(
                    f"the statement writes, but was sent in read mode (in: {where}); "
                    "run it in write mode"
                ) from e
            if _TIMED_OUT in str(e).lower() and timeout_s is not None:
                raise QueryTimeout(
                    f"the statement ran longer than {timeout_s:g} s and was stopped"
                    f"{' (nothing was changed)' if mode is Mode.WRITE else ''}; allow more "
                    "time with --timeout SECONDS (KGREC_QUERY_TIMEOUT; 0: no limit) or narrow "
                    f"the statement (in: {where})"
                ) from e
            raise CypherError(f"{e} (in: {where})") from e
        except (redis.ConnectionError, OSError) as e:
            raise StoreUnavailable(f"lost the embedded store at {self.socket}: {e}") from e

    def _allow_write_timeouts(self) -> None:
        """Set TIMEOUT_MAX to :data:`TIMEOUT_CEILING_MS` where the server has none, so the
        server honours a write's own timeout (it ignores it otherwise)."""
        if self._timeout_max_checked:
            return
        import redis

        try:
            conn = self._db.connection
            _, current = conn.execute_command("GRAPH.CONFIG", "GET", "TIMEOUT_MAX")
            if int(current) == 0:
                conn.execute_command("GRAPH.CONFIG", "SET", "TIMEOUT_MAX", TIMEOUT_CEILING_MS)
        except (redis.ResponseError, ValueError, TypeError) as e:
            log.warning("cannot enable write timeouts on %s: %s", self.data_dir, e)
        self._timeout_max_checked = True

    def run(
        self, cypher: str, params: dict[str, Any] | None = None, timeout_s: float | None = None
    ) -> list[Row]:
        return self._rows(self._query(cypher, params, Mode.READ, timeout_s))

    def write(
        self, cypher: str, params: dict[str, Any] | None = None, timeout_s: float | None = None
    ) -> tuple[list[Row], WriteCounters]:
        result = self._query(cypher, params, Mode.WRITE, timeout_s)
        return self._rows(result), write_counters(result)

    def explain(self, cypher: str, params: dict[str, Any] | None = None) -> PlanNode:
        """``GRAPH.EXPLAIN``: the plan; nothing runs."""
        return parse_plan(self._query(cypher, params, Mode.READ, command="GRAPH.EXPLAIN"))

    def profile(
        self,
        cypher: str,
        params: dict[str, Any] | None = None,
        mode: Mode = Mode.READ,
        timeout_s: float | None = None,
    ) -> tuple[list[Row], PlanNode, WriteCounters]:
        """The statement's rows (run with its timeout), then ``GRAPH.PROFILE``'s plan.

        ``GRAPH.PROFILE`` has no read-only form and returns no rows, so in read mode a plan
        that holds a write operator is refused before anything runs, and the statement
        runs as an ordinary query for its rows, then under ``GRAPH.PROFILE`` for the plan,
        both under its timeout (a read twice; a write once, its plan from
        ``GRAPH.EXPLAIN``).
        """
        plan = self.explain(cypher, params)
        writes = WRITE_OPERATORS & set(plan.operators())
        if writes and Mode(mode) is Mode.READ:
            where = cypher.strip().splitlines()[0][:120] if cypher.strip() else ""
            raise WriteInReadMode(
                f"the statement writes ({', '.join(sorted(writes))}), but was sent in read "
                f"mode (in: {where}); run it in write mode"
            )
        result = self._query(cypher, params, Mode(mode), timeout_s)
        if not writes:
            plan = parse_plan(
                self._query(cypher, params, Mode.READ, timeout_s, command="GRAPH.PROFILE")
            )
        return self._rows(result), plan, write_counters(result)

    def run_plain(
        self, cypher: str, params: dict[str, Any] | None = None, exact_vectors: bool = False
    ) -> list[list[Any]]:
        """A read whose rows come back as lists of the values the server sends, unparsed:
        many times faster to receive than :meth:`run` for large results (an export).

        Integers, strings and null arrive as such; floats as text of 15 significant digits
        (the digits :meth:`run` parses); vectors, lists and maps as text, except that with
        ``exact_vectors`` a vector is a list of the text of each float (every digit).

        Raises:
            CypherError: the store rejected the statement.
            StoreUnavailable: the server is gone.
        """
        import redis

        text = self._graph._build_params_header(params) + cypher
        command = ["GRAPH.RO_QUERY", self.graph_name, text]
        try:
            if not exact_vectors:
                raw = self._db.connection.execute_command(*command)
                return list(raw[1]) if len(raw) > 2 else []
            raw = self._db.connection.execute_command(*command, "--compact")
            return [[cell[1] for cell in row] for row in raw[1]] if len(raw) > 2 else []
        except redis.ResponseError as e:
            if any(f in str(e).lower() for f in _NO_GRAPH):
                return []  # nothing was ever written: no graph key, no rows
            raise CypherError(f"{e} (in: {cypher.strip().splitlines()[0][:120]})") from e
        except (redis.ConnectionError, OSError) as e:
            raise StoreUnavailable(f"lost the embedded store at {self.socket}: {e}") from e

    @staticmethod
    def _rows(result: Any) -> list[Row]:
        if not result.header:
            return []
        names = [h[1] if isinstance(h, (list, tuple)) else h for h in result.header]
        return [dict(zip(names, (plain(v) for v in row), strict=True)) for row in result.result_set]

    def compact(self, timeout_s: float = 300.0) -> bool:
        """Rewrite the append-only file as a snapshot, so the next start loads fast.

        Tolerates a rewrite already in progress (another writer compacting): waits for it,
        then runs its own. A failed rewrite is logged, never raised (see
        :func:`kgrec.kg.embedded.compact`).

        Returns:
            True when a rewrite that started after this call finished successfully.

        Raises:
            StoreUnavailable: the server is gone.
        """
        return self._admin(embedded.compact, timeout_s=timeout_s)

    def compact_if_grown(self) -> bool:
        """Compact when enough commands were appended since the last snapshot.

        Thresholds: :func:`kgrec.kg.embedded.compact_if_grown`. The last client out does
        this before it shuts the server down, so callers rarely need to.

        Returns:
            True if it compacted.
        """
        return self._admin(embedded.compact_if_grown)

    def _admin(self, fn: Any, **kwargs: Any) -> bool:
        import redis

        try:
            return fn(self._db.connection, self.data_dir, **kwargs)
        except (redis.ConnectionError, OSError) as e:
            raise StoreUnavailable(f"lost the embedded store at {self.socket}: {e}") from e

    def drop(self) -> None:
        """Delete this graph and everything in it."""
        import redis

        try:
            self._graph.delete()
        except redis.ResponseError as e:
            if not any(frag in str(e).lower() for frag in _NO_GRAPH):
                raise

    def _other_clients(self) -> int:
        clients = self._db.connection.client_list(_type="normal")
        return sum(1 for c in clients if c.get("name") != self._client_name)

    @contextmanager
    def exclusive(self, purpose: str) -> Iterator[None]:
        """An exclusive ``flock`` on ``DIR/.<purpose>.lock``; a second holder says whom it
        waits for (pid) and waits."""

        def waiting(holder: LockHolder) -> None:
            log.warning(
                "another %s into %s is running (pid %s); waiting for it to finish",
                purpose,
                self.data_dir,
                holder.pid or "?",
            )

        with pid_lock(self.data_dir / f".{purpose}.lock", waiting=waiting):
            yield

    def close(self) -> None:
        """Disconnect; the last kgrec client out shuts a server it does not keep down.

        Before shutting down, appended commands worth replacing are compacted
        (:func:`kgrec.kg.embedded.compact_if_grown`), so the next cold start loads a snapshot.
        """
        if self._closed:
            return
        self._closed = True
        keep = embedded.keep_running(self.data_dir) or keep_server_running()
        try:
            if not keep:
                # Exclusive: nobody connects between the count and the shutdown.
                with embedded.store_lock(self.data_dir):
                    if self._other_clients() == 0:
                        self._db.connection.close()
                        embedded.stop_locked(self.data_dir)
                        return
        except Exception as e:  # closing must not mask the caller's error
            log.debug("while closing %s: %s", self.data_dir, e)
        self._db.connection.close()
