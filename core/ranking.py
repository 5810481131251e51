"""Score, mask, take the top k: the one ranking step of training write-back and serving."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def top_k(
    scores: np.ndarray, k: int, banned: Sequence[np.ndarray | Sequence[int]] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Each row's ``k`` best columns, best first (ties: lower column first).

    Banned columns (``banned[row]``) and non-finite scores never rank; a row with fewer than
    ``k`` rankable columns is padded with index ``-1`` and score ``-inf``.

    Shapes:
        scores: ``[n, I]``; returns indices (int64) and scores (as given) ``[n, min(k, I)]``.
    """
    scores = np.array(scores, copy=True)
    n, width = scores.shape
    for row, columns in enumerate(banned or ()):
        scores[row, np.asarray(columns, dtype=np.int64)] = -np.inf
    scores[~np.isfinite(scores)] = -np.inf
    k = min(int(k), width)
    if k <= 0:
        return np.zeros((n, 0), dtype=np.int64), scores[:, :0]
    part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    part_scores = np.take_along_axis(scores, part, axis=1)
    order = np.lexsort((part, -part_scores), axis=1)
    idx = np.take_along_axis(part, order, axis=1)
    best = np.take_along_axis(part_scores, order, axis=1)
    idx[~np.isfinite(best)] = -1
    return idx, best
