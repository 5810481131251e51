"""The path decomposition is exact: own-state terms plus every neighbour-pair term sum to
the score, and a path's contribution is its neighbour pair's term."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from kgrec.gnn.models.lightgcn import LightGCN
from kgrec.gnn.models.paths import PathScorer


@pytest.fixture()
def model():
    torch.manual_seed(0)
    m = LightGCN(3, 4, num_tags=2, embedding_dim=8, num_layers=3, text_dim=5)
    interactions = torch.tensor([[0, 0, 1, 1, 2], [0, 1, 1, 2, 3]])
    item_tags = torch.tensor([[0, 2, 3], [0, 0, 1]])
    m.set_graph(interactions, item_tags, None, torch.randn(4, 5), torch.randn(2, 5))
    return m.eval()


@pytest.mark.parametrize(("user", "item"), [(0, 2), (1, 0), (2, 1), (0, 3)])
def test_terms_sum_to_the_score(model, user, item):
    scorer = PathScorer.from_lightgcn(model)
    u, i = scorer.node("user", user), scorer.node("item", item)
    x0 = model.initial_states().detach().double().numpy()
    users, items = (t.double().numpy() for t in model.final_embeddings())
    e_i = items[item]
    k1 = model.num_layers + 1
    nu, ni = scorer.neighbours(u), scorer.neighbours(i)
    v, n = np.repeat(nu, len(ni)), np.tile(ni, len(nu))
    own = x0[u] @ e_i / k1 + sum(
        scorer.edge_weights([u], [a])[0] * scorer.partial[a] @ x0[i] / k1 for a in nu
    )
    total = own + scorer.pair_terms(u, i, v, n).sum()
    assert total == pytest.approx(users[user] @ e_i, rel=1e-5)


def test_path_contribution_is_its_pair_term(model):
    scorer = PathScorer.from_lightgcn(model)
    u, i = scorer.node("user", 0), scorer.node("item", 2)
    paths = [
        [u, v, n, i]
        for v in scorer.neighbours(u)
        for n in scorer.neighbours(v)
        if i in scorer.neighbours(n)
    ]
    assert paths, "the fixture has 3-hop paths from user 0 to item 2"
    got = scorer.contributions(np.array(paths))
    want = [scorer.pair_terms(u, i, [p[1]], [p[2]])[0] for p in paths]
    np.testing.assert_allclose(got, want)
    assert np.any(got != 0)
    t = scorer.node("tag", 0)
    two_hop = scorer.contribution([u, t, i])  # no user-tag edge in the model: carries 0
    assert two_hop == 0.0
    not_a_path = [u, scorer.node("item", 0), scorer.node("item", 3), i]  # no item-item edge
    assert scorer.contribution(not_a_path) == 0.0


@pytest.mark.parametrize(("user", "item"), [(0, 2), (1, 0), (2, 3)])
def test_first_hop_contributions_sum_to_the_score(model, user, item):
    scorer = PathScorer.from_lightgcn(model)
    u, i = scorer.node("user", user), scorer.node("item", item)
    x0 = model.initial_states().detach().double().numpy()
    users, items = (t.double().numpy() for t in model.final_embeddings())
    v, c = scorer.first_hop_contributions(u, i)
    assert sorted(v) == sorted(scorer.neighbours(u))
    own = x0[u] @ items[item] / (model.num_layers + 1)
    assert own + c.sum() == pytest.approx(users[user] @ items[item], rel=1e-5)
    # each C(v) is the sum of its pair terms over every n, plus v's part of the item's state
    n = scorer.neighbours(i)
    for a, value in zip(v, c, strict=True):
        pairs = scorer.pair_terms(u, i, np.full(n.shape, a), n).sum()
        rest = scorer.edge_weights([u], [a])[0] * scorer.partial[a] @ x0[i] / (model.num_layers + 1)
        assert value == pytest.approx(pairs + rest, rel=1e-5, abs=1e-9)
