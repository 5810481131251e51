"""Run the named analyst and explanation queries of ``kgrec.queries`` against a store."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

from kgrec.kg.catalogue import Catalogue, CypherQuery
from kgrec.kg.store import GraphStore
from kgrec.queries.params import MISSING, bind, default_of, describe

log = logging.getLogger(__name__)

QUERIES = Catalogue("kgrec.queries")


def get_query(name: str) -> CypherQuery:
    """The query called ``name``.

    Raises:
        QueryNotFound: no such query; the message lists the available names.
    """
    return QUERIES.get(name)


def run_query(
    store: GraphStore, name: str, params: Mapping[str, Any] | None = None
) -> list[dict[str, Any]]:
    """Run the named query with its parameters bound (defaults filled, strings converted).

    Args:
        store: the graph store.
        name: the query's name (its file stem), e.g. ``"also_liked"``.
        params: values by parameter name; strings are parsed as the declared type.

    Returns:
        The rows, as dicts of plain values.

    Raises:
        QueryNotFound: no such query.
        QueryParameterError: a parameter is unknown, missing or of the wrong type.
        CypherError: the store rejected the statement.
    """
    query = get_query(name)
    bound = bind(query, params)
    start = time.perf_counter()
    rows = store.run(query.text, bound)
    log.debug("query %s: %d rows in %.1f ms", name, len(rows), 1e3 * (time.perf_counter() - start))
    return rows


def list_queries() -> list[dict[str, Any]]:
    """Every query: name, summary, mode, returns and params (name, type, doc, default)."""
    out = []
    for query in QUERIES.all():
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
        out.append(
            {
                "name": query.name,
                "summary": query.summary,
                "mode": query.mode,
                "params": params,
                "returns": query.returns,
            }
        )
    return out
