"""Run named queries of ``kgrec.queries``, and an analyst's own Cypher, against a store.

Two catalogues: the analyst library (``queries/*.cypher``, what :func:`list_queries` and
``kgrec query --list`` show) and the statements only the application uses
(``queries/internal/*.cypher``: explanation paths and lookups). :func:`run_query` resolves
names of both; each statement runs in the mode its header declares.
"""

from __future__ import annotations

import difflib
import logging
import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from kgrec.core.errors import QueryNotFound, QueryParameterError
from kgrec.kg.catalogue import PARAM_TYPES, Catalogue, CypherQuery, Param
from kgrec.kg.store import GraphStore, Mode, PlanNode, WriteCounters
from kgrec.queries.params import MISSING, bind, default_of, describe
from kgrec.queries.statement import PlanRequest, check_limits, prepare

log = logging.getLogger(__name__)

#: The analyst library.
ANALYST = Catalogue("kgrec.queries")
#: Statements only the application runs (explanations, lookups).
INTERNAL = Catalogue("kgrec.queries", "internal")
#: Threads of the pool that independent reads of one request share (:func:`in_background`).
POOL_THREADS = 8

_T = TypeVar("_T")
_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _after_fork_in_child() -> None:
    """A forked child has none of the parent's pool threads (a fresh pool starts on first
    use) and may have inherited the lock held by one of them."""
    global _pool, _pool_lock
    _pool, _pool_lock = None, threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def get_query(name: str) -> CypherQuery:
    """The query called ``name``, from the analyst library or the internal statements.

    Raises:
        QueryNotFound: no such query; the message suggests close analyst names and lists
            the library.
    """
    for catalogue in (ANALYST, INTERNAL):
        if name in catalogue:
            return catalogue.get(name)
    names = ANALYST.names()
    close = difflib.get_close_matches(name, names, n=3, cutoff=0.6)
    hint = f"did you mean {' or '.join(repr(c) for c in close)}? " if close else ""
    raise QueryNotFound(
        f"unknown query {name!r}; {hint}available: {', '.join(names)} (kgrec query --list)"
    )


def run_query(
    store: GraphStore,
    name: str,
    params: Mapping[str, Any] | None = None,
    timeout_s: float | None = None,
) -> list[dict[str, Any]]:
    """Run the named query with its parameters bound (defaults filled, strings converted).

    Args:
        store: the graph store.
        name: the query's name (its file stem), e.g. ``"also_liked"``.
        params: values by parameter name; strings are parsed as the declared type.
        timeout_s: the store stops the query after this many seconds (None: no limit).

    Returns:
        The rows, as dicts of plain values.

    Raises:
        QueryNotFound: no such query.
        QueryParameterError: a parameter is unknown, missing or of the wrong type.
        CypherError: the store rejected the statement.
        QueryTimeout: it ran past ``timeout_s``.
    """
    return _run(store, get_query(name), params, timeout_s)


def check_query(name: str, params: Mapping[str, Any] | None = None) -> list[str]:
    """Check the named query and its parameters without a store; return its declared columns
    (:func:`returned_columns`).

    Raises:
        QueryNotFound: no such query (the message suggests close names).
        QueryParameterError: a parameter is unknown, missing or of the wrong type.
    """
    query = get_query(name)
    bind(query, params)
    return returned_columns(query)


def in_background(fn: Callable[..., _T], *args: Any) -> Future[_T]:
    """``fn(*args)`` on the process's query pool (:data:`POOL_THREADS` threads, started on
    first use), so that a request waits for independent reads once, not one after another.

    ``fn`` must not itself wait for work of this pool (it could wait for ever when the
    pool is full): give it plain :func:`run_query` calls.
    """
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(POOL_THREADS, thread_name_prefix="kgrec-query")
        return _pool.submit(fn, *args)


