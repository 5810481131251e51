"""Full-ranking evaluation on the device, in user chunks (:func:`evaluate`).

Definitions (per user ``u`` with test set ``T_u`` and top-K list ``L_u``; averaged over the
users with at least one test interaction):

- ``recall@K = |L_u ∩ T_u| / |T_u|``; ``precision@K = |L_u ∩ T_u| / K``;
  ``hit_rate@K = [L_u ∩ T_u ≠ ∅]``; ``mrr@K = 1 / rank of the first hit`` (0 if none);
  ``ndcg@K = Σ_{r: L_u[r] ∈ T_u} 1/log2(r+2) / Σ_{r < min(|T_u|, K)} 1/log2(r+2)``.
- ``coverage@K``: distinct items over all top-K lists / number of items.
- ``novelty@K``: mean over all recommended items of ``-log2 p_i`` with ``p_i = (c_i + 1) /
  (C + I)``, ``c_i`` the item's training count, ``C`` the number of training interactions
  (add-one smoothing keeps never-seen items finite).
- ``diversity@K``: mean over lists of the mean pairwise ``1 - cos`` of the items' text
  vectors (only when the tensors carry item text).
- ``cold_users/*``: the ranking metrics over users with ``<= cold_threshold`` training
  interactions.
- ``cold_items/*``: the ranking metrics with each user's test set restricted to cold items
  (``<= cold_threshold`` training interactions), over users with at least one such test
  item; the ranking is still over all items.

Keys of a group (``cold_users/``, ``cold_items/``, ``diversity``) are absent when the group is
empty (or there is no item text).

Items the user has in ``train_idx`` (and ``exclude_idx``, e.g. validation when scoring the
test split) are masked to ``-inf`` before ranking.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import torch

from kgrec.gnn.data import GraphTensors


class Scorer(Protocol):
    def score_users(self, users: torch.Tensor) -> torch.Tensor:
        """Scores ``[n, num_items]`` for the user indices ``users`` ``[n]``."""


def _by_user(edges: torch.Tensor, num_users: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Edges sorted by user and the CSR row pointer ``[U + 1]``."""
    order = torch.argsort(edges[0], stable=True)
    edges = edges[:, order]
    ptr = torch.zeros(num_users + 1, dtype=torch.long, device=edges.device)
    ptr[1:] = torch.cumsum(torch.bincount(edges[0], minlength=num_users), 0)
    return edges, ptr


def _dense_rows(
    edges: torch.Tensor,
    ptr: torch.Tensor,
    users: torch.Tensor,
    row_of: torch.Tensor,
    num_items: int,
) -> torch.Tensor:
    """Bool ``[len(users), I]`` with the items of each user (``users`` ascending)."""
    out = torch.zeros(len(users), num_items, dtype=torch.bool, device=users.device)
    lo, hi = int(ptr[users[0]]), int(ptr[users[-1] + 1])
    part = edges[:, lo:hi]
    rows = row_of[part[0]]
    keep = rows >= 0
    out[rows[keep], part[1, keep]] = True
    return out


def _ranking(hits: torch.Tensor, n_rel: torch.Tensor, k: int, prefix: str) -> dict[str, float]:
    """Mean ranking metrics for hit matrix ``[n, >=k]`` and relevant counts ``[n]``."""
    h = hits[:, :k].float()  # fewer than k columns when there are fewer than k items
    n = h.size(1)
    disc = 1.0 / torch.log2(torch.arange(2, n + 2, device=h.device, dtype=torch.float))
    idcg = torch.cumsum(disc, 0)[(n_rel.long().clamp(max=n) - 1).clamp(min=0)]
    first = h.argmax(1).float() + 1
    return {
        f"{prefix}recall@{k}": (h.sum(1) / n_rel).mean().item(),
        f"{prefix}precision@{k}": (h.sum(1) / k).mean().item(),
        f"{prefix}hit_rate@{k}": h.any(1).float().mean().item(),
        f"{prefix}ndcg@{k}": ((h * disc).sum(1) / idcg).mean().item(),
        f"{prefix}mrr@{k}": torch.where(h.any(1), 1.0 / first, 0.0).mean().item(),
    }


