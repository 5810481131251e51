"""How good are the explanations? Coverage, path length and faithfulness, measured.

Faithfulness: for a recommendation whose top path starts with the user's interaction with
item ``v``, remove that one interaction from the model's graph, recompute the propagation
and the score, and compare the drop with removing a random other interaction of the same
user. Faithful explanations point at the interactions the score really rests on, so the
first drop should be clearly larger on average.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

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
        return dict(self.__dict__)


class EdgeRemover:
    """Scores of a LightGCN with one user-item edge removed (degrees re-normalised)."""

    def __init__(self, model) -> None:
        import torch

        self.model = model
        index = model.adj_index.cpu()
        self.edges = index[:, index[0] < index[1]]  # one direction of every edge
        self.num_nodes = model.num_nodes
        with torch.no_grad():
            self.x0 = model.initial_states().detach().cpu()

    def scores_without(self, a: int, b: int, users: list[int], items: list[int]) -> np.ndarray:
        """Scores ``(users[j], items[j])`` (local indices) after removing edge ``a - b``."""
        import torch

        from kgrec.gnn.propagation import adjacency_csr, layer_states, normalised_adjacency

        lo, hi = min(a, b), max(a, b)
        keep = ~((self.edges[0] == lo) & (self.edges[1] == hi))
        index, value = normalised_adjacency(self.edges[:, keep], self.num_nodes)
        adj = adjacency_csr(index, value, self.num_nodes)
        with torch.no_grad():
            out = torch.stack(layer_states(adj, self.x0, self.model.num_layers)).mean(0)
        off = self.model.offsets
        u = out[torch.tensor(users) + off["user"]]
        i = out[torch.tensor(items) + off["item"]]
        return (u * i).sum(1).numpy()


def explanation_quality(rec, num_users: int = 50, k: int = 10, seed: int = 0,
                        show_progress: bool = False) -> QualityReport:  # fmt: skip
    """Measure coverage, mean path length and faithfulness over ``num_users`` users.

    Args:
        rec: an open :class:`kgrec.Recommender` whose live model is LightGCN.
    """
    from tqdm.auto import tqdm

    from kgrec.core.errors import KgrecError

    if rec.scorer is None:
        raise KgrecError(f"explanation quality needs a LightGCN live model, not {rec.live.name}")
    model = rec.live.model()
    remover = EdgeRemover(model)
    rng = np.random.default_rng(seed)
    sample = rng.choice(len(rec.user_ids), size=min(num_users, len(rec.user_ids)), replace=False)
    total = covered = 0
    lengths, top_shares, top_hops, drops_top, drops_rand = [], [], [], [], []
    for u in tqdm(sample, desc="users", disable=not show_progress):
        user_id = rec.user_ids[u]
        recs = rec.recommend(user_id, k=k, explain=True)
        trained = {rec.item_ids[j] for j in _neighbour_items(rec, int(u))}
        for r in recs:
            total += 1
            paths = r.explanation.paths
            if not paths:
                continue
            covered += 1
            lengths.append(len(paths[0].nodes) - 1)
            top_shares.append(paths[0].share or 0.0)
            top_hops.append(paths[0].interaction_share or 0.0)
            via = paths[0].nodes[1]
            if via.kind != "item" or via.id not in trained or len(trained) < 2:
                continue
            j_item = rec._index["item"][r.item_id]
            others = sorted(trained - {via.id})
            rand = others[rng.integers(len(others))]
            node_u = rec.scorer.node("user", int(u))
            base = float(rec.user_emb[u] @ rec.item_emb[j_item])
            for target, sink in ((via.id, drops_top), (rand, drops_rand)):
                node_v = rec.scorer.node("item", rec._index["item"][target])
                new = remover.scores_without(node_u, node_v, [int(u)], [j_item])[0]
                sink.append(base - float(new))
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


def _neighbour_items(rec, u: int) -> list[int]:
    """Local indices of the items user ``u`` is joined to in the model's graph."""
    first = rec.scorer.offsets["item"]
    nodes = rec.scorer.neighbours(rec.scorer.node("user", u))
    return [int(t - first) for t in nodes if first <= t < first + len(rec.item_ids)]
