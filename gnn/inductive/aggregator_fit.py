"""The training job's cold-user step: fitting a
:class:`~kgrec.gnn.inductive.aggregator.HistoryAggregator` on held-out users and deciding
whether it is served (:func:`fit_aggregator`, run through the model's post-fit hook
:meth:`~kgrec.gnn.models.model.EmbeddingModel.after_fit` by :func:`cold_user_step`).

For a closed-form model with history vectors (``ease``), :func:`fit_aggregator`:

1. holds out a random ``val_share`` (20%, at most :data:`MAX_VAL_USERS`) of the users
   (:func:`cold_validation_users`,
   seeded by the job's seed) as cold validation users: each is known by their first
   ``n = 1..max_n`` training interactions in time order (the support), the rest of their
   training interactions are to be found (the query;
   :func:`first_items`);
2. fits a second model of the same configuration without them (the *decision model*), so
   that they are as new to it as a cold user is to the served model;
3. fits the aggregator on the decision model's factors and the other users' time-ordered
   training histories (:func:`user_sequences`), once per
   learning rate in ``lrs``, each fit keeping its best epoch on the validation users (mean
   Recall@20 over ``n``; epoch 0 is the start, the model's own history vector without ratings);
4. decides: the aggregator is served only when the best of those fits beats both its start
   and the history vector served without it (``history_vector``, ratings included) on the
   decision model;
5. when it is served, fits it again with the chosen learning rate and epochs on the served
   model's factors and every user's training history (the validation users included), as
   the job refits the model itself on all training data.

Everything it measured goes to the version's metrics under ``aggregator/``
(:data:`REPORT_KEYS`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from kgrec.gnn.inductive.aggregator import MAX_N, HistoryAggregator, model_factors
from kgrec.gnn.inductive.tasks import first_items, ranking_metrics, user_sequences

if TYPE_CHECKING:
    from kgrec.gnn.data import GraphTensors
    from kgrec.gnn.models.model import EmbeddingModel

log = logging.getLogger(__name__)


#: Epochs per fit (``benchmarks/cold_users.py``: 30).
EPOCHS = 30
#: Learning rates tried, the best on validation kept (``benchmarks/cold_users.py``).
LRS = (0.003, 0.01)
#: Share of users held out as cold validation users ...
VAL_SHARE = 0.2
#: ... and at most this many of them (their Recall@20 is measured every epoch).
MAX_VAL_USERS = 2000
#: Tasks an epoch at most (each ranks the whole catalogue, so this bounds an epoch at
#: about ``MAX_TASKS x items x d`` whatever the number of users; ml-latest-small has 600).
MAX_TASKS = 4096
#: Epochs without a new best validation Recall@20 before a fit stops.
PATIENCE = 6
#: What :attr:`AggregatorFit.report` holds (``metrics.json`` keys of a version).
REPORT_KEYS = (
    "aggregator/served",
    "aggregator/val_users",
    "aggregator/val_recall@20_history",
    "aggregator/val_recall@20_start",
    "aggregator/val_recall@20_best",
    "aggregator/lr",
    "aggregator/best_epoch",
    "aggregator/max_n",
    "aggregator/seconds",
)


@dataclass
class AggregatorFit:
    """What :func:`fit_aggregator` did.

    Attributes:
        aggregator: the aggregator to serve, fitted on the served model's factors, or None
            (it did not beat the history vector, or there were too few users to fit and
            validate it).
        report: ``aggregator/...`` figures (:data:`REPORT_KEYS`; only those measured):
            ``served`` 1 or 0, the validation users, validation Recall@20 of the decision
            model's served history vector, of the aggregator's start and of its best epoch,
            the chosen ``lr`` and epoch, ``max_n`` and the seconds it took.
        reason: one sentence saying what was decided and why.
    """

    aggregator: HistoryAggregator | None
    report: dict[str, float] = field(default_factory=dict)
    reason: str = ""


def cold_validation_users(
    users: np.ndarray, seed: int, share: float = VAL_SHARE, limit: int = MAX_VAL_USERS
) -> np.ndarray:
    """The ``share`` of ``users`` (distinct ids), at most ``limit``, held out as cold
    validation users, drawn by ``seed`` (sorted)."""
    perm = np.random.default_rng(seed).permutation(np.unique(users))
    return np.sort(perm[: min(int(round(share * len(perm))), limit)])


@dataclass
class _Histories:
    """Training interactions ``idx`` read per user: each user's positions in ``idx`` in time
    order, and the items, times and ratings of those positions."""

    by_user: dict[int, np.ndarray]
    items: np.ndarray
    ts: np.ndarray
    rating: np.ndarray

    @classmethod
    def of(cls, tensors: GraphTensors, idx: torch.Tensor) -> _Histories:
        edges = tensors.edge_index[:, idx]
        ts = tensors.ts[idx]
        by_user = user_sequences(torch.stack([edges[0], torch.arange(len(idx))]), ts)
        return cls(by_user, edges[1].numpy(), ts.numpy(), tensors.rating[idx].numpy())

    def sequences(self) -> dict[int, np.ndarray]:
        """Each user's items in time order."""
        return {u: self.items[e] for u, e in self.by_user.items()}


