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
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import scipy.sparse as sp
import torch

from kgrec.core.errors import InvalidParameter
from kgrec.gnn.inductive.foldin import FoldedNode
from kgrec.gnn.models.ease_forms import (
    FORMS,
    MAX_EVAL_USERS,
    RANKS,
    Factors,
    Progress,
    Stages,
    candidate_ranks,
    choose_form,
    dense_factors,
    dense_gram,
    ease_memory_bytes,
    holdout,
    lowrank_factors,
    memory_budget,
    oversampled,
    validation_recall,
)
from kgrec.gnn.models.model import (
    AfterFit,
    EmbeddingModel,
    Embeddings,
    History,
    embedded_items,
)
from kgrec.gnn.models.recency import positions_from_end, rating_factors, recency_weights
from kgrec.gnn.models.registry import register

if TYPE_CHECKING:
    from kgrec.gnn.data import GraphTensors
    from kgrec.gnn.inductive.coldstart import HistoryAggregator
    from kgrec.gnn.models.paths import PathScorer
    from kgrec.gnn.training.plan import FitCost, GraphSize


RESIDUAL_TOLERANCE = 1e-4


def ease_weights(matrix: sp.csr_matrix, lam: float) -> torch.Tensor:
    """EASE's closed form: :math:`P = (X^\\top X + \\lambda I)^{-1}`,
    :math:`B_{ij} = -P_{ij}/P_{jj}`, :math:`B_{jj} = 0`.

    :math:`P` is solved in float32 (half the time of float64 on the CPU) and checked on
    a few of its columns; when their residual :math:`\\|GP - I\\|` exceeds
    ``RESIDUAL_TOLERANCE`` (an ill-conditioned Gram matrix) it is solved again in float64.
    At most two ``[I, I]`` float32 matrices live at once (the Gram matrix becomes its
    Cholesky factor in place, the inverse becomes :math:`B` in place); the float64 retry
    needs five.

    Shapes:
        matrix: ``[U, I]`` (binary user-item); output: ``[I, I]`` float32.
    """
    gram = dense_gram(matrix)
    gram.diagonal().add_(lam)
    inverse = _checked_float32_inverse(gram)
    del gram
    if inverse is None:
        wide = dense_gram(matrix).double()
        wide.diagonal().add_(lam)
        torch.linalg.cholesky(wide, out=wide)
        inverse = torch.cholesky_inverse(wide)
        del wide
    inverse /= -inverse.diagonal()
    inverse.diagonal().zero_()
    return inverse.float()


def _checked_float32_inverse(gram: torch.Tensor, probes: int = 16) -> torch.Tensor | None:
    """The inverse of the float32 SPD ``gram``, or None when its Cholesky factorisation
    fails or the largest residual of ``probes`` seeded columns, :math:`|G P_{:,j} - e_j|`
    (computed as :math:`L(L^\\top P_{:,j})`), exceeds ``RESIDUAL_TOLERANCE``. ``gram`` is
    overwritten by its Cholesky factor."""
    info = torch.zeros((), dtype=torch.int32)
    chol, info = torch.linalg.cholesky_ex(gram, out=(gram, info))
    if int(info) != 0:
        return None
    inverse = torch.cholesky_inverse(chol)
    cols = torch.randperm(gram.size(0), generator=torch.Generator().manual_seed(0))[:probes]
    residual = chol @ (chol.T @ inverse[:, cols])
    residual[cols, torch.arange(len(cols))] -= 1.0
    return inverse if float(residual.abs().max()) <= RESIDUAL_TOLERANCE else None


