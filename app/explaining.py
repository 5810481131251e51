"""The explanations a :class:`~kgrec.app.recommender.Recommender` serves: reasons and paths
(:mod:`kgrec.explain`) for the items it recommends, and the note saying where each score
came from."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from kgrec.app.live import Catalogue
from kgrec.explain import wording
from kgrec.explain.candidates import SharedFeatures, known_rating
from kgrec.explain.explanations import explain_items
from kgrec.explain.reasons import explain_reasons
from kgrec.explain.types import Explanation, Recommendation
from kgrec.explain.weights import PathWeights
from kgrec.kg.store import GraphStore


def explain_served(
    store: GraphStore,
    user_id: str,
    history: list[dict[str, Any]],
    recs: Sequence[Recommendation],
    source: str,
    weights: PathWeights | None,
    cat: Catalogue,
    known: bool,
    features: SharedFeatures | None = None,
) -> dict[str, Explanation]:
    """An explanation of each of ``recs`` for ``user_id``, by item id.

    Args:
        history: the user's interactions (``user_items`` rows).
        source: where the user's vector came from: ``model``, ``fold-in`` or ``popular``.
        weights: the exact decomposition of the served score (None: none).
        cat: the served catalogue. known: the model knows the user.
        features: the recommended items' shared features, when the caller started reading
            them already (:meth:`SharedFeatures.reading`; None: read here).
    """
    titles = {r.item_id: r.title for r in recs}
    scores = {r.item_id: r.score for r in recs}
    if features is None:  # paths and reasons share it; read while the path queries run
        features = SharedFeatures.reading(store, user_id, list(titles))
    contributions = None if weights is None else weights.item_contributions(user_id, list(titles))
    by_id = {str(r["item_id"]): r for r in history}
    out = explain_items(store, user_id, titles, scores, weights, features, by_id, contributions)
    reasons = explain_reasons(features, history, titles, scores, contributions)
    own = {item_id: r.get("rating") for item_id, r in by_id.items()}
    recorded = sum(1 for r in history if r.get("recorded") is not None)
    folded: bool | int = True if not known else recorded  # 0: a cold user served as such
    for item_id, ex in out.items():
        told = reasons.get(item_id)
        if told is not None:
            ex.reasons, ex.reasons_share = told.reasons, told.shown
            ex.other_share, ex.against_share = told.other, told.against
        if item_id in own:
            ex.seen, rating = True, own[item_id]
            ex.own_rating = known_rating(rating)
        if source == "popular":
            ex.note = wording.popular_note(ex.title, int(cat.popularity[cat.index[ex.item_id]]))
        elif ex.paths:
            ex.note = wording.paths_note(ex, folded_in=folded if source == "fold-in" else 0)
        elif cat.is_added(ex.item_id):
            ex.note = wording.added_item_note(ex.title)
        else:
            ex.note = wording.no_path_note(ex.title, nearest_rated(ex.item_id, history, cat))
    return out


def nearest_rated(
    item_id: str, history: list[dict[str, Any]], cat: Catalogue
) -> tuple[str, float] | None:
    """The rated item whose text embedding is closest to ``item_id``'s, and the cosine."""
    rated = [(r["item_id"], r["title"]) for r in history if r["item_id"] in cat.index]
    if cat.text is None or not rated or item_id not in cat.index:
        return None
    target = cat.text[cat.index[item_id]]
    vectors = cat.text[[cat.index[i] for i, _ in rated]]
    norms = np.linalg.norm(vectors, axis=1) * np.linalg.norm(target)
    sims = vectors @ target / np.maximum(norms, 1e-12)
    best = int(np.argmax(sims))
    return rated[best][1], float(sims[best])
