r"""Each explanation path's exact share of a LightGCN score, vectorised for serving.

LightGCN's score is :math:`\hat y_{ui} = e_u^\top e_i` with
:math:`e = \frac{1}{K+1}\sum_{k\le K}\hat A^k x^{(0)}`. Expanding both sides over walks,
the score is a sum of terms, one per pair of walks ``u -> a`` and ``i -> b`` of length at
most ``K`` each (see :class:`kgrec.gnn.lightgcn.LightGCN`). The pairs that meet (``a == b``)
form one graph path ``u -> ... -> a -> ... -> i``; a path ``p`` of length ``L`` therefore
contributes

.. math::
    c(p) = \mathrm{wt}(p)\,\frac{\sum_{j:\ j\le K,\ L-j\le K} \lVert x^{(0)}_{p_j}\rVert^2}{(K+1)^2},
    \qquad \mathrm{wt}(p) = \prod_{(a,b)\in p}\hat A_{ab}

exactly, and its share is :math:`c(p)/\hat y_{ui}`. Walks along edges the model was not
trained on (a test interaction, a user's own tag) have weight 0: such paths are shown but
explain nothing of the score. What the paths do not explain comes from the similarity of
initial (id + text) states of nodes that no short path joins.

This module needs numpy only; :meth:`PathScorer.from_lightgcn` reads a trained model once.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


class PathScorer:
    """Contributions of graph paths to LightGCN scores.

    Args:
        keys: sorted ``a * num_nodes + b`` of every non-zero :math:`\\hat A_{ab}`.
        values: the matching :math:`\\hat A_{ab}`.
        sq_norms: :math:`\\lVert x^{(0)}_a\\rVert^2` per node.
        num_layers: ``K``.
        offsets: first global node index of ``user``, ``item``, ``tag``, ``entity``.

    Shapes:
        keys, values: ``[nnz]``; sq_norms: ``[N]``.
    """

    def __init__(
        self,
        keys: np.ndarray,
        values: np.ndarray,
        sq_norms: np.ndarray,
        num_layers: int,
        offsets: dict[str, int],
    ) -> None:
        self.keys = keys
        self.values = values
        self.sq_norms = sq_norms
        self.num_layers = num_layers
        self.offsets = dict(offsets)
        self.num_nodes = int(sq_norms.shape[0])

    @classmethod
    def from_lightgcn(cls, model) -> PathScorer:
        """Read :math:`\\hat A` and :math:`x^{(0)}` from a trained ``LightGCN``."""
        import torch

        with torch.no_grad():
            index = model.adj_index.cpu().numpy().astype(np.int64)
            values = model.adj_value.cpu().numpy().astype(np.float64)
            x0 = model.initial_states().detach().cpu().double().numpy()
        keys = index[0] * model.num_nodes + index[1]
        order = np.argsort(keys, kind="stable")
        return cls(keys[order], values[order], (x0 * x0).sum(1), model.num_layers, model.offsets)

    def node(self, kind: str, local_index: int | np.ndarray) -> int | np.ndarray:
        """Global node index of a user / item / tag / entity local index."""
        return self.offsets[kind] + local_index

    def edge_weights(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """:math:`\\hat A_{ab}` for arrays of node pairs (0 where there is no edge)."""
        query = np.asarray(a, dtype=np.int64) * self.num_nodes + np.asarray(b, dtype=np.int64)
        pos = np.searchsorted(self.keys, query)
        pos = np.minimum(pos, len(self.keys) - 1)
        hit = self.keys[pos] == query
        return np.where(hit, self.values[pos], 0.0)

    def contributions(self, paths: np.ndarray) -> np.ndarray:
        """:math:`c(p)` for many paths of one length.

        Shapes:
            paths: ``[P, L+1]`` global node indices, user first, item last; output ``[P]``.
        """
        paths = np.asarray(paths, dtype=np.int64)
        if paths.size == 0:
            return np.zeros(paths.shape[0])
        length, k = paths.shape[1] - 1, self.num_layers
        weight = np.ones(paths.shape[0])
        for j in range(length):
            weight *= self.edge_weights(paths[:, j], paths[:, j + 1])
        cuts = [j for j in range(length + 1) if j <= k and length - j <= k]
        if not cuts:
            return np.zeros(paths.shape[0])
        norms = self.sq_norms[paths[:, cuts]].sum(1)
        return weight * norms / (k + 1) ** 2

    def contribution(self, path: Sequence[int]) -> float:
        """:math:`c(p)` of one path."""
        return float(self.contributions(np.asarray([path]))[0])
