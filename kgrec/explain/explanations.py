"""Explanation paths: fetched from the store (:mod:`.candidates`), weighted by the model
(:mod:`.weights`), told in words (:mod:`.wording`).

A :class:`~kgrec.gnn.paths.PathScorer` gives each path its exact share of the LightGCN
score, and the exact share owed to the interaction the path starts from (all walks through
that edge); paths are ranked by the interaction's share, then by their own.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from kgrec.explain import wording
from kgrec.explain.candidates import (
    SharedFeatures,
    enumerate_paths,
    fetch_model_paths,
    model_requests,
)
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
    interaction.

    Args:
        titles: item id -> title, for every item to explain.
        scores: item id -> the model's score.
        weights: the model's exact decomposition, or None (the model has none).
        features: the items' tags and entities and the user's items that carry them.
        history: the user's interactions by item id (``user_items`` rows).
        contributions: :meth:`PathWeights.item_contributions` for the user and the items:
            each path's interaction share for a model without walks (a history model).
        max_paths: paths kept per item.
        limit: row cap handed to each enumeration query.
    """
    item_ids = list(titles)
    u = weights.node("user", user_id) if weights is not None else None
    totals: dict[str, tuple[float, int]] = {}
    first_hops: dict[str, dict[int, float]] = {}
    counts: dict[str, int] = {}
    walks = weights is not None and u is not None and weights.scorer.walks
    if weights is None or u is None or not walks:  # enumerated (a history model weighs
        # them by their first interaction)
        found, counts = enumerate_paths(store, user_id, item_ids, titles, features, history,
                                        contributions, max_paths, limit)  # fmt: skip
    else:
        requests, totals, first_hops = model_requests(weights, u, item_ids, max_paths)
        found = fetch_model_paths(store, user_id, item_ids, titles, requests, limit)
    out: dict[str, Explanation] = {}
    for item_id, paths in found.items():
        score = scores.get(item_id, 0.0)
        explanation = Explanation(user_id, item_id, titles[item_id], score)
        contribs, firsts = np.zeros(len(paths)), np.zeros(len(paths))
        if weights is not None and u is not None and paths:
            contribs = weights.contributions(paths)
            if walks:  # C(v) by node, from model_requests
                by_node = first_hops.get(item_id, {})
                vias = [weights.node(p.nodes[1].kind, p.nodes[1].id) for p in paths]
                firsts = np.array([by_node.get(v, 0.0) if v is not None else 0.0 for v in vias])
            else:  # C(v) by item id, as the caller computed them (a history's vias are items)
                by_id = (contributions or {}).get(item_id, {})
                firsts = np.array([by_id.get(p.nodes[1].id, 0.0) if p.nodes[1].kind == "item"
                                   else 0.0 for p in paths])  # fmt: skip
        shared = u is not None and bool(score)
        explanation.paths = [
            ExplanationPath(kind=paths[j].kind, nodes=list(paths[j].nodes),
                            relationships=list(paths[j].relationships),
                            contribution=float(contribs[j]),
                            share=float(contribs[j] / score) if shared and walks else None,
                            sentence=wording.path_sentence(paths[j]),
                            interaction_share=float(firsts[j] / score) if shared else None)
            for j in np.lexsort((-contribs, -firsts))[:max_paths]
        ]  # fmt: skip
        if not walks:
            explanation.num_paths = counts.get(item_id, len(paths))
        else:
            total, count = totals.get(item_id, (0.0, 0))
            explanation.explained_share = total / score if score else 0.0
            explanation.num_paths = count + sum(1 for p in paths if p.kind == "user_tag")
        out[item_id] = explanation
    return out
