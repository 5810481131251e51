"""Which paths to consider: read from the store by the ``explain_*`` and ``path_*`` statements.

Without model weights (or for a user the model has not seen) the ``explain_*`` queries
enumerate the paths of up to three hops in the store. With them, the model's own graph says
which 3-hop paths carry the score; the best few per item are read from the store by id
(``path_*`` queries), and the user's own tags are added (``explain_user_tags``).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from kgrec.explain.types import CandidatePath, Node
from kgrec.explain.weights import PathWeights
from kgrec.kg.store import GraphStore
from kgrec.queries.runner import run_query

PATH_QUERIES = ("explain_co_users", "explain_shared_tags", "explain_user_tags",
                "explain_entities")  # fmt: skip

# The path_* fetch queries return the same columns as the explain_* enumeration ones.
_ROW_KIND = {"path_shared_tags": "explain_shared_tags", "path_co_users": "explain_co_users",
             "path_entities": "explain_entities"}  # fmt: skip


def enumerate_paths(
    store: GraphStore,
    user_id: str,
    item_ids: Sequence[str],
    titles: dict[str, str],
    limit: int = 500,
    skip: Sequence[str] = (),
) -> dict[str, list[CandidatePath]]:
    """Every path of up to three hops from the user to each item, as the store has them.

    Args:
        titles: item id -> title.
        limit: row cap handed to each query.
        skip: queries not to run (e.g. ``explain_entities`` on a graph with none).
    """
    params = {"user_id": user_id, "item_ids": list(item_ids), "limit": int(limit)}
    batches = [(name, run_query(store, name, params)) for name in PATH_QUERIES
               if name not in skip]  # fmt: skip
    return _collect(batches, user_id, item_ids, titles)


def fetch_model_paths(
    store: GraphStore,
    user_id: str,
    item_ids: Sequence[str],
    titles: dict[str, str],
    requests: dict[str, list[dict[str, Any]]],
    limit: int = 500,
) -> dict[str, list[CandidatePath]]:
    """The paths the model chose (:func:`model_requests`) and the user's own tags, by item."""
    batches = [(name, run_query(store, name, {"user_id": user_id, "rows": rows}))
               for name, rows in requests.items() if rows]  # fmt: skip
    params = {"user_id": user_id, "item_ids": list(item_ids), "limit": int(limit)}
    batches.append(("explain_user_tags", run_query(store, "explain_user_tags", params)))
    return _collect(batches, user_id, item_ids, titles)


def model_requests(
    weights: PathWeights, u: int, item_ids: Sequence[str], max_paths: int
) -> tuple[
    dict[str, list[dict[str, Any]]], dict[str, tuple[float, int]], dict[str, dict[int, float]]
]:
    """The model's best 3-hop paths per item, as rows for the ``path_*`` queries; per item
    the summed term and number of all its 3-hop paths; and per item the first-hop
    contributions :math:`C(v)` by neighbour ``v`` (:meth:`PathWeights.first_hops`).

    Co-user paths through one via item are grouped (they share one sentence); the group is
    represented by the co-user whose own path carries most. Candidates are ranked like the
    final paths: by the first hop's :math:`C(v)`, then by their own term.
    """
    scorer = weights.scorer
    requests: dict[str, list[dict[str, Any]]] = {"path_shared_tags": [], "path_co_users": [],
                                                 "path_entities": []}  # fmt: skip
    totals: dict[str, tuple[float, int]] = {}
    first_hops: dict[str, dict[int, float]] = {}
    for item_id in item_ids:
        i = weights.node("item", item_id)
        if i is None:
            continue
        first_hops[item_id] = by_via = weights.first_hops(u, i)
        v, n, t = scorer.adjacent_pairs(u, i)
        totals[item_id] = (float(t.sum()), len(t))
        if not len(t):
            continue
        kinds = scorer.kind_of(n)
        # Co-user paths through one via item form one group: sum them, keep the best member.
        users = kinds == "user"
        vias, inverse = np.unique(v[users], return_inverse=True)
        group_sum = np.bincount(inverse, weights=t[users], minlength=len(vias))
        group_size = np.bincount(inverse, minlength=len(vias))
        order = np.lexsort((-t[users], inverse))  # by group, best member first
        first = order[np.searchsorted(inverse[order], np.arange(len(vias)))]
        best_user = n[users][first] if len(vias) else n[:0]
        other = ~users
        values = np.concatenate([group_sum, t[other]])
        firsts = np.array([by_via.get(int(x), 0.0) for x in np.concatenate([vias, v[other]])])
        for j in np.lexsort((-values, -firsts))[:max_paths]:
            if j < len(vias):
                requests["path_co_users"].append({
                    "item_id": item_id, "via_id": weights.node_id(int(vias[j])),
                    "other_id": weights.node_id(int(best_user[j])),
                    "co_users": int(group_size[j])})  # fmt: skip
                continue
            k = np.flatnonzero(other)[j - len(vias)]
            via, node = weights.node_id(int(v[k])), weights.node_id(int(n[k]))
            if kinds[k] == "tag":
                requests["path_shared_tags"].append(
                    {"item_id": item_id, "via_id": via, "tag": node}
                )
            else:
                requests["path_entities"].append(
                    {"item_id": item_id, "via_id": via, "entity_id": node}
                )
    return requests, totals, first_hops


