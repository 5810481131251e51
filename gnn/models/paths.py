r"""Each explanation path's exact share of a LightGCN score, vectorised for serving.

LightGCN scores :math:`\hat y_{ui} = e_u^\top e_i` with
:math:`e = \frac{1}{K+1}\sum_{k\le K}\hat A^k x^{(0)}`. Splitting off the first step of the
propagation on both sides gives an exact decomposition of the score:

.. math::
    e_u = \tfrac{1}{K+1}x^{(0)}_u + \sum_{v\in N(u)} \hat A_{uv} H_v,\qquad
    H = \tfrac{1}{K+1}\sum_{k=0}^{K-1}\hat A^k x^{(0)}

.. math::
    \hat y_{ui} = \underbrace{\tfrac{1}{K+1}x^{(0)}_u\cdot e_i
        + \sum_{v}\hat A_{uv}\,\tfrac{1}{K+1}H_v\cdot x^{(0)}_i}_{\text{own states}}
      + \sum_{v\in N(u)}\sum_{n\in N(i)} \underbrace{\hat A_{uv}\hat A_{in}\,H_v\cdot H_n}_{T(v,n)}

:math:`T(v, n)` is the sum of every walk-pair term of the propagation whose user walk
leaves ``u`` through ``v`` and whose item walk leaves ``i`` through ``n``. When ``v`` and
``n`` are joined (or equal), ``u - v - n - i`` (or ``u - v - i``) is a path in the graph,
and :math:`T(v, n)` is what that path carries of the score: its share is
:math:`T/\hat y_{ui}`. Edges the model was not trained on (a test interaction, a user's own
tag) have :math:`\hat A = 0`: such paths are shown but carry nothing. The rest of the score
comes from the own states (id + text) and from neighbour pairs no short path joins.

Summing :math:`T(v, n)` over every ``n`` (and the item's own state) gives what the score
owes to the user's edge to ``v``, exactly:

.. math::
    \hat y_{ui} = \tfrac{1}{K+1}x^{(0)}_u\cdot e_i + \sum_{v\in N(u)} C(v),\qquad
    C(v) = \hat A_{uv}\, H_v\cdot e_i

:math:`C(v)` is the interaction's share of the score ("you rated Alien": 4%). It is what
removing that interaction takes away, up to the renormalisation of the neighbouring degrees,
so explanations rank paths by the :math:`C(v)` of the interaction they start from first.

This module needs numpy only; :meth:`PathScorer.from_lightgcn` reads a trained model once.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from scipy.sparse import csr_matrix

    from kgrec.gnn.models.lightgcn import LightGCN


class PathScorer:
    """Contributions of graph paths to LightGCN scores.

    Args:
        keys: sorted ``a * num_nodes + b`` of every non-zero :math:`\\hat A_{ab}`.
        values: the matching :math:`\\hat A_{ab}`.
        partial: :math:`H`, the propagation summed over layers ``0..K-1`` and divided by
            ``K+1``.
        offsets: first global node index of ``user``, ``item``, ``tag``, ``entity``.
        final: :math:`e`, the model's final node states (needed by
            :meth:`first_hop_contributions` only).
        walks: the score is made of walks through the graph (LightGCN). False for a
            model whose score splits over the user's interactions only (``ease``): paths
            then carry no terms of their own, only their first interaction's :math:`C(v)`.

    Shapes:
        keys, values: ``[nnz]``; partial, final: ``[N, d]``.
    """

    def __init__(
        self,
        keys: np.ndarray,
        values: np.ndarray,
        partial: np.ndarray,
        offsets: dict[str, int],
        final: np.ndarray | None = None,
        walks: bool = True,
    ) -> None:
        self.walks = walks
        self.keys = keys
        self.values = values
        self.partial = partial
        self.final = final
        self.offsets = dict(offsets)
        self.num_nodes = int(partial.shape[0])
        self._csr: csr_matrix | None = None

    @classmethod
    def from_lightgcn(cls, model: LightGCN) -> PathScorer:
        """Read :math:`\\hat A` and compute :math:`H` from a trained ``LightGCN``."""
        import torch

        from kgrec.gnn.models.propagation import layer_states

        with torch.no_grad():
            x0 = model.initial_states().detach().float()
            states = layer_states(model.propagation_matrix(), x0, model.num_layers)
            scale = model.num_layers + 1
            final = (torch.stack(states).sum(0) / scale).cpu().numpy()
            partial = (torch.stack(states[:-1]).sum(0) / scale).cpu().numpy()
            index = model.adj_index.cpu().numpy().astype(np.int64)
            values = model.adj_value.cpu().numpy().astype(np.float64)
        keys = index[0] * model.num_nodes + index[1]
        order = np.argsort(keys, kind="stable")
        return cls(
            keys[order],
            values[order],
            partial.astype(np.float64),
            model.offsets,
            final.astype(np.float64),
        )

    def node(self, kind: str, local_index: int | np.ndarray) -> int | np.ndarray:
        """Global node index of a user / item / tag / entity local index."""
        return self.offsets[kind] + local_index

    def state(self, node: int) -> np.ndarray:
        """:math:`e`, the final state of one node (``[d]``)."""
        if self.final is None:
            raise ValueError("final states are needed (from_lightgcn)")
        return self.final[node]

    def with_node(
        self, node: int, neighbours: np.ndarray, weights: np.ndarray, state: np.ndarray
    ) -> PathScorer:
        """This scorer with one node's edges and final state replaced: a node folded in
        over its current neighbours (:mod:`kgrec.gnn.inductive.foldin`). Every other node keeps its
        trained edges and states; ``node`` may be ``num_nodes`` for a node the model never
        saw. The arrays are shared, not copied.

        Args:
            node: the node's global index. neighbours: its neighbours' global indices.
            weights: :math:`\\hat A'` of each of those edges. state: its final state.
        """
        return _ReplacedNode(self, node, neighbours, weights, state)

    def edge_weights(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """:math:`\\hat A_{ab}` for arrays of node pairs (0 where there is no edge)."""
        query = np.asarray(a, dtype=np.int64) * self.num_nodes + np.asarray(b, dtype=np.int64)
        pos = np.minimum(np.searchsorted(self.keys, query), len(self.keys) - 1)
        return np.where(self.keys[pos] == query, self.values[pos], 0.0)

    def pair_terms(self, u: int, i: int, v: np.ndarray, n: np.ndarray) -> np.ndarray:
        """:math:`T(v, n) = \\hat A_{uv}\\hat A_{in} H_v\\cdot H_n` for arrays of (v, n)."""
        v, n = np.asarray(v, dtype=np.int64), np.asarray(n, dtype=np.int64)
        weight = self.edge_weights(np.full(v.shape, u), v) * self.edge_weights(
            np.full(n.shape, i), n
        )
        return weight * np.einsum("pd,pd->p", self.partial[v], self.partial[n])

    def contributions(self, paths: np.ndarray) -> np.ndarray:
        """What each path carries of its score.

        Shapes:
            paths: ``[P, 3]`` (``u, t, i``) or ``[P, 4]`` (``u, v, n, i``) global node
            indices, user first, item last; output ``[P]``.
        """
        paths = np.asarray(paths, dtype=np.int64)
        if paths.size == 0:
            return np.zeros(paths.shape[0])
        if paths.shape[1] not in (3, 4):
            raise ValueError(f"paths of 2 or 3 hops only, got {paths.shape[1] - 1}")
        v, n = paths[:, 1], paths[:, -2]
        weight = self.edge_weights(paths[:, 0], v) * self.edge_weights(paths[:, -1], n)
        if paths.shape[1] == 4:  # the middle edge must exist for this to be a path
            weight = weight * (self.edge_weights(v, n) != 0)
        return weight * np.einsum("pd,pd->p", self.partial[v], self.partial[n])

    def first_hop_contributions(self, u: int, i: int) -> tuple[np.ndarray, np.ndarray]:
        """:math:`C(v) = \\hat A_{uv} H_v\\cdot e_i` for every neighbour ``v`` of ``u``.

        Returns:
            ``(v, C(v))`` arrays: what the score of ``(u, i)`` owes to each edge of ``u``.
        """
        if self.final is None:
            raise ValueError("first-hop contributions need the final states (from_lightgcn)")
        v, weight = self._row(u)
        return v, weight * (self.partial[v] @ self.final[i])

    def contribution(self, path: Sequence[int]) -> float:
        """What one path carries of its score."""
        return float(self.contributions(np.asarray([path]))[0])

    def group_contribution(self, u: int, i: int, v: int, kind: str) -> tuple[float, int]:
        """Summed :math:`T(v, n)` over every ``n`` of ``kind`` joined to both ``v`` and ``i``.

        For co-user paths ``u -> v <- n -> i`` this is what all of them carry together.

        Returns:
            The summed contribution and the number of such ``n``.
        """
        lo = self.offsets[kind]
        hi = min((o for o in self.offsets.values() if o > lo), default=self.num_nodes)
        common = np.intersect1d(self.neighbours(v), self.neighbours(i), assume_unique=True)
        common = common[(common >= lo) & (common < hi)]
        if not len(common):
            return 0.0, 0
        terms = self.pair_terms(u, i, np.full(common.shape, v), common)
        return float(terms.sum()), int(len(common))

    def kind_of(self, nodes: np.ndarray) -> np.ndarray:
        """The node kind (user / item / tag / entity) of global indices."""
        kinds = sorted(self.offsets.items(), key=lambda kv: kv[1])
        starts = np.array([start for _, start in kinds])
        names = np.array([kind for kind, _ in kinds])
        return names[np.searchsorted(starts, nodes, side="right") - 1]

    def adjacent_pairs(self, u: int, i: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every 3-hop path ``u - v - n - i`` of the model's graph and what it carries.

        Returns:
            ``(v, n, T(v, n))`` arrays, one entry per path.
        """
        (nu, au), (ni, ai) = self._row(u), self._row(i)
        if not len(nu) or not len(ni):
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty, np.zeros(0)
        sub = self._matrix()[nu][:, ni].tocoo()
        v, n = nu[sub.row], ni[sub.col]
        dots = np.einsum("pd,pd->p", self.partial[v], self.partial[n])
        return v, n, au[sub.row] * ai[sub.col] * dots

    def _matrix(self) -> csr_matrix:
        """:math:`\\hat A` as a scipy CSR matrix (built once)."""
        if self._csr is None:
            from scipy.sparse import csr_matrix

            rows, cols = np.divmod(self.keys, self.num_nodes)
            self._csr = csr_matrix(
                (self.values, (rows, cols)), shape=(self.num_nodes, self.num_nodes)
            )
        return self._csr

    def _row(self, node: int) -> tuple[np.ndarray, np.ndarray]:
        """Neighbours of ``node`` and the matching entries of the normalised adjacency."""
        start = node * self.num_nodes
        lo, hi = np.searchsorted(self.keys, [start, start + self.num_nodes])
        return self.keys[lo:hi] - start, self.values[lo:hi]

    def neighbours(self, node: int) -> np.ndarray:
        """Global indices of the nodes joined to ``node`` in the model's graph."""
        return self._row(node)[0]


