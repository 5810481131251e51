"""LightGCN over the unified user / item / tag / entity graph, fused with text vectors."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Self

import numpy as np
import torch
from torch import nn

from kgrec.gnn.data import GraphTensors
from kgrec.gnn.models.model import EmbeddingModel, Embeddings, History
from kgrec.gnn.models.propagation import (
    ColumnBlocks,
    adjacency_csr,
    column_blocks,
    layer_mean,
    normalised_adjacency,
)
from kgrec.gnn.models.registry import register

if TYPE_CHECKING:
    from kgrec.gnn.inductive.foldin import EdgeRemover, FoldedNode, FoldIn
    from kgrec.gnn.models.paths import PathScorer


@register
class LightGCN(EmbeddingModel):
    r"""LightGCN (He et al., "LightGCN: Simplifying and Powering Graph Convolution Network
    for Recommendation", SIGIR 2020) on users + items + tags + entities, with text fusion.

    .. math::
        x^{(0)}_v = E_v + W t_v,\qquad x^{(k+1)} = \hat A x^{(k)},\qquad
        e = \frac{1}{K+1}\sum_{k=0}^{K} x^{(k)} = \frac{1}{K+1}\sum_{k=0}^{K}\hat A^k x^{(0)},
        \qquad \hat y_{ui} = e_u^\top e_i

    where :math:`E` is the id embedding, :math:`t_v` the text vector of an item or tag (zero
    otherwise, ``use_text``) and :math:`\hat A = D^{-1/2} A D^{-1/2}` the normalised adjacency
    of training interactions plus item-tag and item-entity edges (``use_kg_edges``).

    Each graph path's exact share of a score comes from :meth:`path_scorer`
    (:mod:`kgrec.gnn.models.paths`), which steps through the same propagation
    (:mod:`kgrec.gnn.models.propagation`). Users with interactions recorded after training
    and items added after it are folded in over their current neighbours
    (:meth:`fold_in_user`, :meth:`place_items`: :mod:`kgrec.gnn.inductive.foldin`).

    Node numbering: users ``[0, U)``, items ``[U, U+I)``, tags, then entities (:attr:`offsets`).

    Shapes:
        forward: ``() -> Embeddings(users [U, d], items [I, d], users0 [U, d], items0 [I, d])``.
        score_users: ``[n] -> [n, I]``.
    """

    name = "lightgcn"

    def __init__(
        self,
        num_users: int,
        num_items: int,
        num_tags: int = 0,
        num_entities: int = 0,
        embedding_dim: int = 64,
        num_layers: int = 3,
        text_dim: int = 0,
        use_text: bool = True,
        use_kg_edges: bool = True,
    ) -> None:
        super().__init__()
        self.num_users, self.num_items = num_users, num_items
        self.num_tags, self.num_entities = num_tags, num_entities
        self.embedding_dim, self.num_layers = embedding_dim, num_layers
        self.text_dim = text_dim if use_text else 0
        self.use_text, self.use_kg_edges = use_text and text_dim > 0, use_kg_edges
        self.num_nodes = num_users + num_items + num_tags + num_entities
        self.offsets = {
            "user": 0,
            "item": num_users,
            "tag": num_users + num_items,
            "entity": num_users + num_items + num_tags,
        }
        self.embedding = nn.Embedding(self.num_nodes, embedding_dim)
        nn.init.normal_(self.embedding.weight, std=0.1)
        self.text_proj = (
            nn.Linear(self.text_dim, embedding_dim, bias=False) if self.use_text else None
        )
        if self.text_proj is not None:
            nn.init.normal_(self.text_proj.weight, std=0.1 / math.sqrt(max(self.text_dim, 1)))
        self.register_buffer("adj_index", torch.zeros(2, 0, dtype=torch.long))
        self.register_buffer("adj_value", torch.zeros(0))
        self.register_buffer("item_text", torch.zeros(num_items, self.text_dim))
        self.register_buffer("tag_text", torch.zeros(num_tags, self.text_dim))
        self._adj: torch.Tensor | None = None
        self._operator: torch.Tensor | ColumnBlocks | None = None
        self._fold: FoldIn | None = None
        self._remover: EdgeRemover | None = None

    # construction -------------------------------------------------------------------------
    @classmethod
    def from_tensors(
        cls, tensors: GraphTensors, train_idx: torch.Tensor | None = None, **options: Any
    ) -> LightGCN:
        """Build on ``tensors`` with the interactions ``train_idx`` (all when None) as the
        only user edges; ``options`` are constructor arguments."""
        interactions = tensors.edge_index if train_idx is None else tensors.edge_index[:, train_idx]
        text_dim = tensors.item_text.size(1) if tensors.item_text is not None else 0
        model = cls(
            tensors.num_users,
            tensors.num_items,
            tensors.num_tags,
            tensors.num_entities,
            text_dim=text_dim,
            **options,
        )
        model.set_graph(
            interactions,
            tensors.item_tag_index,
            tensors.item_entity_index,
            tensors.item_text,
            tensors.tag_text,
        )
        return model

    def set_graph(
        self,
        interactions: torch.Tensor,
        item_tags: torch.Tensor | None = None,
        item_entities: torch.Tensor | None = None,
        item_text: torch.Tensor | None = None,
        tag_text: torch.Tensor | None = None,
    ) -> None:
        """Set the propagation graph and text features (local indices per node type)."""
        o = self.offsets
        parts = [torch.stack([interactions[0], interactions[1] + o["item"]])]
        if self.use_kg_edges and item_tags is not None and item_tags.numel():
            parts.append(torch.stack([item_tags[0] + o["item"], item_tags[1] + o["tag"]]))
        if self.use_kg_edges and item_entities is not None and item_entities.numel():
            parts.append(
                torch.stack([item_entities[0] + o["item"], item_entities[1] + o["entity"]])
            )
        dev = self.embedding.weight.device
        index, value = normalised_adjacency(torch.cat(parts, 1).cpu(), self.num_nodes)
        self.adj_index, self.adj_value = index.to(dev), value.to(dev)
        if self.use_text and item_text is not None:
            self.item_text = item_text.to(dev, torch.float32)
        if self.use_text and tag_text is not None:
            self.tag_text = tag_text.to(dev, torch.float32)
        self._drop_caches()

    def use_interactions(self, tensors: GraphTensors, idx: torch.Tensor) -> None:
        """Propagate over the interactions ``idx`` (plus the item-tag and item-entity edges)."""
        self.set_graph(
            tensors.edge_index[:, idx],
            tensors.item_tag_index,
            tensors.item_entity_index,
            tensors.item_text,
            tensors.tag_text,
        )

    def config(self) -> dict[str, Any]:
        return {
            "num_users": self.num_users,
            "num_items": self.num_items,
            "num_tags": self.num_tags,
            "num_entities": self.num_entities,
            "embedding_dim": self.embedding_dim,
            "num_layers": self.num_layers,
            "text_dim": self.text_dim,
            "use_text": self.use_text,
            "use_kg_edges": self.use_kg_edges,
        }

    @classmethod
    def from_state(cls, config: dict[str, Any], state: dict[str, torch.Tensor]) -> LightGCN:
        model = cls.from_config(config)
        model.adj_index, model.adj_value = state["adj_index"], state["adj_value"]
        model.load_state_dict(state)
        return model.eval()

    # propagation --------------------------------------------------------------------------
    def propagation_matrix(self) -> torch.Tensor:
        """The normalised adjacency :math:`\\hat A` (sparse CSR, ``[N, N]``, symmetric)."""
        dev = self.embedding.weight.device
        if self._adj is None or self._adj.device != dev:
            self._adj = adjacency_csr(self.adj_index, self.adj_value, self.num_nodes, dev)
        return self._adj

    def propagation_operator(self) -> torch.Tensor | ColumnBlocks:
        """:meth:`propagation_matrix` as the forward pass multiplies by it: in column blocks
        on the CPU once the states outgrow the cache (:func:`column_blocks`), aligned to the
        node types, so that each block's products reach the rows of the types it links to."""
        adj = self.propagation_matrix()
        if self._operator is None or self._operator.device != adj.device:
            self._operator = column_blocks(adj, self.embedding_dim, list(self.offsets.values()))
        return self._operator

    def initial_states(self) -> torch.Tensor:
        """:math:`x^{(0)}` for all nodes, ``[N, d]``: the text projections added to the item
        and tag rows inside the products (``addmm``), with no zero-filled text rows."""
        x = self.embedding.weight
        if self.text_proj is None:
            return x
        users, items, tags, entities = x.split(
            [self.num_users, self.num_items, self.num_tags, self.num_entities]
        )
        weight = self.text_proj.weight.t()
        return torch.cat(
            [
                users,
                torch.addmm(items, self.item_text, weight),
                torch.addmm(tags, self.tag_text, weight),
                entities,
            ]
        )

    def forward(self) -> Embeddings:
        adj = self.propagation_operator()
        with torch.autocast(device_type=adj.device.type, enabled=False):
            x0 = self.initial_states().float()
            out = layer_mean(adj, x0, self.num_layers)
        sizes = [self.num_users, self.num_items, self.num_nodes - self.num_users - self.num_items]
        users, items, _ = out.split(sizes)  # one backward cat, not a zero-filled copy a slice
        users0, items0, _ = x0.split(sizes)
        return Embeddings(users, items, users0, items0)

    def path_scorer(self) -> PathScorer:
        """Each path's exact share of a score (:mod:`kgrec.gnn.models.paths`)."""
        from kgrec.gnn.models.paths import PathScorer

        return PathScorer.from_lightgcn(self)

    # users and items training did not see -------------------------------------------------
    def fold_in(self) -> FoldIn:
        """The fold-in of the trained model (read once, until the weights or graph change)."""
        from kgrec.gnn.inductive.foldin import FoldIn

        if self._fold is None:
            self._fold = FoldIn.from_lightgcn(self)
        return self._fold

    def fold_in_user(self, history: History) -> FoldedNode | None:
        """The user's states over their current neighbours
        (:meth:`~kgrec.gnn.inductive.foldin.FoldIn.fold`), or None when they are the trained
        ones (a known user with nothing recorded since) or the user has none.

        A user the model knows keeps their trained neighbours and gains every item recorded
        while serving; a user the model never saw has every item of their history. Items
        placed after training join through their folded states (the node's ``extra``).
        """
        fold = self.fold_in()
        rows = np.ones(len(history.items), dtype=bool)
        if history.user is not None:
            rows = history.recorded.astype(bool)
        model_items = history.items[rows & history.trained]
        extra = [
            history.placed[int(j)]
            for j in history.items[rows & ~history.trained]
            if int(j) in history.placed
        ]
        nodes = np.array([fold.node("item", j) for j in model_items], dtype=np.int64)
        if history.user is None:
            if not len(nodes) and not extra:
                return None
            return fold.fold(nodes, extra=extra)
        u = fold.node("user", history.user)
        trained = fold.neighbours(u)
        if not extra and np.isin(nodes, trained).all():
            return None
        return fold.fold(np.concatenate([trained, nodes]), node=u, extra=extra)

    def place_items(
        self, text: Sequence[np.ndarray | None], tags: Sequence[Sequence[int]]
    ) -> list[FoldedNode | None]:
        """Every new item folded in over its tags (with ``use_kg_edges``), from the text
        projection of its text vector (zeros without one)."""
        fold = self.fold_in()
        out: list[FoldedNode | None] = []
        for t, item_tags in zip(text, tags, strict=True):
            initial = fold.text_state(t) if t is not None else None
            nbrs = [fold.node("tag", k) for k in item_tags] if fold.tag_edges else []
            out.append(fold.fold(nbrs, initial=initial))
        return out

    def score_without(self, user: int, item: int, removed: Sequence[int]) -> float:
        """The score once the edges from ``user`` to ``removed`` are gone, by a full
        propagation over the reduced graph (degrees re-normalised)."""
        from kgrec.gnn.inductive.foldin import EdgeRemover

        if self._remover is None:
            self._remover = EdgeRemover(self)
        return float(self._remover.scores_without(user, list(removed), [user], [item])[0])

    def text_vectors(self) -> torch.Tensor | None:
        """The items' text vectors the model reads (None without ``use_text``)."""
        return self.item_text if self.use_text else None

    # caches -------------------------------------------------------------------------------
    def train(self, mode: bool = True) -> Self:
        self._fold, self._remover = None, None
        return super().train(mode)

    def _drop_caches(self) -> None:
        super()._drop_caches()
        self._adj, self._operator = None, None
        self._fold, self._remover = None, None

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.num_nodes}, {self.embedding_dim}, "
            f"num_layers={self.num_layers})"
        )