def _collect(
    batches: list[tuple[str, list[dict[str, Any]]]],
    user_id: str,
    item_ids: Sequence[str],
    titles: dict[str, str],
) -> dict[str, list[CandidatePath]]:
    found: dict[str, list[CandidatePath]] = {i: [] for i in item_ids}
    user = Node("user", user_id, f"user {user_id}")
    for name, rows in batches:
        for item_id, path in _rows_to_paths(_ROW_KIND.get(name, name), rows, user, titles):
            if item_id in found:
                found[item_id].append(path)
    return found


def _rows_to_paths(
    name: str, rows: list[dict[str, Any]], user: Node, titles: dict[str, str]
) -> Iterator[tuple[str, CandidatePath]]:
    """``(item_id, path)`` for each row of one path query."""
    for r in rows:
        rec = Node("item", r["item_id"], titles.get(r["item_id"], r["item_id"]))
        rating = r.get("rating")
        if name == "explain_shared_tags":
            via = Node("item", r["via_id"], r["via_title"])
            tag = Node("tag", r["tag"], r["tag"])
            yield rec.id, CandidatePath("shared_tag", (user, via, tag, rec),
                                        ("INTERACTED", "HAS_TAG", "HAS_TAG"), rating)  # fmt: skip
        elif name == "explain_user_tags":
            tag = Node("tag", r["tag"], r["tag"])
            tagged_id = r.get("tagged_item_id")
            tagged = None if tagged_id is None else titles.get(tagged_id, tagged_id)
            yield rec.id, CandidatePath("user_tag", (user, tag, rec), ("TAGGED", "HAS_TAG"),
                                        tagged_title=tagged)  # fmt: skip
        elif name == "explain_entities":
            via = Node("item", r["via_id"], r["via_title"])
            ent = Node("entity", r["entity_id"], r.get("entity_name") or r["entity_id"])
            yield rec.id, CandidatePath("entity", (user, via, ent, rec),
                                        ("INTERACTED", "RELATED", "RELATED"), rating,
                                        relation=r.get("relation"))  # fmt: skip
        elif name == "explain_co_users":
            via = Node("item", r["via_id"], r["via_title"])
            others = r.get("other_user_ids") or [r.get("other_user_id")]
            other = Node("user", str(others[0]), f"user {others[0]}")
            yield rec.id, CandidatePath("co_users", (user, via, other, rec),
                                        ("INTERACTED", "INTERACTED", "INTERACTED"), rating,
                                        co_users=int(r.get("co_users") or len(others)))  # fmt: skip
