"""Exact path weights through the model's own decomposition (:mod:`kgrec.gnn.models.paths`).

:class:`PathWeights` joins a :class:`~kgrec.gnn.models.paths.PathScorer` to the model's id maps, so
that paths named by store ids get their exact terms of the score.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

from kgrec.core.errors import KgrecError
from kgrec.explain.types import CandidatePath, ScoreDecomposition

if TYPE_CHECKING:
    from kgrec.gnn.inductive.foldin import FoldedNode
    from kgrec.gnn.models.paths import PathScorer

KINDS = (("user", "users"), ("item", "items"), ("tag", "tags"), ("entity", "entities"))


class PathWeights:
    """Each path's exact term of a model score, for paths named by store ids.

    Args:
        scorer: the model's exact decomposition (``model.path_scorer()``).
        id_maps: the model's ids per kind (``users``, ``items``, ``tags``, ``entities``),
            in local index order.
    """

    def __init__(self, scorer: PathScorer, id_maps: Mapping[str, Sequence[str]]) -> None:
        self.scorer = scorer
        self._local = {kind: {v: j for j, v in enumerate(id_maps[key])} for kind, key in KINDS}
        self._ids = [v for _, key in KINDS for v in id_maps[key]]
        self._folded: tuple[str, int] | None = None

    def node(self, kind: str, node_id: str) -> int | None:
        """The model's global node index of a store id (None: the model does not know it)."""
        if self._folded is not None and kind == "user" and node_id == self._folded[0]:
            return self._folded[1]
        local = self._local[kind].get(node_id)
        return None if local is None else int(self.scorer.node(kind, local))

    def folded(self, user_id: str, folded: FoldedNode) -> PathWeights:
        """These weights with ``user_id`` folded in over its current neighbours.

        Every term of the user's side is then that of the folded-in vector (the user's edges
        and their :math:`\\hat A'`); the items keep their trained states and edges, as in
        the served score (:mod:`kgrec.gnn.inductive.foldin`). A user the model never saw gets the
        index one past the model's nodes.
        """
        view = copy.copy(self)
        known = self.node("user", user_id)
        u = known if known is not None else self.scorer.num_nodes
        view.scorer = self.scorer.with_node(u, folded.neighbours, folded.weights, folded.vector)
        view._folded = (user_id, u)
        return view

    def node_id(self, index: int) -> str:
        """The store id (a tag's name) of a global node index."""
        return self._ids[index]

    def first_hops(self, u: int, i: int) -> dict[int, float]:
        """:math:`C(v)` by neighbour ``v`` of ``u``: what the score owes to each edge of ``u``."""
        nodes, values = self.scorer.first_hop_contributions(u, i)
        return dict(zip(nodes.tolist(), values.tolist(), strict=True))

    def item_contributions(
        self, user_id: str, item_ids: Sequence[str]
    ) -> dict[str, dict[str, float]] | None:
        """:math:`C(v)` by the id of each item ``v`` of the user's, for each of ``item_ids``
        the model knows (None: the model does not know the user)."""
        u = self.node("user", user_id)
        if u is None:
            return None
        out: dict[str, dict[str, float]] = {}
        for item_id in item_ids:
            i = self.node("item", item_id)
            if i is None:
                continue
            nodes, values = self.scorer.first_hop_contributions(u, i)
            items = self.scorer.kind_of(nodes) == "item" if len(nodes) else nodes.astype(bool)
            out[item_id] = {
                self._ids[int(v)]: float(c)
                for v, c in zip(nodes[items], values[items], strict=True)
            }
        return out

    def neighbour_items(self, user_id: str) -> list[str]:
        """Ids of the items ``user_id`` is joined to in the model's graph (its training edges)."""
        u = self.node("user", user_id)
        if u is None:
            return []
        nodes = self.scorer.neighbours(u)
        return [self.node_id(int(n)) for n in nodes[self.scorer.kind_of(nodes) == "item"]]

    def contributions(self, paths: Sequence[CandidatePath]) -> np.ndarray:
        """Exact term of each path (0 where the model lacks a node or an edge).

        With walks (LightGCN) a path carries its walk term :math:`T(v, n)`; a ``co_users``
        path stands for every co-user of its via item: its term is theirs together.
        Without walks (``ease``) the score splits over the user's interactions only, so
        the paths in ``paths`` that leave the user through the same interaction ``v``
        towards the same item divide its :math:`C(v)` evenly between them: the terms of
        the paths through ``v`` add up to :math:`C(v)`, each interaction counted once.
        """
        if not self.scorer.walks:
            return self._interaction_terms(paths)
        contrib = np.zeros(len(paths))
        by_length: dict[int, list[int]] = {}
        for j, path in enumerate(paths):
            if path.kind == "co_users":
                idx = [self.node(n.kind, n.id) for n in path.nodes]
                u, v, i = idx[0], idx[1], idx[3]
                if u is not None and v is not None and i is not None:
                    contrib[j] = self.scorer.group_contribution(u, i, v, "user")[0]
                continue
            by_length.setdefault(len(path.nodes), []).append(j)
        for rows in by_length.values():
            walks = [[self.node(n.kind, n.id) for n in paths[j].nodes] for j in rows]
            known = [k for k, walk in enumerate(walks) if None not in walk]
            if known:
                matrix = np.array([walks[k] for k in known], dtype=np.int64)
                contrib[np.array(rows)[known]] = self.scorer.contributions(matrix)
        return contrib

    def _interaction_terms(self, paths: Sequence[CandidatePath]) -> np.ndarray:
        """:meth:`contributions` of a model without walks: :math:`C(v)` shared evenly by the
        paths through ``v`` (a path that starts elsewhere, a user's own tag, carries 0)."""
        contrib = np.zeros(len(paths))
        keys = [
            (
                self.node("user", p.nodes[0].id),
                self.node(p.nodes[1].kind, p.nodes[1].id),
                self.node("item", p.nodes[-1].id),
            )
            for p in paths
        ]
        counts: dict[tuple[int | None, int | None, int | None], int] = {}
        for key in keys:
            counts[key] = counts.get(key, 0) + 1
        hops: dict[tuple[int, int], dict[int, float]] = {}
        for j, (u, v, i) in enumerate(keys):
            if u is None or v is None or i is None:
                continue
            if (u, i) not in hops:
                hops[(u, i)] = self.first_hops(u, i)
            contrib[j] = hops[(u, i)].get(v, 0.0) / counts[(u, v, i)]
        return contrib

    def decompose(self, u: int, i: int, score: float) -> ScoreDecomposition:
        """The score of ``(u, i)`` (global indices) split by the user's edges and by walks.

        The own states come from the final states less what the first propagation step
        brings (``x_u / (K+1) = e_u - sum_v A_uv H_v``); every term is the model's own.
        """
        scorer = self.scorer
        if scorer.final is None:
            raise KgrecError("a decomposition needs the final states (PathScorer.from_lightgcn)")
        from_user = self._first_step(u)
        from_item = self._first_step(i)
        final_i = scorer.state(i)
        own_u, own_i = scorer.state(u) - from_user, final_i - from_item
        hops, values = scorer.first_hop_contributions(u, i)
        _, _, terms = scorer.adjacent_pairs(u, i)
        joined = float(terms.sum())
        return ScoreDecomposition(
            score=score,
            user_own=float(own_u @ final_i),
            interactions={
                self.node_id(int(v)): float(c) for v, c in zip(hops, values, strict=True)
            },
            own_states=float(own_u @ final_i + from_user @ own_i),
            paths=joined,
            unjoined=float(from_user @ from_item) - joined,
        )

    def _first_step(self, node: int) -> np.ndarray:
        """:math:`\\sum_v \\hat A_{node,v} H_v`: what the neighbours bring to a final state."""
        scorer = self.scorer
        nodes = scorer.neighbours(node)
        weights = scorer.edge_weights(np.full(nodes.shape, node), nodes)
        return weights @ scorer.partial[nodes]
