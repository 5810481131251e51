"""Should ratings weigh the evidence? Validation Recall@20 / NDCG@20 of ``ease`` with the
ratings entering its history weights (and optionally its fit), and how often each variant's
strongest interaction behind a recommendation is one the user rated at or above their mean.

    python benchmarks/rating_weights.py            # ml-latest-small, temporal split

Variants (``f(r)`` multiplies the recency weight of an interaction rated ``r``; the user's
mean rating is ``m``):

- ``none``: every interaction counts alike (the shipped model);
- ``linear``: ``f = r / 5``;
- ``above-mean``: ``f = 1`` at or above ``m``, ``0.25`` below (weaker evidence);
- ``signed``: ``f = r - m`` (a rating below the mean is negative evidence);
- each also with ``+fit``: EASE's item-item weights fitted on the same weighted matrix.

Everything is fitted on training minus validation and scored on validation only; test is
never touched. "Top interaction rated well" is, over each validation user's top 10, the
share of items whose largest term ``C(v)`` comes from an interaction rated ``>= m``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import scipy.sparse as sp
import torch

from kgrec.gnn.data import GraphTensors
from kgrec.gnn.models.ease import EASE, ease_weights
from kgrec.gnn.training.evaluate import evaluate
from kgrec.gnn.training.splits import temporal_split
from kgrec.loaders.movielens import read_movielens

DATA = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "ml-latest-small"


def rating_factor(kind: str, rating: np.ndarray, mean: np.ndarray) -> np.ndarray:
    """``f(r)`` of each interaction (module docstring)."""
    if kind == "none":
        return np.ones_like(rating)
    if kind == "linear":
        return rating / 5.0
    if kind == "above-mean":
        return np.where(rating >= mean, 1.0, 0.25)
    if kind == "signed":
        return rating - mean
    raise ValueError(kind)


def top_interaction_rated_well(model: EASE, tensors, train, users, ratings, means, k=10):
    """Share of top-``k`` items whose largest ``C(v)`` comes from an interaction rated at or
    above the user's mean."""
    edges = tensors.edge_index[:, train].numpy()
    weights = model.history_weight.numpy()
    hist_p = model.history_factors.numpy()
    item_q = model.item_factors.numpy()
    scores = model.score_users(torch.as_tensor(users)).numpy()
    good = total = 0
    for row, u in enumerate(users):
        mine = edges[0] == u
        items, w, r = edges[1, mine], weights[mine], ratings[mine]
        s = scores[row].copy()
        s[items] = -np.inf
        for i in np.argsort(-s)[:k]:
            c = w * (hist_p[items] @ item_q[i])
            good += r[int(np.argmax(c))] >= means[u]
            total += 1
    return good / max(total, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--users", type=int, default=300, help="users for the rated-well share")
    args = parser.parse_args()
    torch.manual_seed(0)
    tensors = GraphTensors.from_dataset(read_movielens(args.data))
    split = temporal_split(tensors)
    train = split.train
    u, i = tensors.edge_index[:, train].numpy()
    rating = tensors.rating[train].numpy().astype(np.float64)
    sums = np.bincount(u, weights=rating, minlength=tensors.num_users)
    means_by_user = sums / np.maximum(np.bincount(u, minlength=tensors.num_users), 1)
    mean = means_by_user[u]
    rng = np.random.default_rng(0)
    sample = np.sort(
        rng.choice(
            np.unique(tensors.edge_index[0, split.val].numpy()), size=args.users, replace=False
        )
    )
    print("| variant | val Recall@20 | val NDCG@20 | top interaction rated >= mean |")
    print("| --- | --- | --- | --- |")
    for kind in ("none", "linear", "above-mean", "signed"):
        for weighted_fit in (False, True):
            if kind == "none" and weighted_fit:
                continue
            factor = rating_factor(kind, rating, mean)
            model = EASE.from_tensors(tensors, train, rating_weight="none")
            model.solve(tensors, train)
            if weighted_fit:
                matrix = sp.csr_matrix(
                    (factor.astype(np.float32), (u, i)),
                    shape=(tensors.num_users, tensors.num_items),
                )
                b = ease_weights(matrix, model.lam)
                left, s, v = torch.svd_lowrank(b, q=model.rank, niter=4)
                model.history_factors, model.item_factors = (left * s).contiguous(), v.contiguous()
            model.history_weight = model.history_weight * torch.from_numpy(
                factor.astype(np.float32)
            )
            model._drop_caches()
            model.eval()
            metrics = evaluate(model, tensors, train, split.val, ks=(20,), extras=False)
            well = top_interaction_rated_well(model, tensors, train, sample, rating, means_by_user)
            name = kind + (" +fit" if weighted_fit else "")
            print(
                f"| {name} | {metrics['recall@20']:.4f} | {metrics['ndcg@20']:.4f} | {well:.3f} |"
            )


if __name__ == "__main__":
    main()