@torch.no_grad()
def evaluate(
    scorer: Scorer,
    tensors: GraphTensors,
    train_idx: torch.Tensor,
    test_idx: torch.Tensor,
    exclude_idx: torch.Tensor | None = None,
    *,
    ks: Sequence[int] = (10, 20),
    chunk_size: int = 1024,
    cold_threshold: int = 5,
    device: str | torch.device = "cpu",
    extras: bool = True,
) -> dict[str, float]:
    """Rank all items for every user with test interactions; see the module docstring.

    Args:
        scorer: anything with ``score_users``.
        tensors: the graph (interactions, item text for diversity).
        train_idx: training interactions (masked; define popularity and cold sets).
        test_idx: the interactions to find.
        exclude_idx: more interactions to mask (validation when evaluating test).
        ks: cut-offs. chunk_size: users per scoring chunk.
        cold_threshold: "cold" means at most this many training interactions.
        device: where masks and top-k run. extras: also coverage, novelty, diversity and
            the cold-user / cold-item metrics (off for fast validation).

    Returns:
        A flat dict: ``'recall@20'``, ``'ndcg@10'``, ..., ``'coverage@20'``,
        ``'cold_users/recall@20'``, ``'cold_items/ndcg@20'``, ``'num_users'``, ...
    """
    dev = torch.device(device)
    num_users, num_items = tensors.num_users, tensors.num_items
    edges = tensors.edge_index.to(dev)
    masked = [train_idx] + ([exclude_idx] if exclude_idx is not None else [])
    mask_edges, mask_ptr = _by_user(edges[:, torch.cat(masked).to(dev)], num_users)
    test_edges, test_ptr = _by_user(edges[:, test_idx.to(dev)], num_users)
    train_edges = edges[:, train_idx.to(dev)]
    item_count = torch.bincount(train_edges[1], minlength=num_items)
    user_count = torch.bincount(train_edges[0], minlength=num_users)
    cold_item = item_count <= cold_threshold
    eval_users = torch.nonzero(test_ptr[1:] > test_ptr[:-1]).flatten()
    kmax = max(ks)
    row_of = torch.full((num_users,), -1, dtype=torch.long, device=dev)
    hits_all, cold_hits_all, top_all, nrel_all, ncold_all = [], [], [], [], []
    for users in eval_users.split(chunk_size):
        row_of[users] = torch.arange(len(users), device=dev)
        scores = scorer.score_users(users).to(dev).float()
        scores = scores.masked_fill(
            _dense_rows(mask_edges, mask_ptr, users, row_of, num_items), float("-inf")
        )
        top = torch.topk(scores, min(kmax, num_items), dim=1).indices
        truth = _dense_rows(test_edges, test_ptr, users, row_of, num_items)
        hits = truth.gather(1, top)
        hits_all.append(hits)
        nrel_all.append(truth.sum(1))
        top_all.append(top)
        if extras:
            cold_truth = truth & cold_item
            cold_hits_all.append(cold_truth.gather(1, top))
            ncold_all.append(cold_truth.sum(1))
        row_of[users] = -1
    if not hits_all:
        return {"num_users": 0.0}
    hits, n_rel, top = torch.cat(hits_all), torch.cat(nrel_all).float(), torch.cat(top_all)
    out: dict[str, float] = {"num_users": float(len(eval_users))}
    for k in ks:
        out.update(_ranking(hits, n_rel, k, ""))
    if not extras:
        return out
    cold_u = user_count[eval_users] <= cold_threshold
    out["cold_users/num_users"] = float(cold_u.sum())
    n_cold = torch.cat(ncold_all).float()
    has_cold = n_cold > 0
    out["cold_items/num_users"] = float(has_cold.sum())
    cold_hits = torch.cat(cold_hits_all)
    share = (item_count.float() + 1) / (train_edges.size(1) + num_items)
    text = tensors.item_text
    if text is not None:
        text = torch.nn.functional.normalize(text.to(dev).float(), dim=1)
    for k in ks:
        if cold_u.any():
            out.update(_ranking(hits[cold_u], n_rel[cold_u], k, "cold_users/"))
        if has_cold.any():
            out.update(_ranking(cold_hits[has_cold], n_cold[has_cold], k, "cold_items/"))
        topk = top[:, :k]
        out[f"coverage@{k}"] = torch.unique(topk).numel() / num_items
        out[f"novelty@{k}"] = (-torch.log2(share[topk])).mean().item()
        if text is not None and k > 1:
            out[f"diversity@{k}"] = _diversity(text, topk, chunk_size)
    return out


def _diversity(text: torch.Tensor, top: torch.Tensor, chunk_size: int) -> float:
    """Mean over lists of mean pairwise ``1 - cos`` (``text`` rows L2-normalised)."""
    k = top.size(1)
    total = 0.0
    for part in top.split(chunk_size):
        v = text[part]  # [n, k, d]
        sim = v @ v.transpose(1, 2)
        off = (sim.sum((1, 2)) - sim.diagonal(dim1=1, dim2=2).sum(1)) / (k * (k - 1))
        total += float((1 - off).sum())
    return total / top.size(0)
