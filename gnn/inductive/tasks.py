"""Users with a handful of interactions: tasks that imitate them (:func:`user_sequences`,
:func:`first_items`, :func:`sample_tasks`) and the ranking metrics on them
(:func:`ranking_metrics`, :func:`ranking_of_scores`). A cold user is known by their first
``n`` interactions (the *support*); what they pick afterwards is the *query*."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch


def user_sequences(
    edges: torch.Tensor | np.ndarray, ts: torch.Tensor | np.ndarray
) -> dict[int, np.ndarray]:
    """Each user's items in time order (ties keep the given order).

    Shapes:
        edges: ``[2, E]`` ``(user, item)``; ts: ``[E]``.
    """
    e = np.asarray(edges.cpu() if isinstance(edges, torch.Tensor) else edges)
    t = np.asarray(ts.cpu() if isinstance(ts, torch.Tensor) else ts)
    order = np.lexsort((np.arange(e.shape[1]), t, e[0]))
    users, items = e[0][order], e[1][order]
    if not len(users):
        return {}
    bounds = np.r_[np.flatnonzero(np.r_[True, users[1:] != users[:-1]]), len(users)]
    return {int(users[a]): items[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True)}


def first_items(
    sequences: dict[int, np.ndarray], users: Sequence[int], n: int
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Support (the first ``n`` items) and query (the rest) of each of ``users``; users with
    no more than ``n`` items are left out of both lists.

    Returns:
        ``(support, query)``, aligned.
    """
    kept = [sequences[u] for u in users if len(sequences.get(u, ())) > n]
    return [s[:n] for s in kept], [s[n:] for s in kept]


def sample_tasks(
    sequences: dict[int, np.ndarray],
    rng: np.random.Generator,
    max_n: int = 5,
    first_share: float = 0.5,
    max_tasks: int | None = None,
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """One support / query task per user with more than ``max_n`` items: ``n`` uniform in
    ``1..max_n``; the support starts at the user's first item with probability
    ``first_share`` (where cold users start), else at a uniform position; the query is
    everything after it. With more such users than ``max_tasks``, a uniform sample of
    ``max_tasks`` of them (drawn first, so smaller inputs draw exactly as without a cap)."""
    eligible = [seq for seq in sequences.values() if len(seq) > max_n]
    if max_tasks is not None and len(eligible) > max_tasks:
        picked = np.sort(rng.choice(len(eligible), size=max_tasks, replace=False))
        eligible = [eligible[i] for i in picked]
    support, query = [], []
    for seq in eligible:
        n = int(rng.integers(1, max_n + 1))
        start = 0 if rng.random() < first_share else int(rng.integers(0, len(seq) - n))
        support.append(seq[start : start + n])
        query.append(seq[start + n :])
    return support, query


#: Scores held at once by :func:`ranking_metrics` (users x items, float64: 128 MiB).
SCORE_CHUNK_ELEMENTS = 1 << 24


@torch.no_grad()
def ranking_metrics(
    user_vectors: torch.Tensor | np.ndarray,
    item_vectors: torch.Tensor | np.ndarray,
    support: Sequence[np.ndarray],
    query: Sequence[np.ndarray],
    k: int = 20,
) -> dict[str, np.ndarray]:
    """Recall@k and NDCG@k per user, ranking every item with the support masked
    (definitions of :mod:`kgrec.gnn.training.evaluate`).

    Shapes:
        user_vectors: ``[m, d]``; item_vectors: ``[I, d]``; output values: ``[m]``.
    """
    users = torch.as_tensor(np.asarray(user_vectors), dtype=torch.float64)
    items = torch.as_tensor(np.asarray(item_vectors), dtype=torch.float64)
    rows = max(1, SCORE_CHUNK_ELEMENTS // max(1, items.size(0)))
    parts = [
        ranking_of_scores(
            users[a : a + rows] @ items.T, support[a : a + rows], query[a : a + rows], k
        )
        for a in range(0, users.size(0), rows)
    ]
    if not parts:
        return ranking_of_scores(users @ items.T, support, query, k)
    return {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}


@torch.no_grad()
def ranking_of_scores(
    scores: torch.Tensor | np.ndarray,
    support: Sequence[np.ndarray],
    query: Sequence[np.ndarray],
    k: int = 20,
) -> dict[str, np.ndarray]:
    """:func:`ranking_metrics` from scores ``[m, I]`` directly."""
    s = torch.as_tensor(np.asarray(scores), dtype=torch.float64).clone()
    m, num_items = s.shape
    for row, items in enumerate(support):
        s[row, torch.as_tensor(items, dtype=torch.long)] = float("-inf")
    top = torch.topk(s, min(k, num_items), dim=1).indices.numpy()
    disc = 1.0 / np.log2(np.arange(2, k + 2))
    recall, ndcg = np.zeros(m), np.zeros(m)
    for row, truth in enumerate(query):
        hit = np.isin(top[row], truth)
        recall[row] = hit.sum() / len(truth)
        ndcg[row] = (hit * disc[: len(hit)]).sum() / disc[: min(len(truth), k)].sum()
    return {f"recall@{k}": recall, f"ndcg@{k}": ndcg}