def run_concurrently(
    store: GraphStore, calls: Sequence[tuple[str, Mapping[str, Any] | None]]
) -> list[list[dict[str, Any]]]:
    """The rows of each ``(name, params)`` of ``calls``, in order: independent reads run at
    once (:func:`in_background`); one call runs in the caller's thread.

    Raises:
        The first failing call's error (as :func:`run_query`).
    """
    if len(calls) <= 1:
        return [run_query(store, name, params) for name, params in calls]
    futures = [in_background(run_query, store, name, params) for name, params in calls]
    return [f.result() for f in futures]


def _run(
    store: GraphStore,
    query: CypherQuery,
    params: Mapping[str, Any] | None,
    timeout_s: float | None = None,
) -> list[dict[str, Any]]:
    bound = bind(query, params)
    start = time.perf_counter()
    rows = store.execute(query.text, bound, query.mode, timeout_s)
    elapsed_ms = 1e3 * (time.perf_counter() - start)
    log.debug("query %s: %d rows in %.1f ms", query.name, len(rows), elapsed_ms)
    return rows


def list_queries() -> list[dict[str, Any]]:
    """The analyst library: name, summary, mode, returns and params (name, type, doc,
    required, default, signature) of each query."""
    return [describe_query(q) for q in ANALYST.all()]


def describe_query(query: CypherQuery) -> dict[str, Any]:
    """One query as :func:`list_queries` lists it."""
    params = []
    for p in query.params:
        default = default_of(p)
        params.append(
            {
                "name": p.name,
                "type": p.type,
                "doc": p.doc,
                "required": default is MISSING,
                "default": None if default is MISSING else default,
                "signature": describe(p),
            }
        )
    return {
        "name": query.name,
        "summary": query.summary,
        "mode": query.mode.value,
        "params": params,
        "returns": query.returns,
    }


def returned_columns(query: CypherQuery) -> list[str]:
    """The column names the ``// returns:`` header declares, in order.

    ``item_id STRING, title STRING, tags LIST (sorted) (item_id)`` gives
    ``["item_id", "title", "tags"]``; text in parentheses is ignored.
    """
    columns, depth, part = [], 0, ""
    for char in query.returns + ",":
        depth += char == "("
        depth -= char == ")"
        if char == "," and depth == 0:
            words = part.split()
            if words and words[0].isidentifier():
                columns.append(words[0])
            part = ""
        elif depth == 0 and char not in "()":
            part += char
    return columns


def own_query(
    text: str, params: Mapping[str, Any] | None = None, write: bool = False, name: str = "cypher"
) -> tuple[CypherQuery, dict[str, Any]]:
    """An analyst's own statement as a query, and its parameter values.

    Every ``$token`` of the statement needs a value. A key may name its type,
    ``k:INTEGER``; without one the value is a STRING (ids are strings in the graph).

    Args:
        text: one Cypher statement (comments allowed).
        params: values by key, ``name`` or ``name:TYPE``.
        write: run in write mode; otherwise the store refuses a statement that writes.
        name: how messages name the statement (a file name, say).

    Raises:
        QueryParameterError: an unknown type, a value missing for a ``$token``, one given
            for no ``$token``, or a value that is not of its type.
        QueryRefused: the text is too long, nested too deep, has too many operators or
            more than one statement (:func:`kgrec.queries.statement.check_limits`).
    """
    check_limits(text, name)
    declared: list[Param] = []
    values: dict[str, Any] = {}
    for key, value in (params or {}).items():
        pname, _, ptype = str(key).lstrip("$").partition(":")
        ptype = ptype.strip().upper() or "STRING"
        if ptype not in PARAM_TYPES:
            raise QueryParameterError(
                f"{name}: parameter {pname}:{ptype} has an unknown type; use one of "
                f"{', '.join(PARAM_TYPES)}"
            )
        declared.append(Param(pname.strip(), ptype))
        values[pname.strip()] = value
    query = CypherQuery(
        name=name,
        summary="",
        mode=Mode.WRITE if write else Mode.READ,
        params=tuple(declared),
        returns="",
        text=text,
        body=text,
    )
    missing = sorted(query.body_tokens() - query.param_names)
    if missing:
        raise QueryParameterError(
            f"{name}: missing parameter ${missing[0]}; pass it as -p {missing[0]}=VALUE "
            f"(or -p {missing[0]}:INTEGER=VALUE for another type)"
        )
    unused = sorted(query.param_names - query.body_tokens())
    if unused:
        raise QueryParameterError(
            f"{name}: unknown parameter ${unused[0]}; the statement uses "
            f"{', '.join('$' + t for t in sorted(query.body_tokens())) or 'none'}"
        )
    return query, bind(query, values)


