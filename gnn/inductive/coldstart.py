r"""Users with a handful of interactions: tasks that imitate them (:func:`user_sequences`,
:func:`first_items`, :func:`sample_tasks`), a learned aggregator of their few items
(:class:`HistoryAggregator`), the ranking metrics on them (:func:`ranking_metrics`) and the
training job's step that fits one for a history model and decides whether it is served
(:func:`fit_aggregator`, run through the model's post-fit hook
:meth:`~kgrec.gnn.models.model.EmbeddingModel.after_fit`).

A cold user is one the model was not fitted on, known by their first ``n`` interactions
(the *support*); what they pick afterwards is the *query*. The aggregator is a meta-learned
initialisation of the user vector in a trained model's space (in the spirit of MeLU, Lee et
al. KDD 2019, and MAMO, Dong et al. KDD 2020, without an inner gradient loop):

.. math::
    e_u = u_0 + s_{n}\sum_{v \in S(u)} \alpha_v H_v,\qquad
    \alpha = \mathrm{softmax}_v\big(p_{r_v} + a \log(1 + c_v)\big),\qquad
    \hat y_{ui} = e_u^\top Q_i

with :math:`H, Q` the model's history-side and item-side factors (EASE's :math:`P` and
:math:`Q`; an embedding model's item vectors for both), :math:`r_v` the interaction's
position from the end of the support, :math:`c_v` the item's training count,
:math:`n = |S(u)|`. The prior :math:`u_0`, the position logits :math:`p`, the popularity
weight :math:`a` and the per-``n`` scales :math:`s_n` are learned on warm users' histories
cut into support / query tasks, by the softmax likelihood of the query items over the
whole catalogue (support items masked). With one item the model's own history vector ranks
by that item's row alone; the prior is what a few items are not yet able to say.

The job's step. For a closed-form model with history vectors (``ease``), :func:`fit_aggregator`:

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
from torch import nn

from kgrec.gnn.inductive.foldin import FoldedNode

if TYPE_CHECKING:
    from kgrec.gnn.data import GraphTensors
    from kgrec.gnn.models.model import EmbeddingModel, History

log = logging.getLogger(__name__)

#: Support sizes the aggregator is fitted and served for (users with at most this many items).
MAX_N = 5
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


def user_sequences(
    edges: torch.Tensor | np.ndarray, ts: torch.Tensor | np.ndarray
) -> dict[int, np.ndarray]:
    """Each user's items in time order (ties keep the given order).

    Shapes:
        edges: ``[2, E]`` ``(user, item)``; ts: ``[E]``.
    """
    e = np.asarray(edges.cpu() if isinstance(edges, torch.Tensor) else edges)
    t = np.asarray(ts.cpu() if isinstance(ts, torch.Tensor) else ts)
    order = np.lexsort((np.arange(e.shape[1]), t, e[0]))
    users, items = e[0][order], e[1][order]
    if not len(users):
        return {}
    bounds = np.r_[np.flatnonzero(np.r_[True, users[1:] != users[:-1]]), len(users)]
    return {int(users[a]): items[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True)}


def first_items(
    sequences: dict[int, np.ndarray], users: Sequence[int], n: int
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Support (the first ``n`` items) and query (the rest) of each of ``users``; users with
    no more than ``n`` items are left out of both lists.

    Returns:
        ``(support, query)``, aligned.
    """
    kept = [sequences[u] for u in users if len(sequences.get(u, ())) > n]
    return [s[:n] for s in kept], [s[n:] for s in kept]