def fit_aggregator(
    model: EmbeddingModel,
    tensors: GraphTensors,
    train_idx: torch.Tensor,
    seed: int = 0,
    epochs: int = EPOCHS,
    lrs: Sequence[float] = LRS,
    max_n: int = MAX_N,
    val_share: float = VAL_SHARE,
    max_tasks: int = MAX_TASKS,
) -> AggregatorFit:
    """Choose, on users held out of a second fit, whether a :class:`HistoryAggregator`
    serves cold users better than ``model``'s history vector, and fit the one to serve on
    ``model``'s factors (module docstring).

    Args:
        model: a fitted closed-form history model (``closed_form``, ``history_vector``,
            ``history_factors``, ``item_factors``, ``solve``: ``ease``).
        train_idx: the interactions the model was fitted on.
        seed: the users held out, the decision model's factorisation, the tasks sampled.
        max_tasks: tasks an epoch at most (:data:`MAX_TASKS`): with at most
            :data:`MAX_VAL_USERS` validation users, the fit's cost grows with the catalogue
            (``items x d`` an epoch), not with the number of users.
    """
    t0 = time.perf_counter()
    report = {
        "aggregator/served": 0.0,
        "aggregator/max_n": float(max_n),
        "aggregator/val_users": 0.0,
    }

    def finish(aggregator: HistoryAggregator | None, reason: str) -> AggregatorFit:
        report["aggregator/seconds"] = time.perf_counter() - t0
        return AggregatorFit(aggregator, report, reason)

    idx = train_idx.cpu()
    users_of = tensors.edge_index[0, idx].numpy()
    val_users = cold_validation_users(users_of, seed, val_share)
    kept = torch.from_numpy(~np.isin(users_of, val_users))
    report["aggregator/val_users"] = float(len(val_users))
    keep_idx = idx[kept]
    seen = _Histories.of(tensors, keep_idx)
    val = _Histories.of(tensors, idx[~kept])
    tasks = [first_items(val.by_user, val_users.tolist(), n) for n in range(1, max_n + 1)]
    tasks = [(s, q) for s, q in tasks if s]
    if not tasks or not any(len(s) > max_n for s in seen.by_user.values()):
        return finish(
            None,
            f"too few users with more than {max_n} interactions to fit and "
            "validate the cold-user aggregator; serving the history vector",
        )
    if not model.closed_form:
        return finish(
            None,
            f"{type(model).__name__} has no closed-form fit to hold "
            "validation users out of; serving the history vector",
        )

    log.info(
        "cold-user aggregator: solving %s again without its %d validation users",
        type(model).__name__,
        len(val_users),
    )
    decision = _fit_without(model, tensors, keep_idx, seed)
    history, item_factors = model_factors(decision)
    supports = [[val.items[e] for e in s] for s, _ in tasks]
    queries = [[val.items[e] for e in q] for _, q in tasks]

    def mean_recall(vectors: Sequence[torch.Tensor | np.ndarray]) -> float:
        per_n = zip(vectors, supports, queries, strict=True)
        return float(
            np.mean(
                [ranking_metrics(v, item_factors, s, q)["recall@20"].mean() for v, s, q in per_n]
            )
        )

    def history_vector(e: np.ndarray) -> np.ndarray:
        got = decision.history_vector(val.items[e], val.ts[e], val.rating[e])
        if got is None:
            raise ValueError(f"{type(decision).__name__} has no history vectors")
        return got[0]

    baseline = mean_recall([np.stack([history_vector(e) for e in s]) for s, _ in tasks])
    decay = float(getattr(model, "decay", 1.0))
    warm = seen.sequences()
    tried = []
    for lr in lrs:
        agg = HistoryAggregator(history, item_factors, _popularity(seen, tensors), max_n, decay)
        trace = agg.fit(
            warm,
            epochs=epochs,
            lr=lr,
            seed=seed,
            validate=lambda a: mean_recall([a.user_vectors(s) for s in supports]),
            max_tasks=max_tasks,
            patience=PATIENCE,
        )
        log.info(
            "cold-user aggregator, lr %g: best validation Recall@20 %.4f at epoch %d "
            "of %d (%.1f s so far)",
            lr,
            max(trace),
            int(np.argmax(trace)),
            len(trace) - 1,
            time.perf_counter() - t0,
        )
        tried.append((max(trace), int(np.argmax(trace)), lr, trace[0]))
    best, epoch, lr, start = max(tried, key=lambda t: t[0])
    served = best > start and best > baseline
    report.update(
        {
            "aggregator/served": float(served),
            "aggregator/val_recall@20_history": baseline,
            "aggregator/val_recall@20_start": start,
            "aggregator/val_recall@20_best": best,
            "aggregator/lr": float(lr),
            "aggregator/best_epoch": float(epoch),
        }
    )
    figures = (
        f"validation Recall@20 over n=1..{max_n} on {len(val_users)} users held out "
        f"of a second fit: best {best:.4f} (lr {lr:g}, epoch {epoch}) vs start "
        f"{start:.4f}, served history vector {baseline:.4f}"
    )
    if not served:
        return finish(None, f"not serving the cold-user aggregator (no gain); {figures}")
    every = _Histories.of(tensors, idx)
    agg = HistoryAggregator(*model_factors(model), _popularity(every, tensors), max_n, decay)
    agg.fit(every.sequences(), epochs=epoch, lr=lr, seed=seed, max_tasks=max_tasks)
    refit = f"refitted on every user for {epoch} epoch{'s' * (epoch != 1)}"
    return finish(
        agg, f"serving the cold-user aggregator to users with <= {max_n} items, {refit}; {figures}"
    )


