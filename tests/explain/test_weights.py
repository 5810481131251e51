"""Path terms of a model without walks (``ease``): each interaction's exact term C(v) is
shared by the paths that leave through it, so no path reads 0 and none is counted twice."""

from __future__ import annotations

import numpy as np
import pytest

from kgrec.explain.types import CandidatePath, Node
from kgrec.explain.weights import PathWeights
from kgrec.gnn.models.paths import PathScorer

IDS = {"users": ["u"], "items": ["a", "b", "c"], "tags": ["t1", "t2"], "entities": []}
OFFSETS = {"user": 0, "item": 1, "tag": 4, "entity": 6}


def _history_scorer() -> PathScorer:
    """An item-item model: the user's edges to a and b weigh 1.0 and 0.5; P and Q random."""
    rng = np.random.default_rng(3)
    partial = np.zeros((6, 4))
    partial[1:4] = rng.normal(size=(3, 4))  # P_v
    final = np.zeros((6, 4))
    final[1:4] = rng.normal(size=(3, 4))  # Q_i
    weights = np.array([1.0, 0.5])
    final[0] = weights @ partial[[1, 2]]  # e_u = sum_v w_uv P_v
    keys = np.array([0 * 6 + 1, 0 * 6 + 2], dtype=np.int64)
    return PathScorer(keys, weights, partial, OFFSETS, final, walks=False)


def _path(kind: str, via: Node, middle: Node, rels: tuple[str, ...]) -> CandidatePath:
    user, rec = Node("user", "u", "user u"), Node("item", "c", "C")
    return CandidatePath(kind, (user, via, middle, rec), rels, 4.0)


def test_paths_of_a_history_model_share_their_interactions_term():
    scorer = _history_scorer()
    weights = PathWeights(scorer, IDS)
    a, b = Node("item", "a", "A"), Node("item", "b", "B")
    tag = ("INTERACTED", "HAS_TAG", "HAS_TAG")
    paths = [
        _path("shared_tag", a, Node("tag", "t1", "t1"), tag),
        _path("shared_tag", a, Node("tag", "t2", "t2"), tag),
        _path("co_users", b, Node("user", "x", "user x"), ("INTERACTED",) * 3),
        CandidatePath(
            "user_tag",
            (Node("user", "u", "user u"), Node("tag", "t1", "t1"), Node("item", "c", "C")),
            ("TAGGED", "HAS_TAG"),
        ),
    ]
    c_a = 1.0 * scorer.partial[1] @ scorer.final[3]
    c_b = 0.5 * scorer.partial[2] @ scorer.final[3]
    terms = weights.contributions(paths)
    assert terms == pytest.approx([c_a / 2, c_a / 2, c_b, 0.0])
    # the paths' terms add up to the interactions they leave through, each once
    assert terms.sum() == pytest.approx(c_a + c_b)
    score = float(scorer.final[0] @ scorer.final[3])
    assert c_a + c_b == pytest.approx(score)