def ridge_map(
    features: torch.Tensor, targets: torch.Tensor, alpha: float
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""The centred ridge regression of ``targets`` on ``features``: ``(W, b)`` with
    ``targets ~ features @ W + b`` and :math:`\alpha\|W\|^2` (the intercept is free).

    Shapes:
        features: ``[n, f]``; targets: ``[n, d]``; output: ``([f, d], [d])`` float32.
    """
    x, y = features.double(), targets.double()
    mx, my = x.mean(0), y.mean(0)
    xc = x - mx
    gram = xc.T @ xc
    gram.diagonal().add_(alpha)
    weight = torch.linalg.solve(gram, xc.T @ (y - my))
    return weight.float(), (my - mx @ weight).float()


def item_features(
    text: torch.Tensor | None, item_tags: torch.Tensor, num_items: int, num_tags: int
) -> torch.Tensor:
    """An item's features for :func:`ridge_map`: its text vector, then its tags one-hot,
    scaled to unit norm (an item without tags has zeros there).

    Shapes:
        text: ``[n, text_dim]`` (None: no text part); item_tags: ``[2, m]``
        ``(item, tag)``; output: ``[n, text_dim + num_tags]``.
    """
    tags = torch.zeros(num_items, num_tags, dtype=torch.float32)
    if item_tags.numel():
        tags[item_tags[0].cpu(), item_tags[1].cpu()] = 1.0
        tags /= tags.sum(1, keepdim=True).clamp(min=1.0).sqrt()
    if text is None:
        return tags
    return torch.cat([text.detach().cpu().float(), tags], 1)


def binary_matrix(edges: torch.Tensor, num_users: int, num_items: int) -> sp.csr_matrix:
    """The binary ``[U, I]`` matrix of ``(user, item)`` edges (float32 CSR)."""
    e = edges.cpu().numpy()
    mat = sp.csr_matrix(
        (np.ones(e.shape[1], np.float32), (e[0], e[1])), shape=(num_users, num_items)
    )
    mat.data[:] = 1.0
    return mat


#: The file of a saved version holding the cold-user aggregator's learned state
#: (:meth:`EASE.saved_extras`); a version without it serves the history vector.
AGGREGATOR_FILE = "aggregator.pt"


@register
class EASE(EmbeddingModel):
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
        self._cold_users: tuple[HistoryAggregator, ...] = ()  # outside the weights

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
        """Fit on the interactions ``train_idx``: the form (``auto``: the dense form when
        its predicted peak fits the memory budget, else the low-rank one), then, without a
        fixed ``rank``, one factorisation at the largest candidate rank that fits, whose
        nested prefixes are scored by Recall@20 on ``val_idx`` (none given: each user's
        latest 10% of ``train_idx``, held out of that factorisation, which is then solved
        again on all of ``train_idx`` at the chosen rank). The config then holds the form
        and rank used. Seeded by torch's global generator
        (:func:`kgrec.gnn.training.train.seed_everything`).

        Args:
            tensors: the data. train_idx: the interactions to fit.
            val_idx: validation interactions that choose the rank.
            progress: told each stage and the seconds since the fit started (each is
                logged too).
        """
        stages = Stages(progress)
        seed = int(torch.randint(0, 2**62, (1,)))
        gen = torch.Generator().manual_seed(seed)
        edges = tensors.edge_index[:, train_idx]
        ratings = tensors.rating[train_idx].numpy()
        known = ratings[~np.isnan(ratings)]
        self.rating_scale = float(known.max()) if len(known) and known.max() > 0 else 1.0
        num_users, num_items, nnz = self.num_users, self.num_items, int(edges.size(1))
        text_dim = 0 if tensors.item_text is None else int(tensors.item_text.size(1))
        feature_dim = text_dim + self.num_tags
        budget = memory_budget() if self.memory_budget is None else self.memory_budget
        wanted = self.rank if self.rank is not None else min(max(self.ranks), num_items)
        form = self.form
        if form == "auto":
            form = choose_form(num_users, num_items, nnz, wanted, budget, feature_dim)
        ranks = (
            [self.rank]
            if self.rank is not None
            else candidate_ranks(num_users, num_items, nnz, form, self.ranks, budget, feature_dim)
        )
        peak = ease_memory_bytes(num_users, num_items, nnz, form, max(ranks), feature_dim)
        stages(
            f"{form} form, rank {ranks[0] if len(ranks) == 1 else f'of {ranks}'}: "
            f"{num_items} items, {nnz} interactions, predicted peak "
            f"{peak / 2**30:.2f} GiB of a {budget / 2**30:.2f} GiB budget"
        )
        factors = None
        self.validation = {}
        rank = ranks[0]
        if len(ranks) > 1:
            rank, factors = self._choose_rank(tensors, train_idx, val_idx, form, ranks, gen, stages)
        if factors is None:
            factors = self._factorise(edges, form, [rank], gen, stages)
        left, right = factors.prefix(rank)
        del factors
        self.form, self.rank = form, rank
        dev = self.item_factors.device
        self.history_factors = left.contiguous().to(dev)
        self.item_factors = right.contiguous().to(dev)
        self.set_history(edges, tensors.ts[train_idx], tensors.rating[train_idx])
        self.fit_item_map(tensors, edges)
        stages(f"solved: {form} form, rank {rank}")

    def _factorise(
        self,
        edges: torch.Tensor,
        form: str,
        ranks: Sequence[int],
        gen: torch.Generator,
        stages: Stages,
    ) -> Factors:
        """The factors of ``form`` on the interactions ``edges`` for every rank of
        ``ranks``."""
        matrix = binary_matrix(edges, self.num_users, self.num_items)
        q = oversampled(max(ranks), self.num_items)
        if form == "dense":
            weights = ease_weights(matrix, self.lam)
            stages(f"dense EASE weights ({self.num_items} x {self.num_items})")
            factors = dense_factors(weights, q, min(ranks))
        else:
            factors = lowrank_factors(matrix, self.lam, q, gen, stages=stages)
        stages(f"{form} factors of rank {factors.rank}")
        return factors

    def _choose_rank(
        self,
        tensors: GraphTensors,
        train_idx: torch.Tensor,
        val_idx: torch.Tensor | None,
        form: str,
        ranks: Sequence[int],
        gen: torch.Generator,
        stages: Stages,
    ) -> tuple[int, Factors | None]:
        """The rank of ``ranks`` best on validation Recall@20 (ties: the smaller), and the
        factors to take its prefix from when they were fitted on all of ``train_idx``."""
        given = val_idx is not None and len(val_idx) > 0
        fit_idx, held_idx = train_idx, val_idx
        if not given:
            users = tensors.edge_index[0, train_idx].numpy()
            held = torch.from_numpy(holdout(users, tensors.ts[train_idx].numpy()))
            fit_idx, held_idx = train_idx[~held], train_idx[held]
        assert held_idx is not None
        if len(held_idx) == 0:
            return max(ranks), None
        shape = (self.num_users, self.num_items)
        edges = tensors.edge_index[:, fit_idx]
        factors = self._factorise(edges, form, ranks, gen, stages)
        weight = self._weights(edges, tensors.ts[fit_idx], tensors.rating[fit_idx]).numpy()
        e = edges.numpy()
        history = sp.csr_matrix((weight, (e[0], e[1])), shape=shape, dtype=np.float32)
        seen = binary_matrix(edges, *shape)
        truth = binary_matrix(tensors.edge_index[:, held_idx], *shape)
        users = np.unique(tensors.edge_index[0, held_idx].numpy())
        rng = np.random.default_rng(int(torch.randint(0, 2**62, (1,), generator=gen)))
        if len(users) > MAX_EVAL_USERS:
            users = np.sort(rng.choice(users, MAX_EVAL_USERS, replace=False))
        self.validation = validation_recall(factors, history, seen, truth, ranks, users)
        best = max(ranks, key=lambda r: (self.validation[r], -r))
        where = "validation" if given else "the latest 10% of each history"
        stages(
            "rank "
            + str(best)
            + " of "
            + ", ".join(f"{r}: {v:.4f}" for r, v in self.validation.items())
            + f" (Recall@20 on {where}, {len(users)} users)"
        )
        return best, (factors if given else None)

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
        ``edges`` (``(user, item)``)."""
        features = item_features(
            tensors.item_text, tensors.item_tag_index, self.num_items, self.num_tags
        )
        trained = torch.bincount(edges[1].cpu(), minlength=self.num_items) > 0
        dev = self.item_factors.device
        if not trained.any():
            self.feature_map = torch.zeros(features.size(1), self.dim, device=dev)
            self.feature_bias = torch.zeros(self.dim, device=dev)
            return
        weight, bias = ridge_map(
            features[trained], self.item_factors.cpu()[trained], self.item_alpha
        )
        self.feature_map, self.feature_bias = weight.to(dev), bias.to(dev)

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
        <kgrec.gnn.inductive.coldstart.HistoryAggregator.fold_in_user>`). Otherwise
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

    # the cold-user aggregator ------------------------------------------------------------
    @property
    def cold_users(self) -> HistoryAggregator | None:
        """The cold-user aggregator over the model's factors, or None (none was fitted, it
        did not beat the history vector, or the version predates it)."""
        return self._cold_users[0] if self._cold_users else None

    def use_cold_users(self, aggregator: HistoryAggregator | None) -> None:
        """Serve users with at most ``aggregator.max_n`` items by ``aggregator`` (None: by
        the history vector). Kept outside the model's weights (its own file in a version,
        :meth:`saved_extras`), so the weights are the same with it or without."""
        self._cold_users = () if aggregator is None else (aggregator,)

    def after_fit(
        self, tensors: GraphTensors, train_idx: torch.Tensor, seed: int, epochs: int
    ) -> AfterFit | None:
        """Fit the cold-user aggregator on the model's factors and serve it where it beats
        the history vector on users held out of a second fit
        (:func:`~kgrec.gnn.inductive.coldstart.fit_aggregator`)."""
        from kgrec.gnn.inductive.coldstart import cold_user_step

        step = cold_user_step(self, tensors, train_idx, seed, epochs)
        if step is None:
            return None
        aggregator, metrics, config = step
        self.use_cold_users(aggregator)
        return AfterFit(metrics, config)

    def saved_extras(self) -> dict[str, Any]:
        """The cold-user aggregator's learned state (:data:`AGGREGATOR_FILE`), where there
        is one; the factors it reads are the model's."""
        cold = self.cold_users
        return {} if cold is None else {AGGREGATOR_FILE: {"state": cold.learned_state()}}

    def load_extra(self, name: str, blob: Any) -> None:
        """The cold-user aggregator of :data:`AGGREGATOR_FILE` over the model's factors."""
        from kgrec.gnn.inductive.coldstart import HistoryAggregator, model_factors

        if name != AGGREGATOR_FILE:
            return
        state = blob.get("state") if isinstance(blob, dict) else None
        if not isinstance(state, dict):
            raise ValueError("expected a dict with 'state'")
        try:
            history, items = model_factors(self)
            aggregator = HistoryAggregator.from_learned(history, items, state).eval()
        except (KeyError, ValueError, TypeError) as e:
            detail = " ".join(str(e).split())
            detail = detail if len(detail) <= 160 else detail[:157] + "..."
            raise ValueError(f"it does not fit the model ({type(e).__name__}: {detail})") from None
        self.use_cold_users(aggregator)

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
        """One :meth:`solve` at ``size`` (:mod:`kgrec.gnn.training.plan`): the form ``auto`` would
        choose within ``budget_bytes`` (:func:`~kgrec.gnn.models.ease_forms.choose_form`), the
        largest candidate rank that fits, and the peak memory of
        :func:`~kgrec.gnn.models.ease_forms.ease_memory_bytes`. The arithmetic counts the
        factorisation (dense: the Cholesky inverse, :math:`\\sim I^3`, and a truncated SVD;
        lowrank: subspace iterations through :math:`X^\\top(XM)`, linear in the
        interactions), the validation scoring that chooses the rank and the new-item map."""
        from kgrec.gnn.models.ease_forms import (
            LOWRANK_ITERATIONS,
            MAX_EVAL_USERS,
            MEMORY_SHARE,
            RANKS,
            candidate_ranks,
            choose_form,
            ease_memory_bytes,
            memory_budget,
            oversampled,
        )
        from kgrec.gnn.training.plan import BUDGET_SHARE, FitCost

        users, items, nnz = size.num_users, size.num_items, size.num_interactions
        ranks = tuple(options.get("ranks") or RANKS)
        features = size.text_dim + size.num_tags
        form = str(options.get("form", "auto"))
        limit = options.get("memory_budget") or memory_budget()
        if budget_bytes is not None:  # the job's own limit, of which the fit gets its share
            limit = min(int(limit), int(MEMORY_SHARE / BUDGET_SHARE * budget_bytes))
        if form == "auto":
            form = choose_form(users, items, nnz, max(ranks), limit, features)
        rank = max(candidate_ranks(users, items, nnz, form, ranks, limit, features))
        q = oversampled(rank, items)
        peak = ease_memory_bytes(users, items, nnz, form, rank, features)
        rounds = 2 * LOWRANK_ITERATIONS + 2
        if form == "dense":
            dense = float(items) ** 3 + 2.0 * rounds * items * items * q
            sparse = 2.0 * nnz * nnz / max(users, 1)  # the Gram matrix X^T X
            fix = "the lowrank form (memory linear in the catalogue) is chosen by default"
        else:
            dense = 10.0 * items * q * q
            sparse = 4.0 * rounds * nnz * q
            fix = "choose smaller ranks (model option ranks=(64, 128, 256))"
        dense += 2.0 * min(users, MAX_EVAL_USERS) * items * q  # the validation scoring
        dense += 2.0 * items * features * features + float(features) ** 3  # new-item map
        return FitCost(
            f"{form} EASE, rank chosen on validation up to {rank}", peak, dense, sparse, fix=fix
        )

    def __repr__(self) -> str:
        form = "" if self.form == "dense" else f", form={self.form}"
        return (
            f"{type(self).__name__}({self.num_items}, {self.rank or 'rank on validation'}, "
            f"lam={self.lam:g}, decay={self.decay:g}{form})"
        )
