"""Explanation paths: fetched from the store (:mod:`.candidates`), weighted by the model
(:mod:`.weights`), told in words (:mod:`.wording`).

A :class:`~kgrec.gnn.models.paths.PathScorer` gives each path its exact term of the score, and the
exact term owed to the interaction the path starts from (all walks through that edge);
paths are ranked by the interaction's term, then by their own. Every share is taken over
the positive terms of the score's split over the user's interactions
(:func:`~kgrec.explain.reasons.share_basis`), so it lies in ``[0, 1]``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from kgrec.explain import wording
from kgrec.explain.candidates import (
    FEATURE_KIND,
    SharedFeatures,
    enumerate_paths,
    fetch_model_paths,
    model_requests,
)
from kgrec.explain.reasons import share_basis, user_mean_rating
from kgrec.explain.types import Explanation, ExplanationPath
from kgrec.explain.weights import PathWeights
from kgrec.kg.store import GraphStore


def explain_items(
    store: GraphStore,
    user_id: str,
    titles: dict[str, str],
    scores: dict[str, float],
    weights: PathWeights | None,
    features: SharedFeatures,
    history: Mapping[str, Mapping[str, Any]],
    contributions: Mapping[str, Mapping[str, float]] | None = None,
    max_paths: int = 5,
    limit: int = 500,
) -> dict[str, Explanation]:
    """An explanation (paths, shares, count; no note) for each item, by item id.

    With walk weights for a user the model knows (LightGCN), every 3-hop path of the
    model's graph is weighed and the best ``max_paths`` per item are read from the store;
    otherwise the paths are enumerated (:func:`enumerate_paths`) and weighed by their first
    interaction (:meth:`PathWeights.contributions`). ``share_basis`` and ``explained_share``
    are set wherever the score has an exact split (``contributions`` for the item).

    Args:
        titles: item id -> title, for every item to explain.
        scores: item id -> the model's score.
        weights: the model's exact decomposition, or None (the model has none).
        features: the items' tags and entities and the user's items that carry them.
        history: the user's interactions by item id (``user_items`` rows).
        contributions: :meth:`PathWeights.item_contributions` for the user and the items
            (:math:`C(v)` by the id of each of the user's items).
        max_paths: paths kept per item.
        limit: row cap handed to each enumeration query.
    """
    item_ids = list(titles)
    mean = user_mean_rating(list(history.values()))
    u = weights.node("user", user_id) if weights is not None else None
    totals: dict[str, tuple[np.ndarray, int]] = {}
    first_hops: dict[str, dict[int, float]] = {}
    counts: dict[str, int] = {}
    walks = weights is not None and u is not None and weights.scorer.walks
    if weights is None or u is None or not walks:  # enumerated (a history model weighs
        # them by their first interaction)
        found, counts = enumerate_paths(
            store, user_id, item_ids, titles, features, history, contributions, max_paths, limit
        )
    else:
        requests, totals, first_hops = model_requests(weights, u, item_ids, max_paths)
        found = fetch_model_paths(store, user_id, item_ids, titles, requests, limit)
    out: dict[str, Explanation] = {}
    for item_id, paths in found.items():
        score = scores.get(item_id, 0.0)
        by_id = None if contributions is None else contributions.get(item_id)
        basis = share_basis(score, by_id) if u is not None else None
        explanation = Explanation(user_id, item_id, titles[item_id], score, share_basis=basis)
        contribs, firsts = np.zeros(len(paths)), np.zeros(len(paths))
        if weights is not None and u is not None and paths:
            contribs = weights.contributions(paths)
            if walks:  # C(v) by node, from model_requests
                by_node = first_hops.get(item_id, {})
                vias = [weights.node(p.nodes[1].kind, p.nodes[1].id) for p in paths]
                firsts = np.array([by_node.get(v, 0.0) if v is not None else 0.0 for v in vias])
            else:  # C(v) by item id, as the caller computed them (a history's vias are items)
                of = by_id or {}
                firsts = np.array(
                    [
                        of.get(p.nodes[1].id, 0.0) if p.nodes[1].kind == "item" else 0.0
                        for p in paths
                    ]
                )
        explanation.paths = [
            ExplanationPath(
                kind=paths[j].kind,
                nodes=list(paths[j].nodes),
                relationships=list(paths[j].relationships),
                contribution=float(contribs[j]),
                share=float(contribs[j] / basis) if basis else None,
                sentence=wording.path_sentence(paths[j], mean),
                interaction_share=float(firsts[j] / basis) if basis else None,
            )
            for j in np.lexsort((-contribs, -firsts))[:max_paths]
        ]
        if not walks:
            explanation.num_paths = counts.get(item_id, len(paths))
            if basis and by_id is not None:
                joined = _feature_vias(features, item_id) | {
                    p.nodes[1].id for p in paths if p.kind == "co_users"
                }
                explanation.explained_share = _share(_positive(by_id, joined), basis)
        else:
            vias_of, count = totals.get(item_id, (np.zeros(0, dtype=np.int64), 0))
            explanation.num_paths = count + sum(1 for p in paths if p.kind == "user_tag")
            if basis:
                joined_terms = _positive(first_hops.get(item_id, {}), set(vias_of.tolist()))
                explanation.explained_share = _share(joined_terms, basis)
        out[item_id] = explanation
    return out


def _feature_vias(features: SharedFeatures, item_id: str) -> set[str]:
    """The user's items that share a tag or an entity with ``item_id`` (itself left out)."""
    vias: set[str] = set()
    for f in features.of_item.get(item_id, []):
        vias.update(features.carriers.get((FEATURE_KIND[f["relationship"]], f["key"]), []))
    vias.discard(item_id)
    return vias


def _positive(terms: Mapping[Any, float], keys: set[Any]) -> float:
    """The positive ``terms`` of ``keys``, summed (each key once)."""
    return float(sum(max(terms.get(k, 0.0), 0.0) for k in keys))


def _share(part: float, basis: float) -> float:
    """``part / basis`` for a part of the positive terms: in ``[0, 1]`` (rounding kept out)."""
    return min(max(part / basis, 0.0), 1.0)
