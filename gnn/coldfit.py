r"""The retraining job's cold-user step: a :class:`~kgrec.gnn.coldstart.HistoryAggregator`
fitted on a history model's factors, kept only where it beats the history vector served now.

For a model with ``history_users`` (``ease``), :func:`fit_aggregator`:

1. holds out a random ``val_share`` (20%) of the users (seeded by the job's seed) as cold
   validation users: each is known by their first ``n = 1..max_n`` training interactions in
   time order (the support), the rest of their training interactions are to be found (the
   query; :func:`~kgrec.gnn.coldstart.first_items`);
2. fits the aggregator on the other users' time-ordered training histories
   (:func:`~kgrec.gnn.coldstart.user_sequences`), once per learning rate in ``lrs``, each
   fit keeping its best epoch on the validation users (mean Recall@20 over ``n``; epoch 0
   is the start, the model's own history vector without ratings);
3. keeps the best of them only when its validation value beats both its start and the
   history vector served without it (``model.history_vector``, ratings included).

The validation users stay in the model's factors (the job fitted it on every user), so the
figures are a comparison of the two vectors on the same factors, not a held-out test; the
benchmark ``benchmarks/cold_users.py`` measures them on users no model saw.

Everything it measured goes to the version's metrics under ``aggregator/``
(:data:`REPORT_KEYS`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from kgrec.gnn.coldstart import (
    HistoryAggregator,
    first_items,
    model_factors,
    ranking_metrics,
    user_sequences,
)
from kgrec.gnn.data import GraphTensors
from kgrec.gnn.model import EmbeddingModel

log = logging.getLogger(__name__)

#: Support sizes the aggregator is fitted and served for (users with at most this many items).
MAX_N = 5
#: Epochs per fit (``benchmarks/cold_users.py``: 30).
EPOCHS = 30
#: Learning rates tried, the best on validation kept (``benchmarks/cold_users.py``).
LRS = (0.003, 0.01)
#: Share of users held out as cold validation users.
VAL_SHARE = 0.2
#: What :attr:`AggregatorFit.report` holds (``metrics.json`` keys of a version).
REPORT_KEYS = (
    "aggregator/served", "aggregator/val_users", "aggregator/val_recall@20_history",
    "aggregator/val_recall@20_start", "aggregator/val_recall@20_best", "aggregator/lr",
    "aggregator/best_epoch", "aggregator/max_n", "aggregator/seconds",
)  # fmt: skip


@dataclass
class AggregatorFit:
    """What :func:`fit_aggregator` did.

    Attributes:
        aggregator: the aggregator to serve, or None (it did not beat the history vector, or
            there were too few users to fit and validate it).
        report: ``aggregator/...`` figures (:data:`REPORT_KEYS`; only those measured):
            ``served`` 1 or 0, the validation users, validation Recall@20 of the served
            history vector, of the aggregator's start and of its best epoch, the chosen
            ``lr`` and epoch, ``max_n`` and the seconds it took.
        reason: one sentence saying what was decided and why.
    """

    aggregator: HistoryAggregator | None
    report: dict[str, float] = field(default_factory=dict)
    reason: str = ""


def fit_aggregator(
    model: EmbeddingModel,
    tensors: GraphTensors,
    train_idx: torch.Tensor,
    seed: int = 0,
    epochs: int = EPOCHS,
    lrs: Sequence[float] = LRS,
    max_n: int = MAX_N,
    val_share: float = VAL_SHARE,
) -> AggregatorFit:
    """Fit, validate and choose a :class:`HistoryAggregator` on ``model``'s factors (module
    docstring).

    Args:
        model: a fitted history model exposing ``history_factors``, ``item_factors`` and
            ``history_vector`` (``ease``).
        train_idx: the interactions the model was fitted on.
        seed: the users held out, the tasks sampled.
    """
    t0 = time.perf_counter()
    report = {"aggregator/served": 0.0, "aggregator/max_n": float(max_n),
              "aggregator/val_users": 0.0}  # fmt: skip
    idx = train_idx.cpu()
    edges = tensors.edge_index[:, idx]
    ts = tensors.ts[idx]
    # each user's training edges (positions in idx) in time order: items, times, ratings
    by_edge = user_sequences(torch.stack([edges[0], torch.arange(len(idx))]), ts)
    items_of = edges[1].numpy()
    rng = np.random.default_rng(seed)
    users = np.array(sorted(by_edge), dtype=np.int64)
    perm = rng.permutation(users)
    val_users = perm[: int(round(val_share * len(perm)))]
    held = set(val_users.tolist())
    warm = {u: items_of[e] for u, e in by_edge.items() if u not in held}
    val_edges = {u: by_edge[u] for u in val_users.tolist()}
    tasks = [first_items(val_edges, val_users.tolist(), n) for n in range(1, max_n + 1)]
    tasks = [(s, q) for s, q in tasks if s]
    report["aggregator/val_users"] = float(len(held))
    if not tasks or not any(len(s) > max_n for s in warm.values()):
        reason = (f"too few users with more than {max_n} interactions to fit and validate "
                  "the cold-user aggregator; serving the history vector")  # fmt: skip
        report["aggregator/seconds"] = time.perf_counter() - t0
        return AggregatorFit(None, report, reason)

    history, item_factors = model_factors(model)
    rating = tensors.rating[idx].numpy()
    ts_np = ts.numpy()
    supports = [[items_of[e] for e in s] for s, _ in tasks]
    queries = [[items_of[e] for e in q] for _, q in tasks]

    def served_vectors(support_edges: list[np.ndarray]) -> np.ndarray:
        return np.stack([model.history_vector(items_of[e], ts_np[e], rating[e])[0]
                         for e in support_edges])  # fmt: skip

    def mean_recall(vectors: Sequence[torch.Tensor | np.ndarray]) -> float:
        per_n = zip(vectors, supports, queries, strict=True)
        return float(np.mean([ranking_metrics(v, item_factors, s, q)["recall@20"].mean()
                              for v, s, q in per_n]))  # fmt: skip

    baseline = mean_recall([served_vectors(s) for s, _ in tasks])
    popularity = torch.bincount(edges[1], minlength=tensors.num_items)
    decay = float(getattr(model, "decay", 1.0))

    def validate(agg: HistoryAggregator) -> float:
        return mean_recall([agg.user_vectors(s) for s in supports])

    tried = []
    for lr in lrs:
        agg = HistoryAggregator(history, item_factors, popularity, max_n, decay=decay)
        trace = agg.fit(warm, epochs=epochs, lr=lr, seed=seed, validate=validate)
        tried.append((max(trace), int(np.argmax(trace)), lr, trace[0], agg))
    best, epoch, lr, start, agg = max(tried, key=lambda t: t[0])
    served = best > start and best > baseline
    report.update({
        "aggregator/served": float(served), "aggregator/val_recall@20_history": baseline,
        "aggregator/val_recall@20_start": start, "aggregator/val_recall@20_best": best,
        "aggregator/lr": float(lr), "aggregator/best_epoch": float(epoch),
        "aggregator/seconds": time.perf_counter() - t0,
    })  # fmt: skip
    figures = (f"validation Recall@20 over n=1..{max_n} on {len(held)} held-out users: "
               f"best {best:.4f} (lr {lr:g}, epoch {epoch}) vs start {start:.4f}, served "
               f"history vector {baseline:.4f}")  # fmt: skip
    if served:
        reason = f"serving the cold-user aggregator to users with <= {max_n} items; {figures}"
    else:
        reason = f"not serving the cold-user aggregator (no gain); {figures}"
    return AggregatorFit(agg if served else None, report, reason)
