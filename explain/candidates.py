"""Which paths to consider: read from the store by the ``explain_*``, ``path_*`` and
``*_features`` statements.

Without walk weights (a model whose score splits over the user's interactions only, no
weights, or a user the model has not seen) the paths of up to three hops are enumerated:
co-user paths and the user's own tags by their ``explain_*`` queries, shared-tag and entity
paths from :class:`SharedFeatures` (the items' tags and entities and which of the user's
items carry them, read once per request and shared with the reasons), the best few per item
by their first interaction's :math:`C(v)`. With walk weights (LightGCN) the model's own
graph says which 3-hop paths carry the score; the best few per item are read from the store
by id (``path_*`` queries), and the user's own tags are added (``explain_user_tags``).
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import Future
from typing import Any

import numpy as np

from kgrec.core.values import is_missing
from kgrec.explain.types import CandidatePath, Node
from kgrec.explain.weights import PathWeights
from kgrec.kg.store import GraphStore
from kgrec.queries.runner import in_background, run_concurrently, run_query

#: Co-user paths are looked for through the items of the user's that carry most of each
#: item's score (:math:`C(v)`), or without a decomposition through the user's
#: ``MAX_VIA`` highest-rated (then latest) items.
CO_USER_VIAS, MAX_VIA = 3, 10
#: The relationship types of ``item_features`` / ``user_features`` rows, by feature kind.
FEATURE_KIND = {"HAS_TAG": "tag", "RELATED": "entity"}
# The path kind each query's rows make (the path_* fetch queries return the same columns).
_ROW_KIND = {
    "path_shared_tags": "shared_tag",
    "path_co_users": "co_users",
    "path_entities": "entity",
    "explain_co_users": "co_users",
    "explain_user_tags": "user_tag",
}


class SharedFeatures:
    """What the items to explain share with the user's items: read once per request, the
    source of shared-tag and entity paths (:func:`enumerate_paths`) and of reasons
    (:mod:`.reasons`).

    :meth:`fetch` reads it at once; :meth:`reading` starts the read in the background
    (:func:`~kgrec.queries.runner.in_background`) and the attributes wait for it, so the
    request's other reads run meanwhile.

    Attributes:
        of_item: item id -> its tags and entities (``item_features`` rows: ``relationship``,
            ``key``, ``label``, ``relation``).
        carriers: ``(kind, key)`` (kind ``tag`` | ``entity``) -> ids of the user's items
            that carry it.
    """

    def __init__(
        self, of_item: dict[str, list[dict[str, Any]]], carriers: dict[tuple[str, str], list[str]]
    ) -> None:
        self._read: Future[SharedFeatures] | None = None
        self._of_item, self._carriers = of_item, carriers

    @property
    def of_item(self) -> dict[str, list[dict[str, Any]]]:
        self._wait()
        return self._of_item

    @property
    def carriers(self) -> dict[tuple[str, str], list[str]]:
        self._wait()
        return self._carriers

    def _wait(self) -> None:
        if self._read is not None:
            done = self._read.result()  # the read's error, if any, is raised here
            self._of_item, self._carriers, self._read = done._of_item, done._carriers, None

    @classmethod
    def reading(cls, store: GraphStore, user_id: str, item_ids: Sequence[str]) -> SharedFeatures:
        """:meth:`fetch`, started in the background; the attributes wait for it."""
        pending = cls({}, {})
        pending._read = in_background(cls.fetch, store, user_id, list(item_ids))
        return pending

    @classmethod
    def fetch(cls, store: GraphStore, user_id: str, item_ids: Sequence[str]) -> SharedFeatures:
        """Two queries: the items' features, then which of the user's items carry them."""
        rows = run_query(store, "item_features", {"item_ids": list(item_ids)})
        of_item: dict[str, list[dict[str, Any]]] = {i: [] for i in item_ids}
        for r in rows:
            of_item.setdefault(r["item_id"], []).append(r)
        keys = sorted({r["key"] for r in rows})
        carriers: dict[tuple[str, str], list[str]] = {}
        if keys:
            for r in run_query(store, "user_features", {"user_id": user_id, "keys": keys}):
                kind = FEATURE_KIND[r["relationship"]]  # one row per feature: fewer records
                carriers[(kind, r["key"])] = sorted(r["via_ids"])
        return cls(of_item, carriers)


def enumerate_paths(
    store: GraphStore,
    user_id: str,
    item_ids: Sequence[str],
    titles: dict[str, str],
    features: SharedFeatures,
    history: Mapping[str, Mapping[str, Any]],
    contributions: Mapping[str, Mapping[str, float]] | None = None,
    per_item: int = 5,
    limit: int = 500,
) -> tuple[dict[str, list[CandidatePath]], dict[str, int]]:
    """The paths of up to three hops from the user to each item, and how many there are.

    Co-user paths and the user's own tags come from their queries (``limit`` rows each;
    co-users through the via items of :func:`co_user_pairs`); shared-tag and entity paths
    from ``features``: per item the ``per_item`` whose first interaction carries most
    (``contributions``; without them, or on a tie, the one the user rated highest), each
    counted in the totals.

    Args:
        titles: item id -> title.
        history: the user's interactions by item id (``user_items`` rows: ``title``,
            ``rating``).
        contributions: item id -> :math:`C(v)` by the id of each of the user's items.

    Returns:
        The paths by item id, and per item the number of paths found (all the shared-tag
        and entity ones, not only those returned).
    """
    base = {"user_id": user_id, "limit": int(limit)}
    queries = [("explain_user_tags", {**base, "item_ids": list(item_ids)})]
    pairs = co_user_pairs(item_ids, history, contributions)
    if pairs:
        queries.append(("explain_co_users", {**base, "rows": pairs}))
    found = _collect(_read_batches(store, queries), user_id, item_ids, titles)
    counts = {item_id: len(paths) for item_id, paths in found.items()}
    user = Node("user", user_id, f"user {user_id}")
    carriers = {key: set(vias) for key, vias in features.carriers.items()}
    for item_id in item_ids:
        shares = (contributions or {}).get(item_id) or {}
        paths, total = _feature_paths(
            features.of_item.get(item_id, []),
            carriers,
            user,
            item_id,
            titles,
            history,
            shares,
            per_item,
        )
        found[item_id].extend(paths)
        counts[item_id] += total
    return found, counts


def co_user_pairs(
    item_ids: Sequence[str],
    history: Mapping[str, Mapping[str, Any]],
    contributions: Mapping[str, Mapping[str, float]] | None,
) -> list[dict[str, str]]:
    """``{item_id, via_id}`` rows for ``explain_co_users``: per item the ``CO_USER_VIAS``
    items of the user's with the largest :math:`C(v)` (positive ones), or, for an item
    without contributions, the user's ``MAX_VIA`` highest-rated, then latest, items."""

    def by_rating(via: str) -> tuple[float, float, str]:
        row = history[via]
        ts = row.get("ts")
        return (-_rating_or_zero(row), -(ts if isinstance(ts, int | float) else 0), via)

    rated = heapq.nsmallest(MAX_VIA, history, key=by_rating)
    rows = []
    for item_id in item_ids:
        c = (contributions or {}).get(item_id)
        if c is None:
            vias = [v for v in rated if v != item_id]
        else:
            top = heapq.nlargest(
                CO_USER_VIAS,
                (v for v in c if v in history and v != item_id),
                key=lambda v: (c[v], v),
            )
            vias = [v for v in top if c[v] > 0]
        rows += [{"item_id": item_id, "via_id": via} for via in vias]
    return rows