class _ReplacedNode(PathScorer):
    """A :class:`PathScorer` whose one node has other edges and another final state."""

    def __init__(
        self,
        base: PathScorer,
        node: int,
        neighbours: np.ndarray,
        weights: np.ndarray,
        state: np.ndarray,
    ) -> None:
        super().__init__(base.keys, base.values, base.partial, base.offsets, base.final, base.walks)
        self._base = base
        self._node = int(node)
        order = np.argsort(neighbours, kind="stable")
        self._nbrs = np.asarray(neighbours, dtype=np.int64)[order]
        self._weights = np.asarray(weights, dtype=np.float64)[order]
        self._state = np.asarray(state, dtype=np.float64)

    def state(self, node: int) -> np.ndarray:
        return self._state if node == self._node else super().state(node)

    def edge_weights(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        a, b = np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64)
        out = np.asarray(super().edge_weights(a, b), dtype=np.float64).copy()
        for mine, other in ((a == self._node, b), (b == self._node, a)):
            if mine.any():
                out[mine] = self._lookup(other[mine])
        return out

    def _lookup(self, nodes: np.ndarray) -> np.ndarray:
        if not len(self._nbrs):
            return np.zeros(len(nodes))
        pos = np.minimum(np.searchsorted(self._nbrs, nodes), len(self._nbrs) - 1)
        return np.where(self._nbrs[pos] == nodes, self._weights[pos], 0.0)

    def _matrix(self) -> csr_matrix:
        return self._base._matrix()

    def _row(self, node: int) -> tuple[np.ndarray, np.ndarray]:
        if node == self._node:
            return self._nbrs, self._weights
        return super()._row(node)
