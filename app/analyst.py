"""What an analyst asks of the graph: counts, text neighbours, the query library, own Cypher.

The CLI's ``stats``, ``similar``, ``query`` and ``cypher`` commands call these functions only.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from kgrec.kg.store import GraphStore
from kgrec.queries.statement import MAX_TEXT_BYTES as MAX_STATEMENT_BYTES  # noqa: F401

if TYPE_CHECKING:
    from kgrec.queries.runner import CypherResult


def graph_stats(store: GraphStore) -> dict[str, Any]:
    """Node and relationship counts by label and type, and every index with its state.

    Returns:
        ``{users, items, tags, entities, interactions, item_tags, user_tags, triples,
        indexes}``; ``indexes`` as :func:`kgrec.kg.schema.list_indexes` lists them.
    """
    from kgrec.kg.schema import list_indexes
    from kgrec.kg.writer import run_statement

    counts = run_statement(store, "count_graph")[0]
    return {**{k: int(v) for k, v in counts.items()}, "indexes": list_indexes(store)}


def similar_by_text(store: GraphStore, item_id: str, k: int = 10) -> list[dict[str, Any]]:
    """The ``k`` items whose text embedding is nearest to ``item_id``'s, itself excluded.

    Returns:
        Rows ``{item_id, title, text_similarity}``, most similar first: the shape of
        :meth:`kgrec.app.recommender.Recommender.similar_items`, the score named for what it
        ranks by.

    Raises:
        UnknownIdError: no such item, or it has no text embedding.
    """
    from kgrec.kg.vector import similar_items

    return [
        {"item_id": row["id"], "title": row["title"], "text_similarity": row["similarity"]}
        for row in similar_items(store, item_id, k)
    ]


def list_named_queries() -> list[dict[str, Any]]:
    """The analyst library: name, summary, mode, params and returns of each query."""
    from kgrec.queries.runner import list_queries

    return list_queries()


def check_named_query(name: str, params: Mapping[str, Any] | None = None) -> list[str]:
    """Check a named query and its parameters without a store; return its declared columns.

    Raises:
        QueryNotFound: no such query (the message suggests close names).
        QueryParameterError: a parameter is unknown, missing or of the wrong type.
    """
    from kgrec.queries.params import bind
    from kgrec.queries.runner import get_query, returned_columns

    query = get_query(name)
    bind(query, params)
    return returned_columns(query)


def run_named_query(
    store: GraphStore,
    name: str,
    params: Mapping[str, Any] | None = None,
    timeout_s: float | None = None,
) -> list[dict[str, Any]]:
    """Run the named query of the library (see :func:`kgrec.queries.runner.run_query`).

    ``timeout_s``: seconds the store lets it run; None for ``KGREC_QUERY_TIMEOUT`` (30 by
    default), 0 for no limit.

    Raises:
        QueryTimeout: it ran past the limit and was stopped.
    """
    from kgrec.core.settings import query_timeout_s
    from kgrec.queries.runner import run_query

    return run_query(store, name, params, query_timeout_s(timeout_s))


def check_own_cypher(
    text: str, params: Mapping[str, Any] | None = None, write: bool = False, name: str = "cypher"
) -> None:
    """Check an analyst's statement's parameters without a store (see :func:`run_own_cypher`).

    Raises:
        QueryParameterError: a ``$token`` without a value, a value for no token, a bad type.
        QueryRefused: too long, nested too deep, too many operators, several statements.
    """
    from kgrec.queries.runner import own_query

    own_query(text, params, write, name)


def run_own_cypher(
    store: GraphStore,
    text: str,
    params: Mapping[str, Any] | None = None,
    write: bool = False,
    name: str = "cypher",
) -> list[dict[str, Any]]:
    """Run an analyst's own Cypher statement; read-only unless ``write``.

    Values travel as parameters: a key is ``name`` (a STRING) or ``name:TYPE``
    (``k:INTEGER``, ``ids:LIST``).

    Raises:
        QueryParameterError: see :func:`check_own_cypher`.
        WriteInReadMode: the statement writes and ``write`` is False.
        CypherError: the store rejected the statement.
    """
    return run_own_statement(store, text, params, write, name).rows


def run_own_statement(
    store: GraphStore,
    text: str,
    params: Mapping[str, Any] | None = None,
    write: bool = False,
    name: str = "cypher",
    timeout_s: float | None = None,
) -> CypherResult:
    """Run an analyst's own statement: its rows, plan (``EXPLAIN`` / ``PROFILE``), write
    counters and the rewrites made for the store (see :func:`kgrec.queries.runner.run_own`).

    ``timeout_s``: seconds the store lets it run; None for ``KGREC_QUERY_TIMEOUT`` (30 by
    default), 0 for no limit.

    Raises:
        QueryParameterError, QueryRefused: see :func:`check_own_cypher`.
        WriteInReadMode: the statement writes and ``write`` is False.
        CypherError: the store rejected the statement.
        QueryTimeout: it ran past the limit and was stopped.
    """
    from kgrec.core.settings import query_timeout_s
    from kgrec.queries.runner import run_own

    return run_own(store, text, params, write, name, query_timeout_s(timeout_s))
