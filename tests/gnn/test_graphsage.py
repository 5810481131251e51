from __future__ import annotations

import numpy as np
import torch

from kgrec.gnn.data import GraphTensors
from kgrec.gnn.models.graphsage import GraphSAGE
from kgrec.gnn.training.splits import temporal_split
from kgrec.gnn.training.train import fit

from .conftest import make_world, text_vectors


def test_repr_and_state_round_trip(tensors):
    split = temporal_split(tensors)
    model = GraphSAGE.from_tensors(tensors, split.train).eval()
    n = tensors.num_users + tensors.num_items + tensors.num_tags
    assert repr(model) == f"GraphSAGE({n}, 64, num_layers=2)"
    clone = GraphSAGE.from_state(model.config(), model.state_dict()).eval()
    users = torch.arange(5)
    assert torch.allclose(clone.score_users(users), model.score_users(users), atol=1e-5)


def test_cold_item_gets_useful_embedding_without_retraining():
    ds, _, _ = make_world(num_users=200, num_items=240, num_tags=16, num_interactions=6000, seed=1)
    item_vec, tag_vec = text_vectors(ds, seed=1)
    # hold out 40 items entirely: the model never sees them
    cold = set(ds.items["id"].iloc[::6])
    keep_items = ~ds.items["id"].isin(cold)
    warm = GraphTensors.from_frames(
        ds.users,
        ds.items[keep_items],
        ds.tags,
        ds.interactions[~ds.interactions["item_id"].isin(cold)],
        ds.item_tags[~ds.item_tags["item_id"].isin(cold)],
        item_embeddings=item_vec[keep_items.to_numpy()],
        tag_embeddings=tag_vec,
    )
    split = temporal_split(warm)
    torch.manual_seed(0)
    model = GraphSAGE.from_tensors(warm, split.train, cold_dropout=0.4)
    fit(model, warm, split, epochs=25, batch_size=1024, lr=5e-3, patience=5)

    cold_ids = [i for i in ds.items["id"] if i in cold]
    cold_pos = {item: k for k, item in enumerate(cold_ids)}
    rows = ds.items["id"].isin(cold).to_numpy()
    tags = ds.item_tags[ds.item_tags["item_id"].isin(cold)]
    tag_pos = {t: k for k, t in enumerate(warm.tag_names)}
    edges = torch.tensor(
        [[cold_pos[i] for i in tags["item_id"]], [tag_pos[t] for t in tags["tag"]]]
    )
    emb = model.embed_items(torch.from_numpy(item_vec[rows]), edges)
    assert emb.shape == (len(cold_ids), 64) and torch.isfinite(emb).all()

    users, _ = model.final_embeddings()
    scores = (users @ emb.T).numpy()  # [U, cold]
    user_pos = {u: k for k, u in enumerate(warm.user_ids)}
    truth = ds.interactions[ds.interactions["item_id"].isin(cold)]
    aucs = []
    for item, group in truth.groupby("item_id"):
        pos = np.zeros(len(users), dtype=bool)
        pos[[user_pos[u] for u in group["user_id"]]] = True
        if 0 < pos.sum() < len(pos):
            col = scores[:, cold_pos[item]]
            ranks = col.argsort().argsort()
            n_pos, n_neg = pos.sum(), (~pos).sum()
            aucs.append((ranks[pos].sum() - n_pos * (n_pos - 1) / 2) / (n_pos * n_neg))
    # random embeddings would give 0.5: the users who chose a cold item score it higher
    print("cold-item AUC", np.mean(aucs))
    assert np.mean(aucs) > 0.6, np.mean(aucs)