@dataclass
class CypherResult:
    """What an analyst's own statement gave.

    Attributes:
        rows: the rows (none under EXPLAIN).
        plan: the plan, under EXPLAIN or PROFILE.
        counters: what a write-mode statement changed (None in read mode).
        notices: what was changed in the statement so that it means on this store what it
            means on Neo4j (one line each).
        statement: the text sent to the store.
        ran: False under EXPLAIN (nothing ran, ``rows`` is empty for that reason).
    """

    rows: list[dict[str, Any]]
    plan: PlanNode | None = None
    counters: WriteCounters | None = None
    notices: list[str] = field(default_factory=list)
    statement: str = ""
    ran: bool = True


def run_own(
    store: GraphStore,
    text: str,
    params: Mapping[str, Any] | None = None,
    write: bool = False,
    name: str = "cypher",
    timeout_s: float | None = None,
) -> CypherResult:
    """Run an analyst's own statement, read-only unless ``write``.

    A leading ``EXPLAIN`` returns the plan and runs nothing (a write included); ``PROFILE``
    runs the statement (in its mode) and returns its rows with the plan. On a store whose
    Cypher differs from Neo4j's (:class:`kgrec.kg.dialect.Dialect`), the statement is
    rewritten to mean the same (see :func:`kgrec.queries.statement.prepare`) and each
    rewrite is named in ``notices``.

    Raises:
        QueryParameterError: see :func:`own_query`.
        QueryRefused: see :func:`own_query`; or syntax the store does not support.
        WriteInReadMode: the statement writes and ``write`` is False.
        CypherError: the store rejected the statement.
        QueryTimeout: it ran past ``timeout_s``.
    """
    query, bound = own_query(text, params, write, name)
    d = store.dialect
    stmt = prepare(text, d.unique_relationships, d.integer_sum, d.unsupported, d.store_name, name)
    for notice in stmt.notices:
        log.debug("%s: %s", name, notice)
    result = CypherResult([], notices=stmt.notices, statement=stmt.text)
    if stmt.plan is PlanRequest.EXPLAIN:
        result.plan, result.ran = store.explain(stmt.text, bound), False
    elif stmt.plan is PlanRequest.PROFILE:
        rows, plan, counters = store.profile(stmt.text, bound, query.mode, timeout_s)
        result.rows, result.plan = rows, plan
        result.counters = counters if write else None
    elif write:
        result.rows, result.counters = store.write(stmt.text, bound, timeout_s)
    else:
        result.rows = store.run(stmt.text, bound, timeout_s)
    return result


def run_cypher(
    store: GraphStore,
    text: str,
    params: Mapping[str, Any] | None = None,
    write: bool = False,
    name: str = "cypher",
    timeout_s: float | None = None,
) -> list[dict[str, Any]]:
    """The rows of an analyst's own statement (see :func:`run_own`); each rewrite made for
    the store is logged as a warning.

    Raises:
        The errors of :func:`run_own`.
    """
    result = run_own(store, text, params, write, name, timeout_s)
    for notice in result.notices:
        log.warning("%s: %s", name, notice)
    return result.rows
