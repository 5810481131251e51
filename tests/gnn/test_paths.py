"""Vectorised path contributions equal the model's own walk decomposition, and all walks sum
to the score."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from kgrec.gnn.lightgcn import LightGCN
from kgrec.gnn.paths import PathScorer


@pytest.fixture()
def model():
    torch.manual_seed(0)
    m = LightGCN(3, 4, num_tags=2, embedding_dim=8, num_layers=3, text_dim=5)
    interactions = torch.tensor([[0, 0, 1, 1, 2], [0, 1, 1, 2, 3]])
    item_tags = torch.tensor([[0, 2, 3], [0, 0, 1]])
    m.set_graph(interactions, item_tags, None, torch.randn(4, 5), torch.randn(2, 5))
    return m.eval()


def _neighbours(scorer: PathScorer, node: int) -> list[int]:
    return [b for b in range(scorer.num_nodes) if scorer.edge_weights([node], [b])[0] != 0]


def test_contributions_match_the_model(model):
    scorer = PathScorer.from_lightgcn(model)
    u, i = scorer.node("user", 0), scorer.node("item", 2)
    paths = [[u, v, t, i] for v in _neighbours(scorer, u) for t in _neighbours(scorer, v)
             if i in _neighbours(scorer, t)]  # fmt: skip
    assert paths, "the fixture has 3-hop paths from user 0 to item 2"
    got = scorer.contributions(np.array(paths))
    want = [model.path_contribution(p) for p in paths]
    np.testing.assert_allclose(got, want, rtol=1e-5)
    assert scorer.contribution([u, scorer.node("item", 3)]) == 0.0  # no such edge


def test_all_walk_pairs_sum_to_the_score(model):
    """Brute force over all walk pairs: the decomposition the shares rely on is exact."""
    scorer = PathScorer.from_lightgcn(model)
    x0 = model.initial_states().detach().double().numpy()
    k = model.num_layers
    u, i = scorer.node("user", 1), scorer.node("item", 0)

    def walks(start):
        out = [[start]]
        frontier = [[start]]
        for _ in range(k):
            frontier = [w + [b] for w in frontier for b in _neighbours(scorer, w[-1])]
            out += frontier
        return out

    def wt(w):
        return float(np.prod([scorer.edge_weights([a], [b])[0] for a, b in itertools.pairwise(w)]))

    total = sum(wt(wu) * wt(wi) * x0[wu[-1]] @ x0[wi[-1]]
                for wu in walks(u) for wi in walks(i)) / (k + 1) ** 2  # fmt: skip
    assert total == pytest.approx(model.score(1, 0), rel=1e-5)
