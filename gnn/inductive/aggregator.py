r"""The cold-user aggregator: a learned user vector from a few items
(:class:`HistoryAggregator`), on a history model's factors (:func:`model_factors`). The tasks
it learns from and the ranking metrics on them are in :mod:`kgrec.gnn.inductive.tasks`; the
training job's step that fits one and decides whether it is served, in
:mod:`kgrec.gnn.inductive.aggregator_fit`.

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
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn

from kgrec.gnn.inductive.foldin import FoldedNode
from kgrec.gnn.inductive.tasks import sample_tasks

if TYPE_CHECKING:
    from kgrec.gnn.models.model import History

#: Support sizes the aggregator is fitted and served for (users with at most this many items).
MAX_N = 5


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


def _padded(lists: Sequence[np.ndarray], device: torch.device) -> torch.Tensor:
    """``[m, max_len]`` int64, right-padded with -1."""
    width = max((len(x) for x in lists), default=0)
    out = np.full((len(lists), max(width, 1)), -1, dtype=np.int64)
    for row, x in enumerate(lists):
        out[row, : len(x)] = x
    return torch.from_numpy(out).to(device)


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