def _fit_without(
    model: EmbeddingModel, tensors: GraphTensors, idx: torch.Tensor, seed: int
) -> EmbeddingModel:
    """A model of ``model``'s configuration solved on the interactions ``idx`` (seeded by
    ``seed``, leaving torch's global generator as it was)."""
    decision = type(model).from_config(model.config())
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        decision.solve(tensors, idx)
    return decision


def _popularity(histories: _Histories, tensors: GraphTensors) -> torch.Tensor:
    """Training interactions per item."""
    return torch.bincount(torch.from_numpy(histories.items), minlength=tensors.num_items)


def cold_user_step(
    model: EmbeddingModel, tensors: GraphTensors, train_idx: torch.Tensor, seed: int, epochs: int
) -> tuple[HistoryAggregator | None, dict[str, float], dict[str, Any]] | None:
    """The training job's cold-user step for a history model (its
    :meth:`~kgrec.gnn.models.model.EmbeddingModel.after_fit`): :func:`fit_aggregator` with
    its log lines. Returns the aggregator to serve (None: none), the figures for the
    version's metrics (``aggregator/...``) and the settings for its config
    (``aggregator``); None for ``epochs`` 0."""
    if epochs <= 0:
        return None
    log.info(
        "fitting the cold-user aggregator (users with <= %d items; %d epochs, lr of %s)",
        MAX_N,
        epochs,
        ", ".join(f"{lr:g}" for lr in LRS),
    )
    cold = fit_aggregator(model, tensors, train_idx, seed=seed, epochs=epochs)
    log.info("%s (%.1f s)", cold.reason, cold.report["aggregator/seconds"])
    settings = {
        "epochs": epochs,
        "lrs": list(LRS),
        "max_n": MAX_N,
        "val_share": VAL_SHARE,
        "decision": cold.reason,
    }
    return cold.aggregator, cold.report, {"aggregator": settings}
