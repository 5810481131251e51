"""The fold-in recomputes one node's LightGCN states over its current neighbours: exactly
the trained vector when nothing changed, exactly the propagation of the updated graph's row
of that node over the trained states of the others, and closer to a full recomputation than
the stale vector."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from kgrec.explain.weights import PathWeights
from kgrec.gnn.inductive.foldin import FoldIn
from kgrec.gnn.models.lightgcn import LightGCN
from kgrec.gnn.models.propagation import layer_states

INTERACTIONS = [[0, 0, 1, 1, 2, 2, 3], [0, 1, 1, 2, 3, 4, 4]]
ITEM_TAGS = [[0, 2, 3, 4, 5], [0, 0, 1, 1, 0]]


def _model(interactions, state=None) -> LightGCN:
    torch.manual_seed(0)
    m = LightGCN(4, 6, num_tags=2, embedding_dim=8, num_layers=3, text_dim=5)
    gen = torch.Generator().manual_seed(1)
    m.set_graph(
        torch.tensor(interactions),
        torch.tensor(ITEM_TAGS),
        None,
        torch.randn(6, 5, generator=gen),
        torch.randn(2, 5, generator=gen),
    )
    if state is not None:
        m.load_state_dict(
            {k: v for k, v in state.items() if not k.startswith("adj_")}, strict=False
        )
    return m.eval()


@pytest.fixture()
def model() -> LightGCN:
    return _model(INTERACTIONS)


def test_unchanged_neighbours_give_the_trained_vector(model):
    fold = FoldIn.from_lightgcn(model)
    users, items = (t.double().numpy() for t in model.final_embeddings())
    for user in range(model.num_users):
        u = fold.node("user", user)
        node = fold.fold(fold.neighbours(u), node=u)
        np.testing.assert_allclose(node.vector, users[user], rtol=1e-5, atol=1e-7)
    item = fold.node("item", 4)  # items fold the same way (users and tags as neighbours)
    node = fold.fold(fold.neighbours(item), node=item)
    np.testing.assert_allclose(node.vector, items[4], rtol=1e-5, atol=1e-7)


def test_new_edges_follow_the_updated_graphs_row_over_the_trained_states(model):
    """User 0 gains items 3 and 5: the edge weights are exactly those of the graph with the
    new edges (its own degree and the items' degrees + 1), and each layer is that row times
    the trained states of the other nodes."""
    fold = FoldIn.from_lightgcn(model)
    u = fold.node("user", 0)
    new = [fold.node("item", 3), fold.node("item", 5)]
    node = fold.fold(np.concatenate([fold.neighbours(u), new]), node=u)
    updated = _model([INTERACTIONS[0] + [0, 0], INTERACTIONS[1] + [3, 5]], model.state_dict())
    adj = updated.propagation_matrix().to_dense().double().numpy()
    row = adj[u]
    assert sorted(node.neighbours.tolist()) == sorted(np.flatnonzero(row).tolist())
    np.testing.assert_allclose(node.weights, row[node.neighbours], rtol=1e-6)
    with torch.no_grad():
        states = layer_states(model.propagation_matrix(), model.initial_states().float(), 3)
    for k in range(3):
        np.testing.assert_allclose(
            node.layers[k + 1], row @ states[k].double().numpy(), rtol=1e-5, atol=1e-7
        )


def test_fold_in_is_closer_to_the_recomputed_graph_than_the_stale_vector(model):
    fold = FoldIn.from_lightgcn(model)
    u = fold.node("user", 0)
    new = [fold.node("item", 3), fold.node("item", 5)]
    node = fold.fold(np.concatenate([fold.neighbours(u), new]), node=u)
    updated = _model([INTERACTIONS[0] + [0, 0], INTERACTIONS[1] + [3, 5]], model.state_dict())
    exact = updated.final_embeddings()[0][0].double().numpy()
    stale = model.final_embeddings()[0][0].double().numpy()
    assert np.linalg.norm(node.vector - exact) < 0.5 * np.linalg.norm(stale - exact)


def test_a_new_user_and_a_new_item(model):
    fold = FoldIn.from_lightgcn(model)
    items = [fold.node("item", 1), fold.node("item", 4)]
    user = fold.fold(items)  # unknown to the model: x0 = 0, every edge new
    np.testing.assert_allclose(user.layers[0], 0.0)
    np.testing.assert_allclose(user.weights, 1 / np.sqrt(2 * (fold.degree[items] + 1)))
    text = np.arange(5, dtype=np.float64)
    x0 = model.text_proj.weight.detach().double().numpy() @ text
    np.testing.assert_allclose(fold.text_state(text), x0, rtol=1e-6)
    tags = [fold.node("tag", 0)]
    item = fold.fold(tags, initial=fold.text_state(text))
    np.testing.assert_allclose(item.layers[0], x0, rtol=1e-6)
    assert item.degree == 1
    chooser = fold.fold([], extra=[item])  # a new user whose one item is the new item
    np.testing.assert_allclose(chooser.layers[1], item.layers[0] / np.sqrt(1 * 2))
    assert chooser.extra == 1 and not len(chooser.neighbours)


def test_folded_path_weights_split_the_folded_score_exactly(model):
    fold = FoldIn.from_lightgcn(model)
    scorer = model.path_scorer()
    maps = {
        "users": [f"u{j}" for j in range(4)],
        "items": [f"i{j}" for j in range(6)],
        "tags": ["a", "b"],
        "entities": [],
    }
    weights = PathWeights(scorer, maps)
    u = fold.node("user", 0)
    node = fold.fold(np.concatenate([fold.neighbours(u), [fold.node("item", 3)]]), node=u)
    view = weights.folded("u0", node)
    assert weights.node("user", "u0") == view.node("user", "u0") == u
    assert sorted(view.neighbour_items("u0")) == ["i0", "i1", "i3"]
    assert sorted(weights.neighbour_items("u0")) == ["i0", "i1"]  # the base is unchanged
    for item in range(6):
        i = view.node("item", f"i{item}")
        score = float(node.vector @ scorer.final[i])
        parts = view.decompose(u, i, score)
        assert parts.user_own + sum(parts.interactions.values()) == pytest.approx(score, abs=1e-9)
        assert parts.own_states + parts.paths + parts.unjoined == pytest.approx(score, abs=1e-9)
        assert set(parts.interactions) == {"i0", "i1", "i3"}
    x0 = model.initial_states().detach().double().numpy()[u] / 4
    parts = view.decompose(u, view.node("item", "i2"), 0.0)
    i2 = scorer.final[view.node("item", "i2")]
    assert parts.user_own == pytest.approx(float(x0 @ i2), rel=1e-5, abs=1e-9)
    new = weights.folded("stranger", fold.fold([fold.node("item", 2)]))
    s = new.node("user", "stranger")
    assert s == scorer.num_nodes and weights.node("user", "stranger") is None
    assert new.neighbour_items("stranger") == ["i2"]
