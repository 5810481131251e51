from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from kgrec.gnn.data import GraphTensors
from kgrec.gnn.models.baselines import MFBPR, ItemKNN, MostPopular, TextSimilarity, user_item_matrix
from kgrec.gnn.training.evaluate import evaluate
from kgrec.gnn.training.splits import temporal_split
from kgrec.gnn.training.train import fit


class RandomScorer:
    def __init__(self, num_items: int) -> None:
        self.num_items = num_items
        self.gen = torch.Generator().manual_seed(0)

    def score_users(self, users: torch.Tensor) -> torch.Tensor:
        return torch.rand(len(users), self.num_items, generator=self.gen)


def test_baselines_beat_random_on_planted_preferences(tensors):
    """Users of the synthetic world pick items of their favourite tags: co-occurrence,
    popularity and text all carry that signal, a random ranking does not."""
    split = temporal_split(tensors)
    chance = evaluate(RandomScorer(tensors.num_items), tensors, split.train, split.test, split.val)[
        "recall@20"
    ]
    users = torch.tensor([0, 3, 7])
    for scorer in (
        MostPopular(tensors, split.train),
        ItemKNN(tensors, split.train, k=20),
        TextSimilarity(tensors, split.train),
    ):
        assert scorer.score_users(users).shape == (3, tensors.num_items), scorer
        recall = evaluate(scorer, tensors, split.train, split.test, split.val)["recall@20"]
        assert recall > 2 * chance, (scorer, recall, chance)


def _toy(train: list[tuple[int, int]], test: list[tuple[int, int]]):
    pairs = train + test
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
    items = pd.DataFrame({"id": [f"i{k}" for k in range(4)], "title": "", "description": None})
    t = GraphTensors.from_frames(pd.DataFrame({"id": ["u0", "u1", "u2"]}), items, None, inter)
    return t, torch.arange(len(train)), torch.arange(len(train), len(pairs))


def test_most_popular_metrics_by_hand():
    # training counts: i0 3, i1 2, i2 1, i3 0
    t, train, test = _toy(
        [(0, 0), (0, 1), (1, 0), (1, 1), (2, 0), (2, 2)], [(0, 2), (1, 3), (2, 1)]
    )
    m = evaluate(MostPopular(t, train), t, train, test, ks=(1, 2), extras=False)
    # after masking what each has seen: u0 [i2, i3] hit, u1 [i2, i3] miss at 1, u2 [i1, i3] hit
    assert m["recall@1"] == pytest.approx(2 / 3)
    assert m["recall@2"] == pytest.approx(1.0)
    assert m["mrr@2"] == pytest.approx((1 + 0.5 + 1) / 3)


def test_item_knn_matches_dense_cosine(tensors):
    split = temporal_split(tensors)
    knn = ItemKNN(tensors, split.train, k=10, block=64)
    x = user_item_matrix(tensors, split.train).toarray()
    norms = np.sqrt(x.sum(0))
    sim = (x.T @ x) / (np.outer(norms, norms) + 1e-9)
    np.fill_diagonal(sim, 0)
    pruned = np.zeros_like(sim)
    for i in range(len(sim)):
        top = np.argsort(-sim[i], kind="stable")[:10]
        pruned[i, top] = sim[i, top]
    got = knn.similarity.toarray()
    assert np.allclose(np.sort(got, 1), np.sort(pruned, 1), atol=1e-5)  # ties may swap
    users = torch.arange(5)
    expected = x[:5] @ got
    assert np.allclose(knn.score_users(users).numpy(), expected, atol=1e-5)


def test_most_popular_and_mf_training(tensors):
    split = temporal_split(tensors)
    pop = MostPopular(tensors, split.train)
    counts = np.bincount(tensors.edge_index[1, split.train].numpy(), minlength=tensors.num_items)
    assert int(pop.score_users(torch.tensor([0]))[0].argmax()) == int(counts.argmax())
    torch.manual_seed(0)
    mf = MFBPR.from_tensors(tensors)
    history = fit(mf, tensors, split, epochs=10, batch_size=512, lr=1e-2, patience=100)
    assert history.loss[-1] < history.loss[0]
    chance = evaluate(RandomScorer(tensors.num_items), tensors, split.train, split.test, split.val)[
        "recall@20"
    ]
    assert evaluate(mf, tensors, split.train, split.test, split.val)["recall@20"] > 2 * chance
