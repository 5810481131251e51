"""Baselines sharing the evaluator's scorer interface (``score_users(users) -> [n, I]``).

- :class:`MostPopular`: training interaction counts.
- :class:`ItemKNN`: item-item cosine over the binary user-item training matrix, each item's
  ``k`` nearest neighbours kept (Deshpande & Karypis, TOIS 2004); ``score(u, j) =
  sum over i in the user's history of sim(i, j)`` for ``j`` among ``i``'s neighbours.
- :class:`TextSimilarity`: cosine between an item's text vector and the mean text vector of
  the user's training items.
- EASE (Steck, WWW 2019) is a registered model (:class:`kgrec.gnn.models.ease.EASE`); the
  benchmark runs it as the peer with its full item-item matrix and a plain history.
- :class:`ALS`: implicit-feedback matrix factorisation (Hu, Koren & Volinsky, ICDM 2008)
  by the ``implicit`` library (the ``kgrec[baselines]`` extra).
- :class:`MFBPR`: matrix factorisation ``y_ui = p_u . q_i`` trained by :func:`kgrec.gnn.fit`
  with BPR (Rendle et al., UAI 2009).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp
import torch
from torch import nn

from kgrec.core.errors import TrainingDataError
from kgrec.gnn.data import GraphTensors
from kgrec.gnn.models.ease import binary_matrix
from kgrec.gnn.models.model import EmbeddingModel, Embeddings
from kgrec.gnn.models.registry import register


def user_item_matrix(tensors: GraphTensors, train_idx: torch.Tensor) -> sp.csr_matrix:
    """Binary training matrix ``[U, I]`` (float32 CSR)."""
    return binary_matrix(tensors.edge_index[:, train_idx], tensors.num_users, tensors.num_items)


def _cat(parts: list[np.ndarray], dtype: type) -> np.ndarray:
    return np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype)


class MostPopular:
    """Every user gets the items with the most training interactions.

    Shapes:
        score_users: ``[n] -> [n, I]``.
    """

    def __init__(self, tensors: GraphTensors, train_idx: torch.Tensor) -> None:
        items = tensors.edge_index[1, train_idx]
        self.counts = torch.bincount(items, minlength=tensors.num_items).float()

    def score_users(self, users: torch.Tensor) -> torch.Tensor:
        return self.counts.unsqueeze(0).expand(len(users), -1)

    def __repr__(self) -> str:
        return f"MostPopular({len(self.counts)})"


class ItemKNN:
    """Item-based k-nearest-neighbour collaborative filtering (cosine, top-``k`` pruning).

    Args:
        tensors, train_idx: the data and the training interactions.
        k: neighbours kept per item. shrink: added to the cosine denominator.
        block: items per similarity block (memory ``block * I`` floats).

    Shapes:
        score_users: ``[n] -> [n, I]``.
    """

    def __init__(
        self,
        tensors: GraphTensors,
        train_idx: torch.Tensor,
        k: int = 100,
        shrink: float = 0.0,
        block: int = 2048,
    ) -> None:
        self.k = k
        self.matrix = user_item_matrix(tensors, train_idx)
        num_items = tensors.num_items
        norms = np.sqrt(np.asarray(self.matrix.sum(axis=0)).ravel()).astype(np.float32)
        xt = self.matrix.T.tocsr()
        rows, cols, vals = [], [], []
        kk = min(k, num_items - 1)
        for lo in range(0, num_items, block):
            hi = min(lo + block, num_items)
            sim = (xt[lo:hi] @ self.matrix).toarray()
            sim /= norms[lo:hi, None] * norms[None, :] + shrink + 1e-9
            sim[np.arange(hi - lo), np.arange(lo, hi)] = 0.0
            if kk <= 0:
                continue
            top = np.argpartition(-sim, kk - 1, axis=1)[:, :kk]
            val = np.take_along_axis(sim, top, axis=1)
            keep = val > 0
            rows.append(np.repeat(np.arange(lo, hi), kk)[keep.ravel()])
            cols.append(top.ravel()[keep.ravel()])
            vals.append(val.ravel()[keep.ravel()])
        self.similarity = sp.csr_matrix(
            (_cat(vals, np.float32), (_cat(rows, np.int64), _cat(cols, np.int64))),
            shape=(num_items, num_items),
        )

    def score_users(self, users: torch.Tensor) -> torch.Tensor:
        idx = users.cpu().numpy()
        return torch.from_numpy((self.matrix[idx] @ self.similarity).toarray())

    def __repr__(self) -> str:
        return f"ItemKNN({self.similarity.shape[0]}, k={self.k})"


class TextSimilarity:
    """Cosine between item text vectors and the mean text vector of the user's history.

    Shapes:
        score_users: ``[n] -> [n, I]``.
    """

    def __init__(self, tensors: GraphTensors, train_idx: torch.Tensor) -> None:
        if tensors.item_text is None:
            raise TrainingDataError(
                "TextSimilarity needs item text vectors; build GraphTensors with item_embeddings"
            )
        self.text = nn.functional.normalize(tensors.item_text.float(), dim=1)
        mat = user_item_matrix(tensors, train_idx)
        counts = np.maximum(np.asarray(mat.sum(axis=1)).ravel(), 1.0)
        profile = (mat @ self.text.numpy()) / counts[:, None]
        self.profile = nn.functional.normalize(torch.from_numpy(profile.astype(np.float32)), dim=1)

    def score_users(self, users: torch.Tensor) -> torch.Tensor:
        return self.profile[users.cpu()] @ self.text.T

    def __repr__(self) -> str:
        return f"TextSimilarity({self.text.size(0)}, {self.text.size(1)})"


class ALS:
    """Implicit-feedback ALS (Hu, Koren & Volinsky, ICDM 2008) from the ``implicit``
    library: confidence ``1 + alpha`` on every interaction, ``factors`` dimensions.

    Args:
        tensors, train_idx: the data and the training interactions.
        factors, regularization, alpha, iterations: ``implicit``'s hyperparameters.
        seed: its random state.

    Raises:
        TrainingDataError: the ``implicit`` package is not installed.

    Shapes:
        score_users: ``[n] -> [n, I]``.
    """

    def __init__(
        self,
        tensors: GraphTensors,
        train_idx: torch.Tensor,
        factors: int = 64,
        regularization: float = 0.05,
        alpha: float = 10.0,
        iterations: int = 15,
        seed: int = 0,
    ) -> None:
        try:
            from implicit.cpu.als import AlternatingLeastSquares
        except ImportError as exc:
            raise TrainingDataError(
                "ALS needs the implicit package: pip install 'kgrec[baselines]'"
            ) from exc
        from threadpoolctl import threadpool_limits

        self.factors = factors
        with threadpool_limits(1, user_api="blas"):  # implicit asks for single-threaded BLAS
            model = AlternatingLeastSquares(
                factors=factors,
                regularization=regularization,
                alpha=alpha,
                iterations=iterations,
                random_state=seed,
                calculate_training_loss=False,
            )
            model.fit(user_item_matrix(tensors, train_idx), show_progress=False)
        self.user_factors = torch.from_numpy(np.asarray(model.user_factors, dtype=np.float32))
        self.item_factors = torch.from_numpy(np.asarray(model.item_factors, dtype=np.float32))

    def score_users(self, users: torch.Tensor) -> torch.Tensor:
        return self.user_factors[users.cpu()] @ self.item_factors.T

    def __repr__(self) -> str:
        return f"ALS({self.item_factors.size(0)}, factors={self.factors})"


@register
class MFBPR(EmbeddingModel):
    r"""Matrix factorisation :math:`\hat y_{ui} = p_u^\top q_i` for BPR training (Rendle et
    al., "BPR: Bayesian Personalized Ranking from Implicit Feedback", UAI 2009).

    Shapes:
        forward: ``() -> Embeddings(P [U, d], Q [I, d], P, Q)`` (final = initial embeddings).
        score_users: ``[n] -> [n, I]``.
    """

    name = "mf"
    train_defaults = {"batch_size": 2048, "lr": 5e-3}

    def __init__(self, num_users: int, num_items: int, embedding_dim: int = 64) -> None:
        super().__init__()
        self.num_users, self.num_items, self.embedding_dim = num_users, num_items, embedding_dim
        self.user_emb = nn.Embedding(num_users, embedding_dim)
        self.item_emb = nn.Embedding(num_items, embedding_dim)
        nn.init.normal_(self.user_emb.weight, std=0.1)
        nn.init.normal_(self.item_emb.weight, std=0.1)

    @classmethod
    def from_tensors(
        cls, tensors: GraphTensors, train_idx: torch.Tensor | None = None, **options: Any
    ) -> MFBPR:
        """A model sized for ``tensors`` (MF has no graph: ``train_idx`` is not needed)."""
        return cls(tensors.num_users, tensors.num_items, **options)

    def config(self) -> dict[str, Any]:
        return {
            "num_users": self.num_users,
            "num_items": self.num_items,
            "embedding_dim": self.embedding_dim,
        }

    def forward(self) -> Embeddings:
        p, q = self.user_emb.weight, self.item_emb.weight
        return Embeddings(p, q, p, q)

    def final_embeddings(self) -> tuple[torch.Tensor, torch.Tensor]:
        return self.user_emb.weight.detach(), self.item_emb.weight.detach()

    def __repr__(self) -> str:
        return f"MFBPR({self.num_users + self.num_items}, {self.embedding_dim})"
