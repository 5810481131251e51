"""Data-parallel training in 2 real processes (gloo on CPU) against one process."""

from __future__ import annotations

import copy

import pytest
import torch

from kgrec.core.errors import InvalidParameter
from kgrec.gnn.models.lightgcn import LightGCN
from kgrec.gnn.training.config import TrainConfig
from kgrec.gnn.training.splits import temporal_split
from kgrec.gnn.training.train import fit

from .conftest import make_world

# Two processes sum each gradient in another order than one; through Adam over a few dozen
# steps that leaves differences of order 1e-6 on embeddings of order 0.1.
ATOL, RTOL = 1e-4, 1e-3


def test_two_processes_train_the_same_model_as_one() -> None:
    tensors = make_world(num_users=60, num_items=90, num_tags=8, num_interactions=1500, seed=4)[2]
    split = temporal_split(tensors)
    torch.manual_seed(0)
    start = LightGCN.from_tensors(tensors, split.train)
    cfg = TrainConfig(epochs=4, batch_size=200, eval_every=1, patience=10, device="cpu", seed=3)
    one, two = copy.deepcopy(start), copy.deepcopy(start)
    h1 = fit(one, tensors, split, cfg)
    h2 = fit(two, tensors, split, cfg.replace(nproc=2))
    assert h2.epochs == h1.epochs and h2.best_epoch == h1.best_epoch
    torch.testing.assert_close(torch.tensor(h2.loss), torch.tensor(h1.loss), atol=ATOL, rtol=RTOL)
    u1, i1 = one.final_embeddings()
    u2, i2 = two.final_embeddings()
    moved = (u1 - start.final_embeddings()[0]).abs().max()
    assert moved > 100 * ATOL  # training changed the embeddings far more than the tolerance
    torch.testing.assert_close(u2, u1, atol=ATOL, rtol=RTOL)
    torch.testing.assert_close(i2, i1, atol=ATOL, rtol=RTOL)


def test_nproc_below_one_is_refused() -> None:
    with pytest.raises(InvalidParameter, match="nproc must be >= 1"):
        TrainConfig(nproc=0)
