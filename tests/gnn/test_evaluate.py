"""Metrics against hand-computed values on 3 users x 6 items."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch

from kgrec.gnn.data import GraphTensors
from kgrec.gnn.training.evaluate import evaluate


class FixedScorer:
    def __init__(self, scores: torch.Tensor) -> None:
        self.scores = scores

    def score_users(self, users: torch.Tensor) -> torch.Tensor:
        return self.scores[users]


@pytest.fixture()
def case():
    # train: u0 {0}, u1 {1, 2}; test: u0 {1, 3}, u1 {0}, u2 {5}
    pairs = [(0, 0), (1, 1), (1, 2), (0, 1), (0, 3), (1, 0), (2, 5)]
    inter = pd.DataFrame(
        {
            "user_id": [f"u{u}" for u, _ in pairs],
            "item_id": [f"i{i}" for _, i in pairs],
            "kind": "click",
            "rating": np.nan,
            "weight": 1.0,
            "ts": -1,
            "split": "",
        }
    )
    users = pd.DataFrame({"id": ["u0", "u1", "u2"]})
    items = pd.DataFrame({"id": [f"i{k}" for k in range(6)], "title": "", "description": None})
    text = np.eye(6, dtype=np.float32)
    text[1] = text[0]  # items 0 and 1 identical text
    t = GraphTensors.from_frames(users, items, None, inter, item_embeddings=text)
    scores = torch.tensor([6.0, 5, 4, 3, 2, 1]).repeat(3, 1)
    return t, FixedScorer(scores), torch.tensor([0, 1, 2]), torch.tensor([3, 4, 5, 6])


def test_metrics_by_hand(case):
    t, scorer, train, test = case
    m = evaluate(scorer, t, train, test, ks=(2, 3), cold_threshold=0)
    # rankings after masking: u0 [1,2,3,..], u1 [0,3,4,..], u2 [0,1,2,..]
    idcg2 = 1 + 1 / math.log2(3)
    assert m["num_users"] == 3
    assert m["recall@2"] == pytest.approx((0.5 + 1 + 0) / 3)
    assert m["precision@2"] == pytest.approx((0.5 + 0.5) / 3)
    assert m["hit_rate@2"] == pytest.approx(2 / 3)
    assert m["ndcg@2"] == pytest.approx((1 / idcg2 + 1) / 3)
    assert m["mrr@2"] == pytest.approx(2 / 3)
    assert m["recall@3"] == pytest.approx(2 / 3)
    assert m["precision@3"] == pytest.approx((2 / 3 + 1 / 3) / 3)
    assert m["ndcg@3"] == pytest.approx(((1 + 0.5) / idcg2 + 1) / 3)
    assert m["coverage@3"] == pytest.approx(5 / 6)
    # novelty@2: lists [1,2], [0,3], [0,1]; share = (count + 1) / (3 + 6)
    assert m["novelty@2"] == pytest.approx((5 * math.log2(9 / 2) + math.log2(9)) / 6)
    # diversity@2: u0 {1,2} -> 1, u1 {0,3} -> 1, u2 {0,1} identical text -> 0
    assert m["diversity@2"] == pytest.approx(2 / 3)
    # cold users (<= 0 training interactions): u2 only
    assert m["cold_users/num_users"] == 1
    assert m["cold_users/recall@3"] == 0.0
    # cold items (<= 0 training interactions): {3, 4, 5}; u0 -> {3} at rank 3, u2 -> {5}
    assert m["cold_items/num_users"] == 2
    assert m["cold_items/recall@3"] == pytest.approx(0.5)
    assert m["cold_items/ndcg@3"] == pytest.approx(0.5 / 2)
    assert m["cold_items/recall@2"] == 0.0


def test_exclude_masks_validation(case):
    t, scorer, train, test = case
    # exclude u0's test item 1 as if it were validation: u0 ranks [2,3,4]
    m = evaluate(
        scorer, t, train, torch.tensor([4, 5, 6]), torch.tensor([3]), ks=(1,), extras=False
    )
    # u0: test {3}, top-1 [2] miss; u1: {0} hit; u2: {5} miss
    assert m["recall@1"] == pytest.approx(1 / 3)
    assert set(m) == {"num_users", "recall@1", "precision@1", "hit_rate@1", "ndcg@1", "mrr@1"}


def test_chunking_does_not_change_results(case):
    t, scorer, train, test = case
    assert evaluate(scorer, t, train, test, chunk_size=1) == pytest.approx(
        evaluate(scorer, t, train, test)
    )
