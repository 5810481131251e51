"""The training loop's pieces: the batch-size rule behind ``max_steps`` and the batch loss."""

from __future__ import annotations

import math

import pytest
import torch

from kgrec.core.errors import InvalidParameter
from kgrec.gnn.models.lightgcn import LightGCN
from kgrec.gnn.models.model import Embeddings
from kgrec.gnn.training.config import TrainConfig
from kgrec.gnn.training.splits import Split, temporal_split
from kgrec.gnn.training.train import batch_loss, fit


@pytest.mark.parametrize(
    ("num_train", "batch_size", "max_steps"),
    [(72_504, 4096, 20), (80_251, 4096, 20), (735_971, 4096, 20), (1000, 64, 3), (1000, 64, 0)],
)
def test_an_epoch_has_at_most_max_steps_steps_and_batches_never_shrink(
    num_train: int, batch_size: int, max_steps: int
) -> None:
    batch = TrainConfig(batch_size=batch_size, max_steps=max_steps).batch_size_for(num_train)
    steps = math.ceil(num_train / batch)
    assert batch >= batch_size
    if max_steps:
        assert steps <= max_steps
        if batch > batch_size:  # raised only as far as the cap needs
            assert math.ceil(num_train / (batch - 1)) > max_steps
    else:
        assert batch == batch_size


def test_the_default_cap_leaves_ml_latest_small_batches_as_they_were() -> None:
    cfg = TrainConfig()
    for num_train in (72_504, 80_251):  # training, training + validation
        assert cfg.batch_size_for(num_train) == cfg.batch_size


def test_a_negative_cap_is_refused() -> None:
    with pytest.raises(InvalidParameter, match="max_steps must be >= 0"):
        TrainConfig(max_steps=-1)


def test_fit_trains_with_the_capped_batch(tensors) -> None:
    split = temporal_split(tensors)
    no_val = Split(split.kind, split.train, split.val[:0], split.test)
    model = LightGCN.from_tensors(tensors, split.train)
    history = fit(model, tensors, no_val, epochs=1, batch_size=64, max_steps=3, device="cpu")
    assert history.batch_size == math.ceil(len(split.train) / 3)


def test_batch_loss_equals_bpr_plus_l2_over_the_gathered_rows() -> None:
    g = torch.Generator().manual_seed(0)
    out = Embeddings(*(torch.randn(n, 6, generator=g, dtype=torch.float64) for n in (9, 12, 9, 12)))
    users = torch.randint(9, (50,), generator=g)
    pos, neg = torch.randint(12, (2, 50), generator=g)
    eu = out.users[users]
    diff = (eu * out.items[neg]).sum(-1) - (eu * out.items[pos]).sum(-1)
    bpr = torch.nn.functional.softplus(diff)
    l2 = (
        out.users0[users].pow(2).sum() + out.items0[pos].pow(2).sum() + out.items0[neg].pow(2).sum()
    )
    expected = bpr.mean() + 0.1 * l2 / (2 * 50)
    torch.testing.assert_close(batch_loss(out, users, pos, neg, 0.1), expected)
    torch.testing.assert_close(batch_loss(out, users, pos, neg, 0.1, 25.0), expected * 2)