def _feature_paths(
    rows: list[dict[str, Any]],
    carriers: Mapping[tuple[str, str], set[str]],
    user: Node,
    item_id: str,
    titles: Mapping[str, str],
    history: Mapping[str, Mapping[str, Any]],
    contribution: Mapping[str, float],
    per_item: int,
) -> tuple[list[CandidatePath], int]:
    """One item's best ``per_item`` shared-tag and entity paths, and how many it has."""
    # tags first, then entities, each by key: the order a via item's paths are listed in
    feats = sorted(
        ((FEATURE_KIND[f["relationship"]], f) for f in rows),
        key=lambda t: (t[0] != "tag", t[1]["key"]),
    )
    groups = [carriers.get((kind, f["key"]), set()) for kind, f in feats]
    vias = set().union(*groups) - {item_id}
    total = sum(len(g) - (item_id in g) for g in groups)

    def order(via: str) -> tuple[float, float, str]:
        return (-contribution.get(via, 0.0), -_rating_or_zero(history.get(via)), via)

    rec = Node("item", item_id, titles.get(item_id, item_id))
    paths: list[CandidatePath] = []
    for via in heapq.nsmallest(per_item, vias, key=order):
        row = history.get(via) or {}
        node = Node("item", via, str(row.get("title") or via))
        rating = known_rating(row.get("rating"))
        for (kind, f), group in zip(feats, groups, strict=True):
            if via not in group:
                continue
            if kind == "tag":
                paths.append(_shared_tag_path(user, node, f["key"], rec, rating))
            else:
                ent = Node("entity", f["key"], f.get("label") or f["key"])
                paths.append(_entity_path(user, node, ent, rec, rating, f.get("relation")))
    return paths, total


def known_rating(value: Any) -> float | None:
    """A stored rating as a float; None for an interaction without one (null or NaN)."""
    return None if is_missing(value) else float(value)


def _rating_or_zero(row: Mapping[str, Any] | None) -> float:
    rating = None if row is None else known_rating(row.get("rating"))
    return 0.0 if rating is None else rating


def _shared_tag_path(
    user: Node, via: Node, tag: str, rec: Node, rating: float | None
) -> CandidatePath:
    """``user -> via -> tag <- rec``."""
    return CandidatePath(
        "shared_tag",
        (user, via, Node("tag", tag, tag), rec),
        ("INTERACTED", "HAS_TAG", "HAS_TAG"),
        rating,
    )


