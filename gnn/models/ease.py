r"""EASE with a recency-weighted history, factored to embeddings (:class:`EASE`).

EASE (Steck, "Embarrassingly Shallow Autoencoders for Sparse Data", WWW 2019) learns the
item-item weights :math:`B` that minimise :math:`\|X - XB\|^2_F + \lambda\|B\|^2_F` under
:math:`\mathrm{diag}(B) = 0`, in closed form (:func:`ease_weights`). This model scores a
user's *recency-weighted* history (:mod:`kgrec.gnn.models.recency`) and keeps :math:`B` as a rank
:math:`d` factorisation :math:`B \approx PQ^\top` (the ``dense`` form: a truncated SVD of
:math:`B`; the ``lowrank`` form: from the top eigenpairs of :math:`X^\top X`, never an
``items x items`` matrix; the rank chosen on validation: :mod:`kgrec.gnn.models.ease_forms`),
so that it keeps the embedding contract of :class:`~kgrec.gnn.models.model.EmbeddingModel`:

.. math::
    e_u = \sum_{v \in N(u)} w_{uv} P_v,\qquad e_i = Q_i,\qquad
    \hat y_{ui} = e_u^\top e_i = \sum_{v \in N(u)} \underbrace{w_{uv}\, P_v^\top Q_i}_{C(v)},
    \qquad w_{uv} = \gamma^{r_{uv}}

where :math:`r_{uv}` counts the user's interactions after the one with :math:`v`. The score
splits exactly over the user's interactions (:meth:`path_scorer`), and a user's vector
follows the user's current history at once, without refitting (:meth:`user_vector`).

New items (:meth:`embed_items`): EASE has no weights for an item nobody chose, so the fit
also learns a ridge map from an item's features :math:`x_i` (its text vector and its tags,
one-hot scaled to unit norm) to its item-side factors over the items with training
interactions, :math:`W = \arg\min_W \|\bar X W - \bar Q\|^2_F + \alpha\|W\|^2_F`
(centred; :func:`ridge_map`), and places a new item at :math:`\hat Q_i = \bar q + (x_i -
\bar x) W`: near the trained items its text and tags resemble.

The fit and its cost live in :mod:`kgrec.gnn.models.ease_solve`, the cold-user aggregator
in :mod:`kgrec.gnn.models.ease_cold`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import torch

from kgrec.core.errors import InvalidParameter
from kgrec.gnn.inductive.foldin import FoldedNode
from kgrec.gnn.models.ease_cold import AGGREGATOR_FILE, ColdUserModel
from kgrec.gnn.models.ease_forms import FORMS, RANKS, Progress, candidate_ranks
from kgrec.gnn.models.ease_solve import (
    RESIDUAL_TOLERANCE,
    _checked_float32_inverse,
    binary_matrix,
    ease_weights,
    fit_cost,
    fit_item_map,
    item_features,
    ridge_map,
    solve,
)
from kgrec.gnn.models.model import Embeddings, History, embedded_items
from kgrec.gnn.models.recency import positions_from_end, rating_factors, recency_weights
from kgrec.gnn.models.registry import register

if TYPE_CHECKING:
    from kgrec.gnn.data import GraphTensors
    from kgrec.gnn.models.paths import PathScorer
    from kgrec.gnn.training.plan import FitCost, GraphSize

__all__ = [
    "AGGREGATOR_FILE",
    "EASE",
    "RESIDUAL_TOLERANCE",
    "_checked_float32_inverse",
    "binary_matrix",
    "ease_weights",
    "item_features",
    "ridge_map",
]


@register
class EASE(ColdUserModel):
    r"""EASE over a recency-weighted history, as rank-``d`` embeddings (module docstring).

    Fitted in closed form by :meth:`solve` (:attr:`closed_form`; :func:`kgrec.gnn.fit`
    calls it), the map that places new items from their text and tags with it
    (:meth:`place_items`, :meth:`embed_items`). A user's vector is a function of their
    history (:meth:`history_vector`, :meth:`fold_in_user`). The form (``dense`` or ``lowrank``,
    :mod:`kgrec.gnn.models.ease_forms`) follows the memory the fit would need; the rank is chosen
    on validation Recall@20 among ``ranks`` (:meth:`solve`). Defaults chosen on
    ml-latest-small validation Recall@20 (temporal split):
    ``lam`` 500 of (200, 500, 1000), ``decay`` 0.8 of (0.7, 0.8, 0.9, 1.0),
    ``rating_weight`` linear (a tie in Recall@20 within the randomised SVD's noise, and
    explanations that rest on well-rated interactions 71% of the time against 57%;
    ``benchmarks/rating_weights.py``).

    Args:
        num_users, num_items, num_tags, num_entities: sizes (tags and entities take no part
            in the score; they keep the node numbering of the other graph models).
        lam: EASE's L2 weight.
        decay: history weight :math:`\gamma` per later interaction (1: all weigh 1).
        rank: dimensions of the factorisation (at most ``num_items``; ``num_items`` with
            ``dense``: :math:`B` itself). None: chosen by :meth:`solve` among ``ranks``.
        item_alpha: the ridge weight :math:`\alpha` of the new-item map (10 of 1, 10, 100 on
            the validation items of benchmarks/cold_items.py, all 3 seeds).
        rating_weight: how ratings scale the history weights
            (:func:`~kgrec.gnn.models.recency.rating_factors`): ``linear`` or ``none``.
        rating_scale: the highest rating (set from the data by :meth:`solve`).
        form: ``dense``, ``lowrank`` or ``auto`` (:func:`~kgrec.gnn.models.ease_forms.choose_form`
            at :meth:`solve`; the config then holds the form used).
        ranks: the candidate ranks (default :data:`~kgrec.gnn.models.ease_forms.RANKS`).
        memory_budget: bytes a fit may plan to use (None: a share of the memory available
            when it starts, :func:`~kgrec.gnn.models.ease_forms.memory_budget`).

    Shapes:
        forward: ``() -> Embeddings(users [U, d], items [I, d], users, items)``.
        score_users: ``[n] -> [n, I]``.
    """

    name = "ease"
    closed_form: ClassVar[bool] = True

    def __init__(
        self,
        num_users: int,
        num_items: int,
        num_tags: int = 0,
        num_entities: int = 0,
        lam: float = 500.0,
        decay: float = 0.8,
        rank: int | None = None,
        item_alpha: float = 10.0,
        rating_weight: str = "linear",
        rating_scale: float = 5.0,
        form: str = "auto",
        ranks: Sequence[int] = RANKS,
        memory_budget: int | None = None,
    ) -> None:
        super().__init__()
        self.num_users, self.num_items = num_users, num_items
        self.num_tags, self.num_entities = num_tags, num_entities
        self.lam, self.decay = float(lam), float(decay)
        if form not in FORMS:
            raise InvalidParameter(
                f"unknown EASE form {form!r}; choose one of {', '.join(FORMS)}", field="form"
            )
        self.form = form
        self.ranks = [int(r) for r in ranks]
        candidate_ranks(1, max(num_items, 1), 0, "lowrank", self.ranks, budget=1 << 62)  # checks
        self.rank = None if rank is None else max(1, min(int(rank), num_items))
        self.memory_budget = None if memory_budget is None else int(memory_budget)
        self.item_alpha = float(item_alpha)
        rating_factors(np.zeros(0), rating_weight, 1.0)  # checks the name
        self.rating_weight, self.rating_scale = rating_weight, float(rating_scale)
        self.history_factors: torch.Tensor
        self.item_factors: torch.Tensor
        self.history_index: torch.Tensor
        self.history_weight: torch.Tensor
        dim = self.rank or 0
        self.register_buffer("history_factors", torch.zeros(num_items, dim))
        self.register_buffer("item_factors", torch.zeros(num_items, dim))
        self.register_buffer("history_index", torch.zeros(2, 0, dtype=torch.long))
        self.register_buffer("history_weight", torch.zeros(0))
        self.feature_map: torch.Tensor  # [text_dim + num_tags, d]; 0 rows before solve
        self.feature_bias: torch.Tensor
        self.register_buffer("feature_map", torch.zeros(0, dim))
        self.register_buffer("feature_bias", torch.zeros(dim))
        self.validation: dict[int, float] = {}  # rank -> validation Recall@20 of the choice
        self._cold_users = ()  # outside the weights (ColdUserModel)

    def refit_options(self) -> dict[str, Any]:
        """The form and rank :meth:`solve` chose (none before a solve)."""
        return {} if self.rank is None else {"form": self.form, "rank": self.rank}

    @property
    def dim(self) -> int:
        """The factors' dimensions (0 before a chosen rank is solved)."""
        return int(self.history_factors.size(1))

    @property
    def identity_items(self) -> bool:
        """The full-rank dense form: the history factors are :math:`B`, the items' the
        identity."""
        return self.form == "dense" and self.dim >= self.num_items

    @classmethod
    def from_tensors(
        cls, tensors: GraphTensors, train_idx: torch.Tensor | None = None, **options: Any
    ) -> EASE:
        """An unfitted model whose users' histories are the interactions ``train_idx``."""
        idx = torch.arange(tensors.num_interactions) if train_idx is None else train_idx
        model = cls(
            tensors.num_users, tensors.num_items, tensors.num_tags, tensors.num_entities, **options
        )
        model.set_history(tensors.edge_index[:, idx], tensors.ts[idx], tensors.rating[idx])
        return model

    def config(self) -> dict[str, Any]:
        return {
            "num_users": self.num_users,
            "num_items": self.num_items,
            "num_tags": self.num_tags,
            "num_entities": self.num_entities,
            "lam": self.lam,
            "decay": self.decay,
            "rank": self.rank,
            "item_alpha": self.item_alpha,
            "rating_weight": self.rating_weight,
            "rating_scale": self.rating_scale,
            "form": self.form,
            "ranks": list(self.ranks),
            "memory_budget": self.memory_budget,
        }

    @classmethod
    def from_state(cls, config: dict[str, Any], state: dict[str, torch.Tensor]) -> EASE:
        # versions saved before ratings weighed nothing; before forms, all were dense
        model = cls.from_config({"rating_weight": "none", "form": "dense", **config})
        model.history_index = state["history_index"]
        model.history_weight = state["history_weight"]
        model.feature_map = state.get("feature_map", model.feature_map)
        model.load_state_dict(state, strict="feature_map" in state)
        return model.eval()

    # fitting ------------------------------------------------------------------------------
    def solve(
        self,
        tensors: GraphTensors,
        train_idx: torch.Tensor,
        val_idx: torch.Tensor | None = None,
        *,
        progress: Progress | None = None,
    ) -> None:
        """Fit on the interactions ``train_idx`` (validation ``val_idx`` chooses the rank;
        ``progress`` is told each stage): :func:`kgrec.gnn.models.ease_solve.solve`."""
        solve(self, tensors, train_idx, val_idx, progress=progress)

    def _weights(
        self, edges: torch.Tensor, ts: torch.Tensor, ratings: torch.Tensor | None
    ) -> torch.Tensor:
        """The history weight of each interaction ``edges`` (recency, then rating)."""
        weight = recency_weights(edges, ts, torch.arange(edges.size(1)), self.decay)
        if ratings is not None:
            factor = rating_factors(ratings.cpu().numpy(), self.rating_weight, self.rating_scale)
            weight = weight * torch.from_numpy(factor.astype(np.float32))
        return weight

    def fit_item_map(self, tensors: GraphTensors, edges: torch.Tensor) -> None:
        """Fit the new-item map (:func:`ridge_map`) on the items with training interactions
        ``edges`` (``(user, item)``): :func:`kgrec.gnn.models.ease_solve.fit_item_map`."""
        fit_item_map(self, tensors, edges)

    def use_interactions(self, tensors: GraphTensors, idx: torch.Tensor) -> None:
        """Score users by the interactions ``idx`` (weighted), without a refit."""
        self.set_history(tensors.edge_index[:, idx], tensors.ts[idx], tensors.rating[idx])

    def set_history(
        self, edges: torch.Tensor, ts: torch.Tensor, ratings: torch.Tensor | None = None
    ) -> None:
        """Score users by the interactions ``edges`` (``(user, item)``) at times ``ts`` with
        ``ratings`` (NaN or None: none)."""
        dev = self.item_factors.device
        weight = self._weights(edges.cpu(), ts.cpu(), ratings)
        self.history_index = edges.to(dev, torch.long)
        self.history_weight = weight.to(dev)
        self._drop_caches()

    def history_weights(self, ts: np.ndarray, ratings: np.ndarray | None = None) -> np.ndarray:
        """:math:`w = \\gamma^r f(\\text{rating})` for one user's interactions at times ``ts``
        (given order breaks ties) with ``ratings``, as :meth:`set_history` weighs them."""
        users = np.zeros(len(ts), dtype=np.int64)
        weights = np.power(self.decay, positions_from_end(users, np.asarray(ts)))
        if ratings is None:
            return weights
        return weights * rating_factors(ratings, self.rating_weight, self.rating_scale)

    def user_vector(self, items: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """:math:`e_u = \\sum_v w_v P_v` for a history of local ``items`` and weights: exact
        for any user, known or new, with no refit."""
        factors = self.history_factors.detach().cpu().numpy()
        return np.asarray(weights, dtype=np.float64) @ factors[np.asarray(items, np.int64)]

    def history_vector(
        self, items: np.ndarray, ts: np.ndarray, ratings: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`user_vector` of the history ``items`` at times ``ts`` with ``ratings``,
        weighted as :meth:`set_history` weighs it, and those weights."""
        weights = self.history_weights(ts, ratings)
        return self.user_vector(items, weights), weights

    def fold_in_user(self, history: History) -> FoldedNode | None:
        """A user with 1 to ``max_n`` (5) items the model knows gets the cold-user
        aggregator's vector where the model has one (:meth:`after_fit`;
        :meth:`HistoryAggregator.fold_in_user
        <kgrec.gnn.inductive.aggregator.HistoryAggregator.fold_in_user>`). Otherwise
        :meth:`history_vector` of the history's items the model knows: exact for a user the
        model never saw and for one with interactions recorded since training; None for a
        known user with nothing recorded since (the trained vector holds) and for a history
        of items added after the model alone (they have no history factors).

        The node's neighbours are the items (global node indices of :meth:`path_scorer`),
        its weights their weights in the vector."""
        cold = self.cold_users
        node = cold.fold_in_user(history, self.num_users) if cold is not None else None
        if node is not None:
            return node
        known = history.trained
        if history.user is not None and not history.changed:
            return None
        if not known.any():
            return None
        items = history.items[known]
        vector, weights = self.history_vector(items, history.ts[known], history.ratings[known])
        return FoldedNode(
            np.asarray(vector, dtype=np.float64)[None],
            items + self.num_users,
            np.asarray(weights, dtype=np.float64),
        )

    def place_items(
        self, text: Sequence[np.ndarray | None], tags: Sequence[Sequence[int]]
    ) -> list[FoldedNode | None]:
        """Every new item with a text vector, by :meth:`embed_items`."""
        return embedded_items(self.embed_items, text, tags)

    @torch.no_grad()
    def embed_items(self, item_text: torch.Tensor, item_tags: torch.Tensor) -> torch.Tensor:
        """Item-side factors of new items from their text vectors and ``(new_item, tag)``
        edges through the ridge map fitted by :meth:`solve` (module docstring). An item
        with no text or tags the map knows gets the mean trained item's factors, and so does
        every item of a version saved without a map.

        Raises:
            InvalidParameter: the text vectors are not of the size the map was fitted on.
        """
        n = item_text.size(0)
        if self.feature_map.size(0) == 0:
            return self.item_factors.mean(0).expand(n, -1).clone()
        text_dim = self.feature_map.size(0) - self.num_tags
        if text_dim and item_text.size(1) != text_dim:
            raise InvalidParameter(
                f"new items' text vectors have {item_text.size(1)} "
                f"dimensions; the model was fitted on {text_dim}",
                field="item_text",
            )
        features = item_features(item_text if text_dim else None, item_tags, n, self.num_tags)
        return features.to(self.feature_map.device) @ self.feature_map + self.feature_bias

    # scoring ------------------------------------------------------------------------------
    def forward(self) -> Embeddings:
        dev = self.item_factors.device
        history = torch.sparse_coo_tensor(
            self.history_index,
            self.history_weight,
            (self.num_users, self.num_items),
            device=dev,
            check_invariants=False,
        ).coalesce()
        users = torch.sparse.mm(history, self.history_factors)
        items = self.item_factors
        return Embeddings(users, items, users, items)

    @torch.no_grad()
    def score_users(self, users: torch.Tensor) -> torch.Tensor:
        u, i = self.final_embeddings()
        if self.identity_items:  # the items' factors are the identity
            return u[users.to(u.device)]
        return u[users.to(u.device)] @ i.T

    def path_scorer(self) -> PathScorer:
        r"""The exact split of a score over the user's interactions: the user's edges carry
        :math:`w_{uv}`, an item's part of the score through them is :math:`P_v` (the
        ``partial`` states), and items have no propagation of their own."""
        from kgrec.gnn.models.paths import PathScorer

        users, items = (t.detach().cpu().double().numpy() for t in self.final_embeddings())
        u, i = self.num_users, self.num_items
        num_nodes = u + i + self.num_tags + self.num_entities
        edges = self.history_index.cpu().numpy().astype(np.int64)
        keys = edges[0] * num_nodes + (edges[1] + u)
        order = np.argsort(keys, kind="stable")
        partial = np.zeros((num_nodes, self.dim))
        partial[u : u + i] = self.history_factors.detach().cpu().double().numpy()
        offsets = {"user": 0, "item": u, "tag": u + i, "entity": u + i + self.num_tags}
        values = self.history_weight.cpu().double().numpy()
        final = np.zeros_like(partial)
        final[:u], final[u : u + i] = users, items
        return PathScorer(keys[order], values[order], partial, offsets, final, walks=False)

    @classmethod
    def fit_cost(
        cls, size: GraphSize, options: dict[str, Any], budget_bytes: int | None = None
    ) -> FitCost:
        """One :meth:`solve` at ``size`` (:mod:`kgrec.gnn.training.plan`):
        :func:`kgrec.gnn.models.ease_solve.fit_cost`."""
        return fit_cost(size, options, budget_bytes)

    def __repr__(self) -> str:
        form = "" if self.form == "dense" else f", form={self.form}"
        return (
            f"{type(self).__name__}({self.num_items}, {self.rank or 'rank on validation'}, "
            f"lam={self.lam:g}, decay={self.decay:g}{form})"
        )
