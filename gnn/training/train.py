"""BPR training with early stopping on validation Recall@K (:func:`fit`); closed-form models
are solved instead (their ``closed_form``). The settings live in
:mod:`kgrec.gnn.training.config`.
"""

from __future__ import annotations

import contextlib
import copy
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from kgrec.core.device import resolve_device
from kgrec.core.memory import retained_heap
from kgrec.gnn.training.config import TrainConfig

if TYPE_CHECKING:  # torch is imported where training runs: TrainConfig alone stays light
    import torch

    from kgrec.gnn.data import GraphTensors
    from kgrec.gnn.models.model import EmbeddingModel, Embeddings
    from kgrec.gnn.training.distributed import Group
    from kgrec.gnn.training.splits import Split

log = logging.getLogger(__name__)

Callback = Callable[[int, float, float | None], None]


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (CPU and CUDA)."""
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def bpr_loss(pos: torch.Tensor, neg: torch.Tensor) -> torch.Tensor:
    r"""Bayesian Personalised Ranking (Rendle et al., UAI 2009):
    :math:`-\frac1n\sum\log\sigma(\hat y_{ui} - \hat y_{uj})`.

    Shapes:
        pos, neg: ``[n]``; output: scalar.
    """
    import torch

    return torch.nn.functional.softplus(neg - pos).mean()


def batch_loss(
    out: Embeddings,
    users: torch.Tensor,
    pos: torch.Tensor,
    neg: torch.Tensor,
    reg: float,
    denominator: float | None = None,
) -> torch.Tensor:
    r"""BPR plus L2 on the initial embeddings of a batch of ``(user, positive, negative)``:
    :math:`\frac1n\sum_b [\mathrm{softplus}(\hat y_{uj} - \hat y_{ui})
    + \frac{reg}{2}(|x^0_u|^2 + |x^0_i|^2 + |x^0_j|^2)]`.

    The L2 sum is taken over every row weighted by how often the batch holds it, which is
    the same sum without a scatter in the backward pass.

    Args:
        out: the model's forward pass. users, pos, neg: the batch.
        reg: the L2 weight. denominator: ``n`` (default the batch length; a shard of a
            distributed batch passes the global length over the number of processes).

    Shapes:
        users, pos, neg: ``[b]``; output: scalar.
    """
    import torch

    def wide(t: torch.Tensor) -> torch.Tensor:  # half precision (AMP) summed in float32
        return t.float() if t.dtype in (torch.float16, torch.bfloat16) else t

    n = float(len(users)) if denominator is None else denominator
    eu = wide(out.users.index_select(0, users))  # backward: index_add_, faster than index_put
    items = wide(out.items.index_select(0, torch.cat([pos, neg]))).view(2, len(users), -1)
    scores = (eu.unsqueeze(0) * items).sum(-1)
    bpr = torch.nn.functional.softplus(scores[1] - scores[0]).sum()
    users0, items0 = wide(out.users0), wide(out.items0)
    user_count = torch.bincount(users, minlength=users0.size(0)).to(users0.dtype)
    item_count = torch.bincount(torch.cat([pos, neg]), minlength=items0.size(0)).to(items0.dtype)
    l2 = (user_count * users0.pow(2).sum(1)).sum() + (item_count * items0.pow(2).sum(1)).sum()
    return (bpr + reg / 2 * l2) / n


@dataclass
class History:
    """What :func:`fit` did: per-epoch loss, validation metric, timings, the best epoch and
    the batch size of its steps (:meth:`TrainConfig.batch_size_for`)."""

    loss: list[float] = field(default_factory=list)
    val_metric: list[float | None] = field(default_factory=list)
    epoch_seconds: list[float] = field(default_factory=list)
    best_epoch: int = -1  # 0-based; the last epoch when there is no validation
    best_val: float = float("-inf")
    stopped_early: bool = False
    train_seconds: float = 0.0
    batch_size: int = 0

    @property
    def epochs(self) -> int:
        return len(self.loss)

    def seconds_per_epoch(self) -> float:
        return float(np.median(self.epoch_seconds)) if self.epoch_seconds else 0.0


def fit(
    model: EmbeddingModel,
    tensors: GraphTensors,
    split: Split,
    config: TrainConfig | None = None,
    *,
    show_progress: bool = False,
    callback: Callback | None = None,
    **overrides: Any,
) -> History:
    """Train ``model`` with BPR on ``split.train`` and keep the weights best on ``split.val``.

    The loss is ``BPR + reg * (|x0_u|^2 + |x0_i|^2 + |x0_j|^2) / 2`` averaged over the batch
    (the LightGCN paper's regulariser on the initial embeddings of
    :class:`~kgrec.gnn.models.model.Embeddings`). Each step re-runs the full propagation (graph
    models) on the batch's behalf; an epoch has at most ``max_steps`` steps
    (:meth:`TrainConfig.batch_size_for`). Runs repeat for one ``seed`` up to float summation order
    across threads (the model's initialisation happened at construction: seed before
    building it).

    Args:
        model: any registered model; it is moved to ``config.device``.
        tensors, split: the data and its split (validation may be empty: no early stopping).
        config: the settings; default :meth:`TrainConfig.for_model` of the model's class.
        show_progress: a bar on stderr counting training interactions (interactions/s),
            with the epoch, loss and validation metric.
        callback: ``callback(epoch, loss, val_metric)`` after each epoch.
        overrides: fields of :class:`TrainConfig` replacing those of ``config``
            (``fit(model, tensors, split, epochs=5, lr=1e-3)``).

    A :attr:`~kgrec.gnn.models.model.EmbeddingModel.closed_form` model is fitted once by its
    ``solve`` (no epochs; the history records its validation metric and time).

    With ``nproc`` > 1 the steps run in that many processes
    (:func:`kgrec.gnn.training.distributed.fit_parallel`); inside a process group (``torchrun``,
    :func:`kgrec.gnn.training.distributed.init_from_env`) this process trains on its shard of each
    batch and rank 0's validation metric decides for all.

    Returns:
        A :class:`History`; the model holds the best validation weights, in eval mode.

    Raises:
        InvalidParameter: an override is not a field of :class:`TrainConfig`, or impossible.
    """
    import torch
    from tqdm.auto import tqdm

    from kgrec.gnn.training import distributed

    cfg = (config or TrainConfig.for_model(type(model))).replace(**overrides)
    dev = torch.device(resolve_device(cfg.device))
    group = distributed.current(dev)
    if cfg.nproc > 1 and group is None and not model.closed_form:
        return distributed.fit_parallel(
            model, tensors, split, cfg, show_progress=show_progress, callback=callback
        )
    seed_everything(cfg.seed)
    model.to(dev)
    if model.closed_form:
        return _solve(model, tensors, split, cfg.k, dev)
    run = _GradientRun(model, tensors, split, cfg, dev, group)
    history = History(batch_size=run.batch_size)
    has_val = len(split.val) > 0
    start = time.perf_counter()
    bar = tqdm(
        total=cfg.epochs * run.num_train,
        disable=not show_progress,
        leave=False,
        desc=type(model).__name__,
        unit="interaction",
        unit_scale=True,
    )
    heap = retained_heap() if dev.type == "cpu" else contextlib.nullcontext(False)
    with heap:  # the steps' large temporaries reuse freed memory (kgrec.core.memory)
        for epoch in range(cfg.epochs):
            loss, seconds = run.train_epoch(bar.update)
            history.epoch_seconds.append(seconds)
            history.loss.append(loss)
            val = None
            if has_val and (epoch + 1) % cfg.eval_every == 0:
                val = run.validate(epoch, history)
            history.val_metric.append(val)
            bar.set_postfix(
                epoch=epoch + 1, loss=f"{loss:.4f}", val=f"{val:.4f}" if val is not None else "-"
            )
            log.debug("epoch %d loss %.4f val %s", epoch, loss, val)
            if callback is not None:
                callback(epoch, loss, val)
            if has_val and run.bad_rounds >= cfg.patience:
                history.stopped_early = True
                break
    bar.close()
    if run.best_state is not None:
        model.load_state_dict(run.best_state)
    elif not has_val:
        history.best_epoch = history.epochs - 1
    model.eval()
    history.train_seconds = time.perf_counter() - start
    log.info(
        "trained %s: %d epochs, best val recall@%d %.4f at epoch %d, %.1fs",
        model,
        history.epochs,
        cfg.k,
        history.best_val,
        history.best_epoch,
        history.train_seconds,
    )
    return history


class _GradientRun:
    """The state :func:`fit` carries from epoch to epoch of a gradient model: the training
    interactions on the device, the seeded generator of batches and negatives, the optimiser,
    and the best validation weights so far. :meth:`train_epoch` is the epoch step,
    :meth:`validate` the validation step.

    In a process group (``group``) each process trains on its shard of every batch and rank
    0's validation metric decides for all.
    """

    def __init__(
        self,
        model: EmbeddingModel,
        tensors: GraphTensors,
        split: Split,
        cfg: TrainConfig,
        dev: torch.device,
        group: Group | None,
    ) -> None:
        import torch

        from kgrec.gnn.training.sampling import NegativeSampler

        self.model, self.tensors, self.split, self.cfg = model, tensors, split, cfg
        self.dev, self.group = dev, group
        self.net = model if group is None else group.wrap(model)
        self.gen = torch.Generator(device=dev)
        self.gen.manual_seed(cfg.seed)
        self.train_edges = tensors.edge_index[:, split.train].to(dev)
        self.num_train = int(self.train_edges.size(1))
        self.batch_size = cfg.batch_size_for(self.num_train)
        self.sampler = NegativeSampler(self.train_edges, tensors.num_items, generator=self.gen)
        # fused: one pass over each parameter and its moments a step, not one per operation
        self.optim = torch.optim.Adam(
            model.parameters(), lr=cfg.lr, fused=dev.type in ("cpu", "cuda")
        )
        self.use_amp = cfg.amp and dev.type == "cuda"
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.use_amp)
        self.best_state: dict[str, Any] | None = None
        self.bad_rounds = 0  # validations since the best one

    def train_epoch(self, on_batch: Callable[[int], object]) -> tuple[float, float]:
        """One pass over the training interactions in shuffled batches, one optimiser step
        each; ``on_batch(batch length)`` after each step.

        Returns:
            The mean batch loss (over every process of a group) and the epoch's seconds.
        """
        import torch

        from kgrec.gnn.training.sampling import iterate_batches

        group, dev, edges = self.group, self.dev, self.train_edges
        self.model.train()
        t0 = time.perf_counter()
        total, steps = 0.0, 0
        for batch in iterate_batches(self.num_train, self.batch_size, dev, self.gen):
            users, pos = edges[0, batch], edges[1, batch]
            neg = self.sampler.sample(users)  # the whole batch's: every process draws the same
            denominator = None
            if group is not None:
                users, pos, neg = group.shard(users, pos, neg)
                denominator = len(batch) / group.world_size
            with torch.autocast(device_type=dev.type, enabled=self.use_amp):
                loss = batch_loss(self.net(), users, pos, neg, self.cfg.reg, denominator)
            self.optim.zero_grad(set_to_none=True)
            self.scaler.scale(loss).backward()
            self.scaler.step(self.optim)
            self.scaler.update()
            total += float(loss.detach())
            steps += 1
            on_batch(len(batch))
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)
        seconds = time.perf_counter() - t0
        return (total if group is None else group.mean(total)) / max(steps, 1), seconds

    def validate(self, epoch: int, history: History) -> float:
        """Validation Recall@k after ``epoch`` (rank 0's in a group); a new best is recorded
        in ``history`` and its weights kept, otherwise :attr:`bad_rounds` grows."""
        from kgrec.gnn.training.evaluate import evaluate

        k, group, split = self.cfg.k, self.group, self.split
        self.model.eval()
        val = 0.0
        if group is None or group.rank == 0:
            metrics = evaluate(
                self.model,
                self.tensors,
                split.train,
                split.val,
                ks=(k,),
                device=self.dev,
                extras=False,
            )
            val = metrics[f"recall@{k}"]
        if group is not None:
            val = group.broadcast(val)
        if val > history.best_val:
            history.best_val, history.best_epoch, self.bad_rounds = val, epoch, 0
            self.best_state = copy.deepcopy(self.model.state_dict())
        else:
            self.bad_rounds += 1
        return val


def _solve(
    model: EmbeddingModel, tensors: GraphTensors, split: Split, k: int, dev: torch.device
) -> History:
    """Fit a closed-form model on ``split.train``; validation Recall@k as its best value."""
    from kgrec.gnn.training.evaluate import evaluate

    history = History()
    start = time.perf_counter()
    model.solve(tensors, split.train, split.val)
    model.eval()
    history.train_seconds = time.perf_counter() - start
    if len(split.val):
        metrics = evaluate(
            model, tensors, split.train, split.val, ks=(k,), device=dev, extras=False
        )
        history.best_val = metrics[f"recall@{k}"]
    log.info(
        "solved %s in %.1fs, val recall@%d %.4f", model, history.train_seconds, k, history.best_val
    )
    return history