def sample_tasks(
    sequences: dict[int, np.ndarray],
    rng: np.random.Generator,
    max_n: int = 5,
    first_share: float = 0.5,
    max_tasks: int | None = None,
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """One support / query task per user with more than ``max_n`` items: ``n`` uniform in
    ``1..max_n``; the support starts at the user's first item with probability
    ``first_share`` (where cold users start), else at a uniform position; the query is
    everything after it. With more such users than ``max_tasks``, a uniform sample of
    ``max_tasks`` of them (drawn first, so smaller inputs draw exactly as without a cap)."""
    eligible = [seq for seq in sequences.values() if len(seq) > max_n]
    if max_tasks is not None and len(eligible) > max_tasks:
        picked = np.sort(rng.choice(len(eligible), size=max_tasks, replace=False))
        eligible = [eligible[i] for i in picked]
    support, query = [], []
    for seq in eligible:
        n = int(rng.integers(1, max_n + 1))
        start = 0 if rng.random() < first_share else int(rng.integers(0, len(seq) - n))
        support.append(seq[start : start + n])
        query.append(seq[start + n :])
    return support, query


def model_factors(model: nn.Module) -> tuple[torch.Tensor, torch.Tensor]:
    """A history model's :math:`H` and :math:`Q` (``history_factors``, ``item_factors``;
    ``ease``), detached, on the CPU.

    Raises:
        ValueError: the model has no such factors.
    """
    found = []
    for name in ("history_factors", "item_factors"):
        value = getattr(model, name, None)
        if not isinstance(value, torch.Tensor):
            raise ValueError(f"{type(model).__name__} has no {name} for a history aggregator")
        found.append(value.detach().cpu())
    return found[0], found[1]


#: Scores held at once by :func:`ranking_metrics` (users x items, float64: 128 MiB).
SCORE_CHUNK_ELEMENTS = 1 << 24


def _padded(lists: Sequence[np.ndarray], device: torch.device) -> torch.Tensor:
    """``[m, max_len]`` int64, right-padded with -1."""
    width = max((len(x) for x in lists), default=0)
    out = np.full((len(lists), max(width, 1)), -1, dtype=np.int64)
    for row, x in enumerate(lists):
        out[row, : len(x)] = x
    return torch.from_numpy(out).to(device)


@torch.no_grad()
def ranking_metrics(
    user_vectors: torch.Tensor | np.ndarray,
    item_vectors: torch.Tensor | np.ndarray,
    support: Sequence[np.ndarray],
    query: Sequence[np.ndarray],
    k: int = 20,
) -> dict[str, np.ndarray]:
    """Recall@k and NDCG@k per user, ranking every item with the support masked
    (definitions of :mod:`kgrec.gnn.training.evaluate`).

    Shapes:
        user_vectors: ``[m, d]``; item_vectors: ``[I, d]``; output values: ``[m]``.
    """
    users = torch.as_tensor(np.asarray(user_vectors), dtype=torch.float64)
    items = torch.as_tensor(np.asarray(item_vectors), dtype=torch.float64)
    rows = max(1, SCORE_CHUNK_ELEMENTS // max(1, items.size(0)))
    parts = [
        ranking_of_scores(
            users[a : a + rows] @ items.T, support[a : a + rows], query[a : a + rows], k
        )
        for a in range(0, users.size(0), rows)
    ]
    if not parts:
        return ranking_of_scores(users @ items.T, support, query, k)
    return {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}


@torch.no_grad()
def ranking_of_scores(
    scores: torch.Tensor | np.ndarray,
    support: Sequence[np.ndarray],
    query: Sequence[np.ndarray],
    k: int = 20,
) -> dict[str, np.ndarray]:
    """:func:`ranking_metrics` from scores ``[m, I]`` directly."""
    s = torch.as_tensor(np.asarray(scores), dtype=torch.float64).clone()
    m, num_items = s.shape
    for row, items in enumerate(support):
        s[row, torch.as_tensor(items, dtype=torch.long)] = float("-inf")
    top = torch.topk(s, min(k, num_items), dim=1).indices.numpy()
    disc = 1.0 / np.log2(np.arange(2, k + 2))
    recall, ndcg = np.zeros(m), np.zeros(m)
    for row, truth in enumerate(query):
        hit = np.isin(top[row], truth)
        recall[row] = hit.sum() / len(truth)
        ndcg[row] = (hit * disc[: len(hit)]).sum() / disc[: min(len(truth), k)].sum()
    return {f"recall@{k}": recall, f"ndcg@{k}": ndcg}


class HistoryAggregator(nn.Module):
    r"""A learned user vector from a few items (the module docstring's formula).

    Args:
        history_factors: :math:`H`, the vector each history item contributes.
        item_factors: :math:`Q`, the items' scoring vectors.
        popularity: :math:`c`, training interactions per item.
        max_n: support sizes at and above this share one scale and position logit.
        decay: the start is the model's own history vector :math:`\sum_v \gamma^{r_v} H_v`
            (no prior, position logits :math:`r \log\gamma`, scales
            :math:`\sum_{r<n}\gamma^r`), so training moves away from it only as far as the
            tasks ask (and validation keeps).

    Shapes:
        history_factors, item_factors: ``[I, d]``; popularity: ``[I]``.
        forward: ``[m, L]`` item indices (-1 pads) -> ``[m, d]``.
    """

    def __init__(
        self,
        history_factors: torch.Tensor,
        item_factors: torch.Tensor,
        popularity: torch.Tensor,
        max_n: int = 5,
        decay: float = 1.0,
    ) -> None:
        super().__init__()
        self.max_n = int(max_n)
        self.history_factors: torch.Tensor
        self.item_factors: torch.Tensor
        self.log_popularity: torch.Tensor
        self.register_buffer("history_factors", history_factors.detach().float().clone())
        self.register_buffer("item_factors", item_factors.detach().float().clone())
        self.register_buffer("log_popularity", torch.log1p(popularity.detach().float()))
        dim = history_factors.size(1)
        r = torch.arange(self.max_n, dtype=torch.float64)
        weights = torch.tensor(float(decay), dtype=torch.float64) ** r
        self.prior = nn.Parameter(torch.zeros(dim))
        self.prior_scale = nn.Parameter(torch.ones(self.max_n))
        self.position_logit = nn.Parameter(weights.log().float())
        self.popularity_weight = nn.Parameter(torch.zeros(()))
        self.log_scale = nn.Parameter(weights.cumsum(0).log().float())

    def forward(self, items: torch.Tensor) -> torch.Tensor:
        valid = items >= 0
        idx = items.clamp(min=0)
        n = valid.sum(1)
        # position from the end of the support: the last item is 0
        pos = (n[:, None] - 1 - torch.arange(items.size(1), device=items.device)).clamp(
            0, self.max_n - 1
        )
        logit = self.position_logit[pos] + self.popularity_weight * self.log_popularity[idx]
        alpha = torch.softmax(logit.masked_fill(~valid, float("-inf")), dim=1)
        alpha = torch.nan_to_num(alpha) * valid  # an empty support: the prior alone
        size = (n - 1).clamp(0, self.max_n - 1)
        agg = torch.einsum("ml,mld->md", alpha, self.history_factors[idx])
        return self.prior_scale[size, None] * self.prior + self.log_scale[size, None].exp() * agg

    @torch.no_grad()
    def parts(self, items: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        r"""The two parts of :math:`e_u` for one history of local items in time order: the
        user's own term :math:`s'_n u_0` (``prior_scale[n] * prior``) and each item's weight
        :math:`w_v = s_n \alpha_v`, so that ``own + weights @ H`` is :math:`e_u` exactly
        (float64; an item's part of a score is :math:`w_v H_v^\top Q_i`).

        Shapes:
            items: ``[n]``; returns ``[d]`` and ``[n]``.
        """
        items = np.asarray(items, np.int64)
        n = len(items)
        size = min(max(n - 1, 0), self.max_n - 1)
        own = (self.prior_scale.double()[size] * self.prior.double()).cpu().numpy()
        if n == 0:
            return own, np.zeros(0)
        pos = torch.arange(n - 1, -1, -1).clamp(max=self.max_n - 1)
        idx = torch.as_tensor(items, device=self.prior.device)
        logit = (
            self.position_logit.double()[pos.to(self.prior.device)]
            + self.popularity_weight.double() * self.log_popularity.double()[idx]
        )
        alpha = torch.softmax(logit, dim=0)
        weights = (self.log_scale.double()[size].exp() * alpha).cpu().numpy()
        return own, weights

    @torch.no_grad()
    def exact_vector(self, items: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """:math:`e_u` in float64 from :meth:`parts`: ``(vector, own, weights)``."""
        own, weights = self.parts(items)
        factors = self.history_factors.double().cpu().numpy()
        return own + weights @ factors[np.asarray(items, np.int64)], own, weights

    def fold_in_user(self, history: History, item_offset: int) -> FoldedNode | None:
        """A user with 1 to :attr:`max_n` items the model knows (known to the model or not,
        recorded interactions or not): :meth:`exact_vector` over those items in time order
        (ties keep the history's order; ratings are not used); None for any other history.

        Returns:
            A one-layer node whose neighbours are the items (global node indices: local
            index + ``item_offset``) and whose weights are :math:`s_n \\alpha_v`. The prior
            term belongs to no item: an explanation shows it as the user's own part.
        """
        known = history.trained
        if not 0 < int(known.sum()) <= self.max_n:
            return None
        ts = history.ts[known]
        items = history.items[known][np.lexsort((np.arange(len(ts)), ts))]
        vector, _, weights = self.exact_vector(items)
        return FoldedNode(vector[None], items + item_offset, weights)

    def learned_state(self) -> dict[str, torch.Tensor]:
        """What :meth:`fit` learned, plus the popularity it weighs by: the state without the
        model's factors (which the model's own version holds), on the CPU."""
        return {
            k: v.detach().cpu().clone()
            for k, v in self.state_dict().items()
            if k not in ("history_factors", "item_factors")
        }

    @classmethod
    def from_learned(
        cls,
        history_factors: torch.Tensor,
        item_factors: torch.Tensor,
        state: dict[str, torch.Tensor],
    ) -> HistoryAggregator:
        """The aggregator of :meth:`learned_state` over the model's factors again.

        Raises:
            ValueError: the state does not fit the factors (sizes, missing entries).
        """
        max_n = int(state["prior_scale"].numel())
        popularity = torch.expm1(state["log_popularity"].float())
        agg = cls(history_factors, item_factors, popularity, max_n)
        full = {**state, "history_factors": agg.history_factors, "item_factors": agg.item_factors}
        try:
            agg.load_state_dict(full)
        except RuntimeError as e:
            raise ValueError(str(e)) from None
        return agg

    @torch.no_grad()
    def user_vector(self, items: np.ndarray) -> np.ndarray:
        """:math:`e_u` for one history of local items in time order (``[d]``)."""
        dev = self.prior.device
        return self(_padded([np.asarray(items, np.int64)], dev))[0].cpu().numpy()

    def loss(self, support: torch.Tensor, query: torch.Tensor) -> torch.Tensor:
        """Mean over tasks of the mean negative log softmax of the query items over every
        item, the support masked (both ``[m, L]`` with -1 pads)."""
        scores = self(support) @ self.item_factors.T
        rows, cols = (support >= 0).nonzero(as_tuple=True)
        scores = scores.index_put((rows, support[rows, cols]), scores.new_tensor(float("-inf")))
        logp = torch.log_softmax(scores, dim=1)
        valid = query >= 0
        picked = torch.where(valid, logp.gather(1, query.clamp(min=0)), 0.0)
        return -(picked.sum(1) / valid.sum(1).clamp(min=1)).mean()

    def fit(
        self,
        sequences: dict[int, np.ndarray],
        epochs: int = 30,
        lr: float = 0.05,
        batch_size: int = 256,
        seed: int = 0,
        validate: Any = None,
        max_tasks: int | None = None,
        patience: int | None = None,
    ) -> list[float]:
        """Adam on :func:`sample_tasks` of ``sequences`` (fresh tasks every epoch).

        Each task's loss ranks the whole catalogue, so an epoch costs about ``tasks x
        items x d``; ``max_tasks`` bounds the tasks of an epoch (a fresh sample of users
        each epoch) and with it the cost at any number of users.

        Args:
            sequences: warm users' items in time order (:func:`user_sequences`).
            validate: ``validate(self) -> float`` after each epoch (higher is better); the
                parameters of the best epoch are kept.
            max_tasks: at most this many tasks an epoch (None: one per eligible user).
            patience: with ``validate``, stop after this many epochs without a new best.

        Returns:
            The validation value of each epoch (the training loss without ``validate``).
        """
        rng = np.random.default_rng(seed)
        dev = self.prior.device
        optim = torch.optim.Adam(self.parameters(), lr=lr)
        trace: list[float] = []
        best, best_state = -np.inf, None
        if validate is not None:  # epoch 0: the start
            best = float(validate(self))
            best_state = {k: v.detach().clone() for k, v in self.state_dict().items()}
            trace.append(best)
        since_best = 0
        for _ in range(epochs):
            support, query = sample_tasks(sequences, rng, self.max_n, max_tasks=max_tasks)
            order = rng.permutation(len(support))
            total = 0.0
            for start in range(0, len(order), batch_size):
                rows = order[start : start + batch_size]
                loss = self.loss(
                    _padded([support[r] for r in rows], dev), _padded([query[r] for r in rows], dev)
                )
                optim.zero_grad()
                loss.backward()
                optim.step()
                total += float(loss.detach()) * len(rows)
            value = float(validate(self)) if validate is not None else -total / len(order)
            trace.append(value)
            if value > best:
                best, since_best = value, 0
                best_state = {k: v.detach().clone() for k, v in self.state_dict().items()}
            elif validate is not None and patience is not None:
                since_best += 1
                if since_best >= patience:
                    break
        if best_state is not None:
            self.load_state_dict(best_state)
        return trace

    @torch.no_grad()
    def user_vectors(self, support: Sequence[np.ndarray]) -> torch.Tensor:
        """:math:`e_u` of each support (``[m, d]``)."""
        return self(_padded(support, self.prior.device))

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.item_factors.size(0)}, {self.prior.numel()}, "
            f"max_n={self.max_n})"
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
