"""BPR training with early stopping on validation Recall@K (:func:`fit`)."""

from __future__ import annotations

import copy
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from kgrec.gnn.data import GraphTensors
from kgrec.gnn.evaluate import evaluate
from kgrec.gnn.sampling import NegativeSampler, iterate_batches
from kgrec.gnn.splits import Split

log = logging.getLogger(__name__)

Callback = Callable[[int, float, float | None], None]


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``'auto'`` -> CUDA when available, else CPU."""
    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (CPU and CUDA)."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def bpr_loss(pos: torch.Tensor, neg: torch.Tensor) -> torch.Tensor:
    r"""Bayesian Personalised Ranking (Rendle et al., UAI 2009):
    :math:`-\frac1n\sum\log\sigma(\hat y_{ui} - \hat y_{uj})`.

    Shapes:
        pos, neg: ``[n]``; output: scalar.
    """
    return nn.functional.softplus(neg - pos).mean()


@dataclass
class History:
    """What :func:`fit` did: per-epoch loss, validation metric, timings and the best epoch."""

    loss: list[float] = field(default_factory=list)
    val_metric: list[float | None] = field(default_factory=list)
    epoch_seconds: list[float] = field(default_factory=list)
    best_epoch: int = -1  # 0-based; the last epoch when there is no validation
    best_val: float = float("-inf")
    stopped_early: bool = False
    train_seconds: float = 0.0

    @property
    def epochs(self) -> int:
        return len(self.loss)

    def seconds_per_epoch(self) -> float:
        return float(np.median(self.epoch_seconds)) if self.epoch_seconds else 0.0


def fit(
    model: nn.Module,
    tensors: GraphTensors,
    split: Split,
    *,
    epochs: int = 100,
    batch_size: int = 4096,
    lr: float = 2e-3,
    reg: float = 1e-4,
    patience: int = 10,
    eval_every: int = 1,
    k: int = 20,
    seed: int = 0,
    device: str | torch.device = "auto",
    amp: bool = False,
    show_progress: bool = False,
    callback: Callback | None = None,
) -> History:
    """Train ``model`` with BPR on ``split.train`` and keep the weights best on ``split.val``.

    ``model()`` must return ``(users [U, d], items [I, d], users0, items0)``: final and
    initial embeddings; the loss is ``BPR + reg * (|x0_u|^2 + |x0_i|^2 + |x0_j|^2) / 2``
    averaged over the batch (the LightGCN paper's regulariser on initial embeddings).
    Each step re-runs the full propagation (graph models) on the batch's behalf.

    Args:
        model: a LightGCN, GraphSAGE or MF model; it is moved to ``device``.
        tensors, split: the data and its split (validation may be empty: no early stopping).
        epochs: maximum epochs. batch_size: training interactions per step.
        lr: Adam learning rate. reg: L2 weight on the batch's initial embeddings.
        patience: evaluations without improvement of val Recall@k before stopping.
        eval_every: evaluate every this many epochs. k: the K of the validation Recall.
        seed: seeds Python / NumPy / torch, the batch order and the negatives (the model's
            initialisation happened at construction: seed before building it). Runs repeat
            up to float summation order across threads.
        device: ``'auto'``, ``'cpu'``, ``'cuda'``. amp: mixed precision on CUDA.
        show_progress: a tqdm bar with loss and validation metric.
        callback: ``callback(epoch, loss, val_metric)`` after each epoch.

    Returns:
        A :class:`History`; the model holds the best validation weights, in eval mode.
    """
    from tqdm.auto import tqdm

    dev = resolve_device(device)
    seed_everything(seed)
    model.to(dev)
    gen = torch.Generator(device=dev)
    gen.manual_seed(seed)
    train_edges = tensors.edge_index[:, split.train].to(dev)
    sampler = NegativeSampler(train_edges, tensors.num_items, generator=gen)
    optim = torch.optim.Adam(model.parameters(), lr=lr)
    use_amp = amp and dev.type == "cuda"
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp)
    history = History()
    best_state = None
    has_val = len(split.val) > 0
    bad_rounds = 0
    start = time.perf_counter()
    bar = tqdm(range(epochs), disable=not show_progress, desc=type(model).__name__, leave=False)
    for epoch in bar:
        model.train()
        t0 = time.perf_counter()
        total, steps = 0.0, 0
        for batch in iterate_batches(train_edges.size(1), batch_size, dev, gen):
            users, pos = train_edges[0, batch], train_edges[1, batch]
            neg = sampler.sample(users)
            with torch.autocast(device_type=dev.type, enabled=use_amp):
                u_emb, i_emb, u0, i0 = model()
                eu = u_emb[users]
                loss = bpr_loss(
                    (eu * i_emb[pos]).sum(-1).float(), (eu * i_emb[neg]).sum(-1).float()
                )
                l2 = (
                    u0[users].float().pow(2).sum()
                    + i0[pos].float().pow(2).sum()
                    + i0[neg].float().pow(2).sum()
                ) / (2 * len(batch))
                loss = loss + reg * l2
            optim.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(optim)
            scaler.update()
            total += float(loss.detach())
            steps += 1
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)
        history.epoch_seconds.append(time.perf_counter() - t0)
        history.loss.append(total / max(steps, 1))
        val = None
        if has_val and (epoch + 1) % eval_every == 0:
            model.eval()
            metrics = evaluate(
                model, tensors, split.train, split.val, ks=(k,), device=dev, extras=False
            )
            val = metrics[f"recall@{k}"]
            if val > history.best_val:
                history.best_val, history.best_epoch, bad_rounds = val, epoch, 0
                best_state = copy.deepcopy(model.state_dict())
            else:
                bad_rounds += 1
        history.val_metric.append(val)
        bar.set_postfix(
            loss=f"{history.loss[-1]:.4f}", val=f"{val:.4f}" if val is not None else "-"
        )
        log.debug("epoch %d loss %.4f val %s", epoch, history.loss[-1], val)
        if callback is not None:
            callback(epoch, history.loss[-1], val)
        if has_val and bad_rounds >= patience:
            history.stopped_early = True
            break
    if best_state is not None:
        model.load_state_dict(best_state)
    elif not has_val:
        history.best_epoch = history.epochs - 1
    model.eval()
    history.train_seconds = time.perf_counter() - start
    log.info(
        "trained %s: %d epochs, best val recall@%d %.4f at epoch %d, %.1fs",
        model,
        history.epochs,
        k,
        history.best_val,
        history.best_epoch,
        history.train_seconds,
    )
    return history
