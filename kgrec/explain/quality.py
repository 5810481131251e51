"""How good are the explanations? Coverage, path length and faithfulness, measured.

Faithfulness: for a recommendation whose top path starts with the user's interaction with
item ``v``, remove that one interaction from the model's graph, recompute the propagation
and the score, and compare the drop with removing a random other interaction of the same
user. Faithful explanations point at the interactions the score really rests on, so the
first drop should be clearly larger on average.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from kgrec.core.errors import KgrecError
from kgrec.explain.types import Recommendations
from kgrec.explain.weights import PathWeights
from kgrec.gnn.lightgcn import LightGCN
from kgrec.gnn.model import EmbeddingModel

log = logging.getLogger(__name__)


@dataclass
class QualityReport:
    """Explanation quality over a sample of users (see the module docstring)."""

    users: int
    recommendations: int
    coverage: float
    mean_path_length: float
    mean_top_share: float
    mean_top_interaction_share: float
    faithfulness_pairs: int
    mean_drop_top_path: float
    mean_drop_random: float
    top_beats_random: float

    def as_dict(self) -> dict[str, float]:
        """The measures by name."""
        return dict(self.__dict__)


class ExplainedRecommender(Protocol):
    """What the measures need of a recommender (:class:`kgrec.Recommender` has it)."""

    @property
    def user_ids(self) -> Sequence[str]:
        """The users the model knows."""
        ...

    @property
    def weights(self) -> PathWeights | None:
        """The exact path weights (None: the model has no decomposition)."""
        ...

    @property
    def model(self) -> EmbeddingModel:
        """The live model."""
        ...

    def recommend(self, user_id: str, k: int = 10, explain: bool = True) -> Recommendations:
        """The ``k`` best items for a user, explained."""
        ...


class EdgeRemover:
    """Scores of a LightGCN with one edge removed (degrees re-normalised)."""

    def __init__(self, model: LightGCN) -> None:
        import torch

        self.model = model
        index = model.adj_index.cpu()
        self.edges = index[:, index[0] < index[1]]  # one direction of every edge
        self.num_nodes = model.num_nodes
        with torch.no_grad():
            self.x0 = model.initial_states().detach().cpu()

    def scores_without(
        self, a: int, b: int, users: Sequence[int], items: Sequence[int]
    ) -> np.ndarray:
        """Scores of ``(users[j], items[j])`` (global node indices) without edge ``a - b``."""
        import torch

        from kgrec.gnn.propagation import adjacency_csr, layer_states, normalised_adjacency

        lo, hi = min(a, b), max(a, b)
        keep = ~((self.edges[0] == lo) & (self.edges[1] == hi))
        index, value = normalised_adjacency(self.edges[:, keep], self.num_nodes)
        adj = adjacency_csr(index, value, self.num_nodes)
        with torch.no_grad():
            out = torch.stack(layer_states(adj, self.x0, self.model.num_layers)).mean(0)
        return (out[torch.tensor(list(users))] * out[torch.tensor(list(items))]).sum(1).numpy()


def explanation_quality(
    rec: ExplainedRecommender, num_users: int = 50, k: int = 10, seed: int = 0,
    show_progress: bool = False,
) -> QualityReport:  # fmt: skip
    """Measure coverage, mean path length and faithfulness over ``num_users`` users.

    Args:
        rec: an open :class:`kgrec.Recommender` whose live model has an exact path
            decomposition (LightGCN).

    Raises:
        KgrecError: the live model has no exact path decomposition.
    """
    from tqdm.auto import tqdm

    weights, model = rec.weights, rec.model
    if weights is None or not isinstance(model, LightGCN):
        raise KgrecError(
            f"explanation quality needs a LightGCN live model, not {type(model).__name__}"
        )
    remover = EdgeRemover(model)
    rng = np.random.default_rng(seed)
    sample = rng.choice(len(rec.user_ids), size=min(num_users, len(rec.user_ids)), replace=False)
    total = covered = 0
    lengths: list[int] = []
    top_shares: list[float] = []
    top_hops: list[float] = []
    drops_top: list[float] = []
    drops_rand: list[float] = []
    for u in tqdm(sample, desc="users", disable=not show_progress):
        user_id = rec.user_ids[u]
        node_u = weights.node("user", user_id)
        trained = set(weights.neighbour_items(user_id))
        for r in rec.recommend(user_id, k=k, explain=True):
            total += 1
            paths = r.explanation.paths if r.explanation is not None else []
            if not paths:
                continue
            covered += 1
            lengths.append(len(paths[0].nodes) - 1)
            top_shares.append(paths[0].share or 0.0)
            top_hops.append(paths[0].interaction_share or 0.0)
            via = paths[0].nodes[1]
            node_i = weights.node("item", r.item_id)
            if via.kind != "item" or via.id not in trained or len(trained) < 2:
                continue
            others = sorted(trained - {via.id})
            rand = others[rng.integers(len(others))]
            node_top, node_rand = weights.node("item", via.id), weights.node("item", rand)
            if node_u is None or node_i is None or node_top is None or node_rand is None:
                continue
            for node_v, sink in ((node_top, drops_top), (node_rand, drops_rand)):
                new = remover.scores_without(node_u, node_v, [node_u], [node_i])[0]
                sink.append(r.score - float(new))
    drops_top_a, drops_rand_a = np.array(drops_top), np.array(drops_rand)
    return QualityReport(
        users=len(sample),
        recommendations=total,
        coverage=covered / total if total else 0.0,
        mean_path_length=float(np.mean(lengths)) if lengths else 0.0,
        mean_top_share=float(np.mean(top_shares)) if top_shares else 0.0,
        mean_top_interaction_share=float(np.mean(top_hops)) if top_hops else 0.0,
        faithfulness_pairs=len(drops_top),
        mean_drop_top_path=float(drops_top_a.mean()) if len(drops_top_a) else 0.0,
        mean_drop_random=float(drops_rand_a.mean()) if len(drops_rand_a) else 0.0,
        top_beats_random=float((drops_top_a > drops_rand_a).mean()) if len(drops_top_a) else 0.0,
    )
