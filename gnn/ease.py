r"""EASE with a recency-weighted history, factored to embeddings (:class:`EASE`).

EASE (Steck, "Embarrassingly Shallow Autoencoders for Sparse Data", WWW 2019) learns the
item-item weights :math:`B` that minimise :math:`\|X - XB\|^2_F + \lambda\|B\|^2_F` under
:math:`\mathrm{diag}(B) = 0`, in closed form (:func:`ease_weights`). This model scores a
user's *recency-weighted* history (:mod:`kgrec.gnn.recency`) and keeps :math:`B` as a rank
:math:`d` factorisation :math:`B \approx PQ^\top` (truncated SVD), so that it keeps the
embedding contract of :class:`~kgrec.gnn.model.EmbeddingModel`:

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

from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import scipy.sparse as sp
import torch

from kgrec.gnn.model import EmbeddingModel, Embeddings
from kgrec.gnn.recency import positions_from_end, rating_factors, recency_weights
from kgrec.gnn.registry import register

if TYPE_CHECKING:
    from kgrec.gnn.data import GraphTensors
    from kgrec.gnn.paths import PathScorer


RESIDUAL_TOLERANCE = 1e-4


def ease_weights(matrix: sp.csr_matrix, lam: float) -> torch.Tensor:
    """EASE's closed form: :math:`P = (X^\\top X + \\lambda I)^{-1}`,
    :math:`B_{ij} = -P_{ij}/P_{jj}`, :math:`B_{jj} = 0`.

    :math:`P` is solved in float32 (half the time of float64 on the CPU) and checked on
    a few of its columns; when their residual :math:`\\|GP - I\\|` exceeds
    ``RESIDUAL_TOLERANCE`` (an ill-conditioned Gram matrix) it is solved again in float64.

    Shapes:
        matrix: ``[U, I]`` (binary user-item); output: ``[I, I]`` float32.
    """
    gram = torch.from_numpy((matrix.T @ matrix).toarray()).float()
    gram.diagonal().add_(lam)
    inverse = _checked_float32_inverse(gram)
    if inverse is None:
        inverse = torch.cholesky_inverse(torch.linalg.cholesky(gram.double()))
    weights = inverse / (-inverse.diagonal())
    weights.diagonal().zero_()
    return weights.float()


def _checked_float32_inverse(gram: torch.Tensor, probes: int = 16) -> torch.Tensor | None:
    """The inverse of the float32 SPD ``gram``, or None when its Cholesky factorisation
    fails or the largest residual of ``probes`` seeded columns, :math:`|G P_{:,j} - e_j|`,
    exceeds ``RESIDUAL_TOLERANCE``."""
    chol, info = torch.linalg.cholesky_ex(gram)
    if int(info) != 0:
        return None
    inverse = torch.cholesky_inverse(chol)
    cols = torch.randperm(gram.size(0), generator=torch.Generator().manual_seed(0))[:probes]
    residual = gram @ inverse[:, cols]
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


def item_features(text: torch.Tensor | None, item_tags: torch.Tensor, num_items: int,
                  num_tags: int) -> torch.Tensor:  # fmt: skip
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
    mat = sp.csr_matrix((np.ones(e.shape[1], np.float32), (e[0], e[1])),
                        shape=(num_users, num_items))  # fmt: skip
    mat.data[:] = 1.0
    return mat


@register
class EASE(EmbeddingModel):
    r"""EASE over a recency-weighted history, as rank-``rank`` embeddings (module docstring).

    Fitted in closed form by :meth:`solve` (:attr:`closed_form`; :func:`kgrec.gnn.fit`
    calls it), the map that places new items from their text and tags with it
    (:attr:`inductive_items`, :meth:`embed_items`). Defaults chosen on ml-latest-small
    validation Recall@20 (temporal split):
    ``lam`` 500 of (200, 500, 1000), ``decay`` 0.8 of (0.7, 0.8, 0.9, 1.0), ``rank`` 256
    (128: 0.195, 256: 0.195, 512: 0.196, full: 0.198), ``rating_weight`` linear (a tie in
    Recall@20 within the randomised SVD's noise, and explanations that rest on well-rated
    interactions 71% of the time against 57%; ``benchmarks/rating_weights.py``).

    Args:
        num_users, num_items, num_tags, num_entities: sizes (tags and entities take no part
            in the score; they keep the node numbering of the other graph models).
        lam: EASE's L2 weight.
        decay: history weight :math:`\gamma` per later interaction (1: all weigh 1).
        rank: dimensions of the factorisation (at most ``num_items``).
        item_alpha: the ridge weight :math:`\alpha` of the new-item map (10 of 1, 10, 100 on
            the validation items of benchmarks/cold_items.py, all 3 seeds).
        rating_weight: how ratings scale the history weights
            (:func:`~kgrec.gnn.recency.rating_factors`): ``linear`` or ``none``.
        rating_scale: the highest rating (set from the data by :meth:`solve`).

    Shapes:
        forward: ``() -> Embeddings(users [U, d], items [I, d], users, items)``.
        score_users: ``[n] -> [n, I]``.
    """

    name = "ease"
    closed_form: ClassVar[bool] = True
    inductive_items: ClassVar[bool] = True
    history_users: ClassVar[bool] = True

    def __init__(
        self,
        num_users: int,
        num_items: int,
        num_tags: int = 0,
        num_entities: int = 0,
        lam: float = 500.0,
        decay: float = 0.8,
        rank: int = 256,
        item_alpha: float = 10.0,
        rating_weight: str = "linear",
        rating_scale: float = 5.0,
    ) -> None:
        super().__init__()
        self.num_users, self.num_items = num_users, num_items
        self.num_tags, self.num_entities = num_tags, num_entities
        self.lam, self.decay = float(lam), float(decay)
        self.rank = max(1, min(int(rank), num_items))
        self.item_alpha = float(item_alpha)
        rating_factors(np.zeros(0), rating_weight, 1.0)  # checks the name
        self.rating_weight, self.rating_scale = rating_weight, float(rating_scale)
        self.history_factors: torch.Tensor
        self.item_factors: torch.Tensor
        self.history_index: torch.Tensor
        self.history_weight: torch.Tensor
        self.register_buffer("history_factors", torch.zeros(num_items, self.rank))
        self.register_buffer("item_factors", torch.zeros(num_items, self.rank))
        self.register_buffer("history_index", torch.zeros(2, 0, dtype=torch.long))
        self.register_buffer("history_weight", torch.zeros(0))
        self.feature_map: torch.Tensor  # [text_dim + num_tags, rank]; 0 rows before solve
        self.feature_bias: torch.Tensor
        self.register_buffer("feature_map", torch.zeros(0, self.rank))
        self.register_buffer("feature_bias", torch.zeros(self.rank))

    @classmethod
    def from_tensors(
        cls, tensors: GraphTensors, train_idx: torch.Tensor | None = None, **options: Any
    ) -> EASE:
        """An unfitted model whose users' histories are the interactions ``train_idx``."""
        idx = torch.arange(tensors.num_interactions) if train_idx is None else train_idx
        model = cls(tensors.num_users, tensors.num_items, tensors.num_tags,
                    tensors.num_entities, **options)  # fmt: skip
        model.set_history(tensors.edge_index[:, idx], tensors.ts[idx], tensors.rating[idx])
        return model

    def config(self) -> dict[str, Any]:
        return {"num_users": self.num_users, "num_items": self.num_items,
                "num_tags": self.num_tags, "num_entities": self.num_entities, "lam": self.lam,
                "decay": self.decay, "rank": self.rank,
                "item_alpha": self.item_alpha, "rating_weight": self.rating_weight,
                "rating_scale": self.rating_scale}  # fmt: skip

    @classmethod
    def from_state(cls, config: dict[str, Any], state: dict[str, torch.Tensor]) -> EASE:
        model = cls.from_config({"rating_weight": "none", **config})  # saved before ratings
        model.history_index = state["history_index"]
        model.history_weight = state["history_weight"]
        model.feature_map = state.get("feature_map", model.feature_map)
        model.load_state_dict(state, strict="feature_map" in state)
        return model.eval()

    # fitting ------------------------------------------------------------------------------
    def solve(self, tensors: GraphTensors, train_idx: torch.Tensor) -> None:
        """Fit :math:`B` on the interactions ``train_idx`` and factor it (seeded by torch's
        global generator: :func:`kgrec.gnn.train.seed_everything`)."""
        edges = tensors.edge_index[:, train_idx]
        weights = ease_weights(binary_matrix(edges, self.num_users, self.num_items), self.lam)
        if self.rank >= self.num_items:
            left, right = weights, torch.eye(self.num_items)
        else:
            u, s, v = torch.svd_lowrank(weights, q=self.rank, niter=4)
            left, right = u * s, v
        dev = self.item_factors.device
        self.history_factors = left.contiguous().to(dev)
        self.item_factors = right.contiguous().to(dev)
        ratings = tensors.rating[train_idx].numpy()
        known = ratings[~np.isnan(ratings)]
        self.rating_scale = float(known.max()) if len(known) and known.max() > 0 else 1.0
        self.set_history(edges, tensors.ts[train_idx], tensors.rating[train_idx])
        self.fit_item_map(tensors, edges)

    def fit_item_map(self, tensors: GraphTensors, edges: torch.Tensor) -> None:
        """Fit the new-item map (:func:`ridge_map`) on the items with training interactions
        ``edges`` (``(user, item)``)."""
        features = item_features(tensors.item_text, tensors.item_tag_index, self.num_items,
                                 self.num_tags)  # fmt: skip
        trained = torch.bincount(edges[1].cpu(), minlength=self.num_items) > 0
        dev = self.item_factors.device
        if not trained.any():
            self.feature_map = torch.zeros(features.size(1), self.rank, device=dev)
            self.feature_bias = torch.zeros(self.rank, device=dev)
            return
        weight, bias = ridge_map(features[trained], self.item_factors.cpu()[trained],
                                 self.item_alpha)  # fmt: skip
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
        weight = recency_weights(edges, ts, torch.arange(edges.size(1)), self.decay)
        if ratings is not None:
            factor = rating_factors(ratings.cpu().numpy(), self.rating_weight, self.rating_scale)
            weight = weight * torch.from_numpy(factor.astype(np.float32))
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
            from kgrec.core.errors import InvalidParameter

            raise InvalidParameter(f"new items' text vectors have {item_text.size(1)} "
                                   f"dimensions; the model was fitted on {text_dim}",
                                   field="item_text")  # fmt: skip
        features = item_features(item_text if text_dim else None, item_tags, n, self.num_tags)
        return features.to(self.feature_map.device) @ self.feature_map + self.feature_bias

    # scoring ------------------------------------------------------------------------------
    def forward(self) -> Embeddings:
        dev = self.item_factors.device
        history = torch.sparse_coo_tensor(
            self.history_index, self.history_weight, (self.num_users, self.num_items),
            device=dev,
            check_invariants=False,
        ).coalesce()  # fmt: skip
        users = torch.sparse.mm(history, self.history_factors)
        items = self.item_factors
        return Embeddings(users, items, users, items)

    @torch.no_grad()
    def score_users(self, users: torch.Tensor) -> torch.Tensor:
        u, i = self.final_embeddings()
        if self.rank >= self.num_items:  # full rank: the items' factors are the identity
            return u[users.to(u.device)]
        return u[users.to(u.device)] @ i.T

    def path_scorer(self) -> PathScorer:
        r"""The exact split of a score over the user's interactions: the user's edges carry
        :math:`w_{uv}`, an item's part of the score through them is :math:`P_v` (the
        ``partial`` states), and items have no propagation of their own."""
        from kgrec.gnn.paths import PathScorer

        users, items = (t.detach().cpu().double().numpy() for t in self.final_embeddings())
        u, i = self.num_users, self.num_items
        num_nodes = u + i + self.num_tags + self.num_entities
        edges = self.history_index.cpu().numpy().astype(np.int64)
        keys = edges[0] * num_nodes + (edges[1] + u)
        order = np.argsort(keys, kind="stable")
        partial = np.zeros((num_nodes, self.rank))
        partial[u : u + i] = self.history_factors.detach().cpu().double().numpy()
        offsets = {"user": 0, "item": u, "tag": u + i, "entity": u + i + self.num_tags}
        values = self.history_weight.cpu().double().numpy()
        final = np.zeros_like(partial)
        final[:u], final[u : u + i] = users, items
        return PathScorer(keys[order], values[order], partial, offsets, final, walks=False)

    def __repr__(self) -> str:
        return (f"{type(self).__name__}({self.num_items}, {self.rank}, lam={self.lam:g}, "
                f"decay={self.decay:g})")  # fmt: skip
