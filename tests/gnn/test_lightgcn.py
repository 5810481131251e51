from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from kgrec.gnn.data import GraphTensors
from kgrec.gnn.models.lightgcn import LightGCN
from kgrec.gnn.training.evaluate import evaluate
from kgrec.gnn.training.splits import temporal_split
from kgrec.gnn.training.train import fit


def test_repr():
    assert repr(LightGCN(9000, 125, 0, 0, 64, 3)) == "LightGCN(9125, 64, num_layers=3)"


@pytest.fixture()
def tiny():
    """2 users, 3 items, 1 tag, 1 entity, with text; K = 2."""
    pairs = [("u0", "a"), ("u0", "b"), ("u1", "b"), ("u1", "c")]
    inter = pd.DataFrame(
        {
            "user_id": [u for u, _ in pairs],
            "item_id": [i for _, i in pairs],
            "kind": "click",
            "rating": np.nan,
            "weight": 1.0,
            "ts": -1,
            "split": "",
        }
    )
    items = pd.DataFrame({"id": ["a", "b", "c"], "title": "", "description": None})
    item_tags = pd.DataFrame(
        {"item_id": ["a", "c"], "tag": ["x", "x"], "source": "genre", "count": 1}
    )
    triples = pd.DataFrame({"item_id": ["c"], "relation": ["r"], "entity_id": ["e"]})
    rng = np.random.default_rng(0)
    t = GraphTensors.from_frames(
        pd.DataFrame({"id": ["u0", "u1"]}),
        items,
        pd.DataFrame({"name": ["x"]}),
        inter,
        item_tags,
        triples,
        item_embeddings=rng.normal(size=(3, 5)).astype(np.float32),
        tag_embeddings=rng.normal(size=(1, 5)).astype(np.float32),
    )
    torch.manual_seed(0)
    return LightGCN.from_tensors(t, torch.arange(4), embedding_dim=4, num_layers=2).eval()


def test_propagation_matrix_is_symmetric_normalised(tiny):
    a = tiny.propagation_matrix().to_dense()
    assert torch.allclose(a, a.T)
    deg = (a > 0).sum(1).float()
    i, j = torch.nonzero(a, as_tuple=True)
    assert torch.allclose(a[i, j], 1 / torch.sqrt(deg[i] * deg[j]))
    assert a.shape == (7, 7) and int((a > 0).sum()) == 2 * (4 + 2 + 1)


def test_initial_states_add_the_text_projection_to_items_and_tags_only(tiny):
    x0 = tiny.initial_states()
    e, w = tiny.embedding.weight, tiny.text_proj.weight
    u, i, t = tiny.num_users, tiny.num_items, tiny.num_tags
    assert torch.equal(x0[:u], e[:u]) and torch.equal(x0[u + i + t :], e[u + i + t :])
    assert torch.allclose(x0[u : u + i], e[u : u + i] + tiny.item_text @ w.T, atol=1e-6)
    assert torch.allclose(
        x0[u + i : u + i + t], e[u + i : u + i + t] + tiny.tag_text @ w.T, atol=1e-6
    )
    (x0 * torch.arange(x0.numel()).view_as(x0)).sum().backward()
    assert torch.equal(e.grad, torch.arange(x0.numel()).view_as(x0).float())
    text = torch.cat([tiny.item_text, tiny.tag_text])
    expected = torch.arange(x0.numel()).view_as(x0)[u : u + i + t].float().T @ text
    assert torch.allclose(w.grad, expected, rtol=1e-5)


def test_state_round_trip(tiny):
    clone = LightGCN.from_state(tiny.config(), tiny.state_dict()).eval()
    assert torch.allclose(clone.score_users(torch.arange(2)), tiny.score_users(torch.arange(2)))


@pytest.mark.parametrize("options", [{}, {"use_text": False, "use_kg_edges": False}])
def test_training_lowers_loss_and_beats_random(tensors, options):
    split = temporal_split(tensors)
    torch.manual_seed(0)
    model = LightGCN.from_tensors(tensors, split.train, **options)
    seen = []
    history = fit(
        model,
        tensors,
        split,
        epochs=15,
        batch_size=512,
        lr=5e-3,
        patience=100,
        callback=lambda e, loss, val: seen.append(e),
    )
    assert seen == list(range(15))
    assert history.loss[-1] < 0.7 * history.loss[0]
    trained = evaluate(model, tensors, split.train, split.test, split.val)

    class Random:
        def score_users(self, users):
            return torch.rand(len(users), tensors.num_items, generator=gen)

    gen = torch.Generator().manual_seed(0)
    rand = evaluate(Random(), tensors, split.train, split.test, split.val)
    assert trained["recall@20"] > 2 * rand["recall@20"]
    assert trained["ndcg@20"] > 2 * rand["ndcg@20"]


def test_fit_is_deterministic(tensors):
    split = temporal_split(tensors)
    losses = []
    for _ in range(2):
        torch.manual_seed(0)
        model = LightGCN.from_tensors(tensors, split.train)
        losses.append(fit(model, tensors, split, epochs=3, batch_size=512, seed=7).loss)
    # same draws and batches; float sums over 2 threads may differ in the last bits
    assert losses[0] == pytest.approx(losses[1], rel=1e-5)


def test_import_is_lazy():
    import subprocess
    import sys

    code = "import sys, kgrec.gnn; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_progress_bar_and_no_validation(tensors, capsys):
    from kgrec.gnn.training.splits import Split

    split = temporal_split(tensors)
    no_val = Split(split.kind, split.train, split.val[:0], split.test)
    model = LightGCN.from_tensors(tensors, split.train)
    history = fit(model, tensors, no_val, epochs=2, batch_size=1024, show_progress=True)
    assert history.val_metric == [None, None] and history.best_epoch == 1
    err = capsys.readouterr().err
    assert "LightGCN" in err and "interaction/s" in err  # a rate of training interactions


def test_a_move_that_changes_nothing_keeps_the_propagation_caches(tiny):
    """``fit`` calls ``.to(device)`` on every call: on the device the model is on already,
    the propagation matrix and operator are kept; a real change of dtype rebuilds them."""
    model = tiny
    operator, matrix = model.propagation_operator(), model.propagation_matrix()
    model.to("cpu")
    assert model.propagation_operator() is operator
    assert model.propagation_matrix() is matrix
    model.double()
    assert model.propagation_matrix() is not matrix
    assert model.propagation_matrix().dtype == torch.float64
