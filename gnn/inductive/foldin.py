r"""Folding a user or an item into a trained LightGCN without retraining (:class:`FoldIn`),
and its scores with some edges removed (:class:`EdgeRemover`).

LightGCN's final vector of a node is the mean of its layer states,
:math:`e_u = \frac{1}{K+1}\sum_{k=0}^{K} x^{(k)}_u` with
:math:`x^{(k+1)}_u = \sum_{v \in N(u)} \hat A_{uv} x^{(k)}_v` and
:math:`\hat A_{uv} = 1/\sqrt{d_u d_v}`. When a node's neighbours change (a user records an
interaction; an item arrives with tags), its vector is recomputed over its *current*
neighbours :math:`N'(u)`:

.. math::
    x'^{(0)}_u = x^{(0)}_u,\qquad
    x'^{(k+1)}_u = \sum_{v \in N'(u)} \frac{x^{(k)}_v}{\sqrt{d'_u\, d'_v}},\qquad
    e'_u = \frac{1}{K+1}\sum_{k=0}^{K} x'^{(k)}_u
         = \frac{x^{(0)}_u}{K+1} + \sum_{v \in N'(u)} \hat A'_{uv} H_v

with :math:`d'_u = |N'(u)|`, :math:`d'_v` the neighbour's trained degree plus one when the
edge ``u - v`` is new (its degree in the graph with that edge), and
:math:`H = \frac{1}{K+1}\sum_{k<K} x^{(k)}` (:mod:`kgrec.gnn.models.paths`).

What is exact: the node's own layer terms :math:`x'^{(k)}_u` given the other nodes' layer
states; the normalisation of every edge of the node; the node's own degree. A node whose
neighbours did not change gets its trained vector back. What is approximated: the other
nodes keep their trained layer states :math:`x^{(k)}_v` and (apart from the new edge's
``+1``) their trained degrees; in the retrained graph the new edge would also reach them
(and through them, the node itself again). Scores are :math:`e'_u \cdot e_i` with the
items' trained vectors.

A user the model has never seen starts from :math:`x^{(0)}_u = 0` (LightGCN has no id
embedding for them). A new item starts from the text projection of its text vector,
:math:`x^{(0)}_i = W t_i`, and its neighbours are its tags. A user's neighbours may
include such new items (:class:`FoldedNode` states stand in for the trained ones).

:class:`EdgeRemover` recomputes the whole propagation without some edges instead (degrees
re-normalised): exact, and what an explanation's faithfulness is measured against.

The fold-in works on numpy arrays; :meth:`FoldIn.from_lightgcn` reads a trained model once
through the same propagation as training (:func:`kgrec.gnn.models.propagation.layer_states`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from kgrec.gnn.models.lightgcn import LightGCN


@dataclass(frozen=True)
class FoldedNode:
    """A node's layer states recomputed over its current neighbours.

    Attributes:
        layers: the node's own states :math:`x'^{(0)}, ..., x'^{(K)}`.
        neighbours: global indices of its neighbours that are nodes of the model's graph.
        weights: :math:`\\hat A'_{uv}` of each of those neighbours.
        extra: how many neighbours are folded-in nodes themselves (not in ``neighbours``).

    Shapes:
        layers: ``[K+1, d]``; neighbours, weights: ``[m]``.
    """

    layers: np.ndarray
    neighbours: np.ndarray
    weights: np.ndarray
    extra: int = 0

    @property
    def vector(self) -> np.ndarray:
        """:math:`e'_u`, the mean of the layer states (``[d]``)."""
        return self.layers.mean(0)

    @property
    def degree(self) -> int:
        """:math:`d'_u`, the number of current neighbours."""
        return len(self.neighbours) + self.extra


class FoldIn:
    """Recomputes one node's LightGCN vector over its current neighbours.

    Args:
        layers: the trained layer states :math:`x^{(0)}, ..., x^{(K-1)}` of every node.
        indptr, indices: the trained graph's neighbours in CSR form (row ``n`` is
            ``indices[indptr[n]:indptr[n+1]]``, sorted).
        offsets: first global index of ``user``, ``item``, ``tag``, ``entity``.
        text_weight: the text projection :math:`W` (None: the model uses no text).
        tag_edges: items are joined to their tags in the model's graph.

    Shapes:
        layers: ``[K, N, d]``; indptr: ``[N+1]``; text_weight: ``[d, text_dim]``.
    """

    def __init__(
        self,
        layers: np.ndarray,
        indptr: np.ndarray,
        indices: np.ndarray,
        offsets: dict[str, int],
        text_weight: np.ndarray | None = None,
        tag_edges: bool = True,
    ) -> None:
        self.layers = layers
        self.tag_edges = tag_edges
        self.indptr, self.indices = indptr, indices
        self.degree = np.diff(indptr)
        self.offsets = dict(offsets)
        self.text_weight = text_weight
        self.num_layers = int(layers.shape[0])

    @classmethod
    def from_lightgcn(cls, model: LightGCN) -> FoldIn:
        """Read the layer states, the graph and the text projection of a trained model."""
        import torch

        from kgrec.gnn.models.propagation import layer_states

        with torch.no_grad():
            x0 = model.initial_states().detach().float()
            states = layer_states(model.propagation_matrix(), x0, model.num_layers)
            layers = torch.stack(states[:-1]).cpu().numpy().astype(np.float64)
            index = model.adj_index.cpu().numpy().astype(np.int64)
            proj = model.text_proj
            weight = None if proj is None else proj.weight.detach().cpu().numpy()
        order = np.lexsort((index[1], index[0]))
        rows, cols = index[0][order], index[1][order]
        indptr = np.searchsorted(rows, np.arange(model.num_nodes + 1)).astype(np.int64)
        text_weight = None if weight is None else weight.astype(np.float64)
        return cls(layers, indptr, cols, model.offsets, text_weight, bool(model.use_kg_edges))

    def node(self, kind: str, local_index: int) -> int:
        """Global node index of a user / item / tag / entity local index."""
        return self.offsets[kind] + int(local_index)

    def neighbours(self, node: int) -> np.ndarray:
        """Global indices of ``node``'s neighbours in the trained graph (sorted)."""
        return self.indices[self.indptr[node] : self.indptr[node + 1]]

    def initial_state(self, node: int) -> np.ndarray:
        """:math:`x^{(0)}` of a node of the model (``[d]``)."""
        return self.layers[0, node]

    def text_state(self, text: np.ndarray) -> np.ndarray:
        """:math:`W t` for a text vector: a new item's initial state (zeros without text).

        Shapes:
            text: ``[text_dim]``; output: ``[d]``.
        """
        if self.text_weight is None:
            return np.zeros(self.layers.shape[2])
        return self.text_weight @ np.asarray(text, dtype=np.float64)

    def fold(
        self,
        neighbours: Sequence[int] | np.ndarray,
        node: int | None = None,
        initial: np.ndarray | None = None,
        extra: Sequence[FoldedNode] = (),
    ) -> FoldedNode:
        """A node's layer states over its current neighbours (see the module docstring).

        Args:
            neighbours: global indices of its current neighbours in the model's graph
                (duplicates are dropped).
            node: its global index when the model knows it (its trained edges tell which
                edges are new); None for a node the model has never seen.
            initial: :math:`x^{(0)}`; default: the trained one of ``node``, else zeros.
            extra: neighbours that are folded-in nodes themselves (a new item).

        Returns:
            The node's states, neighbours and edge weights.
        """
        nbrs = np.unique(np.asarray(neighbours, dtype=np.int64))
        trained = self.neighbours(node) if node is not None else nbrs[:0]
        if initial is None:
            initial = self.initial_state(node) if node is not None else None
        x0 = np.zeros(self.layers.shape[2]) if initial is None else np.asarray(initial, float)
        degree = len(nbrs) + len(extra)
        new_edge = ~np.isin(nbrs, trained, assume_unique=True)
        weights = 1.0 / np.sqrt(max(degree, 1) * (self.degree[nbrs] + new_edge))
        extra_weights = [1.0 / np.sqrt(degree * (e.degree + 1)) for e in extra]
        out = [x0]
        for k in range(self.num_layers):
            state = weights @ self.layers[k, nbrs] if len(nbrs) else np.zeros_like(x0)
            for e, w in zip(extra, extra_weights, strict=True):
                state = state + w * e.layers[k]
            out.append(state)
        return FoldedNode(np.stack(out), nbrs, weights, len(extra))