def _entity_path(
    user: Node, via: Node, entity: Node, rec: Node, rating: float | None, relation: str | None
) -> CandidatePath:
    """``user -> via -> entity <- rec``, ``relation`` the recommended item's link."""
    return CandidatePath(
        "entity",
        (user, via, entity, rec),
        ("INTERACTED", "RELATED", "RELATED"),
        rating,
        relation=relation,
    )


def fetch_model_paths(
    store: GraphStore,
    user_id: str,
    item_ids: Sequence[str],
    titles: dict[str, str],
    requests: dict[str, list[dict[str, Any]]],
    limit: int = 500,
) -> dict[str, list[CandidatePath]]:
    """The paths the model chose (:func:`model_requests`) and the user's own tags, by item."""
    calls: list[tuple[str, Mapping[str, Any] | None]] = [
        (name, {"user_id": user_id, "rows": rows}) for name, rows in requests.items() if rows
    ]
    calls.append(
        ("explain_user_tags", {"user_id": user_id, "item_ids": list(item_ids), "limit": int(limit)})
    )
    return _collect(_read_batches(store, calls), user_id, item_ids, titles)


def _read_batches(
    store: GraphStore, calls: Sequence[tuple[str, Mapping[str, Any] | None]]
) -> list[tuple[str, list[dict[str, Any]]]]:
    """``(name, rows)`` of each call, the calls read at once (:func:`run_concurrently`)."""
    return list(zip([name for name, _ in calls], run_concurrently(store, calls), strict=True))


def model_requests(
    weights: PathWeights, u: int, item_ids: Sequence[str], max_paths: int
) -> tuple[
    dict[str, list[dict[str, Any]]], dict[str, tuple[np.ndarray, int]], dict[str, dict[int, float]]
]:
    """The model's best 3-hop paths per item, as rows for the ``path_*`` queries; per item
    the user's neighbours its 3-hop paths leave through (node indices, each once) and the
    number of those paths; and per item the first-hop contributions :math:`C(v)` by
    neighbour ``v`` (:meth:`PathWeights.first_hops`).

    Co-user paths through one via item are grouped (they share one sentence); the group is
    represented by the co-user whose own path carries most. Candidates are ranked like the
    final paths: by the first hop's :math:`C(v)`, then by their own term.
    """
    scorer = weights.scorer
    requests: dict[str, list[dict[str, Any]]] = {
        "path_shared_tags": [],
        "path_co_users": [],
        "path_entities": [],
    }
    totals: dict[str, tuple[np.ndarray, int]] = {}
    first_hops: dict[str, dict[int, float]] = {}
    for item_id in item_ids:
        i = weights.node("item", item_id)
        if i is None:
            continue
        first_hops[item_id] = by_via = weights.first_hops(u, i)
        v, n, t = scorer.adjacent_pairs(u, i)
        totals[item_id] = (np.unique(v), len(t))
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
                requests["path_co_users"].append(
                    {
                        "item_id": item_id,
                        "via_id": weights.node_id(int(vias[j])),
                        "other_id": weights.node_id(int(best_user[j])),
                        "co_users": int(group_size[j]),
                    }
                )
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
        for item_id, path in _rows_to_paths(_ROW_KIND[name], rows, user, titles):
            if item_id in found:
                found[item_id].append(path)
    return found


def _rows_to_paths(
    name: str, rows: list[dict[str, Any]], user: Node, titles: dict[str, str]
) -> Iterator[tuple[str, CandidatePath]]:
    """``(item_id, path)`` for each row of one path query, whose rows make paths of kind
    ``name`` (``_ROW_KIND``)."""
    for r in rows:
        rec = Node("item", r["item_id"], titles.get(r["item_id"], r["item_id"]))
        rating = r.get("rating")
        if name == "shared_tag":
            via = Node("item", r["via_id"], r["via_title"])
            yield rec.id, _shared_tag_path(user, via, r["tag"], rec, rating)
        elif name == "user_tag":
            tag = Node("tag", r["tag"], r["tag"])
            tagged_id = r.get("tagged_item_id")
            tagged = None if tagged_id is None else titles.get(tagged_id, tagged_id)
            yield (
                rec.id,
                CandidatePath(
                    "user_tag", (user, tag, rec), ("TAGGED", "HAS_TAG"), tagged_title=tagged
                ),
            )
        elif name == "entity":
            via = Node("item", r["via_id"], r["via_title"])
            ent = Node("entity", r["entity_id"], r.get("entity_name") or r["entity_id"])
            yield rec.id, _entity_path(user, via, ent, rec, rating, r.get("relation"))
        elif name == "co_users":
            via = Node("item", r["via_id"], r["via_title"])
            other = Node("user", str(r["other_user_id"]), f"user {r['other_user_id']}")
            yield (
                rec.id,
                CandidatePath(
                    "co_users",
                    (user, via, other, rec),
                    ("INTERACTED", "INTERACTED", "INTERACTED"),
                    rating,
                    co_users=int(r.get("co_users") or 1),
                ),
            )
