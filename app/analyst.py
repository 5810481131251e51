"""What an analyst asks of the graph: counts, text neighbours, the query library, own Cypher.

The CLI's ``stats``, ``similar``, ``query`` and ``cypher`` commands call these functions
only. The query library and own statements are :mod:`kgrec.queries.runner`'s, re-exported
here (``__all__``) with their own signatures and documentation.
"""

from __future__ import annotations

from typing import Any

from kgrec.kg.store import GraphStore
from kgrec.queries.runner import (
    CypherResult,
    check_query,
    list_queries,
    own_query,
    run_own,
    run_query,
)
from kgrec.queries.statement import MAX_TEXT_BYTES

__all__ = [
    "graph_stats",
    "similar_by_text",
    "list_queries",
    "check_query",
    "run_query",
    "own_query",
    "run_own",
    "CypherResult",
    "MAX_TEXT_BYTES",
]


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