class EdgeRemover:
    """Scores of a trained LightGCN with some edges removed (degrees re-normalised)."""

    def __init__(self, model: LightGCN) -> None:
        import torch

        self.num_layers = model.num_layers
        index = model.adj_index.cpu()
        self.edges = index[:, index[0] < index[1]]  # one direction of every edge
        self.num_nodes = model.num_nodes
        with torch.no_grad():
            self.x0 = model.initial_states().detach().cpu()

    def scores_without(
        self, a: int, b: int | Sequence[int], users: Sequence[int], items: Sequence[int]
    ) -> np.ndarray:
        """Scores of ``(users[j], items[j])`` (global node indices) without the edges from
        ``a`` to each of ``b`` (one node or several)."""
        import torch

        from kgrec.gnn.models.propagation import adjacency_csr, layer_states, normalised_adjacency

        keep = torch.ones(self.edges.size(1), dtype=torch.bool)
        for other in np.atleast_1d(np.asarray(b, dtype=np.int64)).tolist():
            lo, hi = min(a, other), max(a, other)
            keep &= ~((self.edges[0] == lo) & (self.edges[1] == hi))
        index, value = normalised_adjacency(self.edges[:, keep], self.num_nodes)
        adj = adjacency_csr(index, value, self.num_nodes)
        with torch.no_grad():
            out = torch.stack(layer_states(adj, self.x0, self.num_layers)).mean(0)
        return (out[torch.tensor(list(users))] * out[torch.tensor(list(items))]).sum(1).numpy()
