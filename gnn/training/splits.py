"""Train / validation / test splits of the interactions, as index tensors into them.

Three kinds:

- ``temporal`` (per user): sort each user's interactions by ``ts`` (ties, and unknown
  ``ts = -1``, keep the original row order). The last ``floor(test_frac * n)`` are test; of
  the remaining ``n_train`` the last ``floor(val_frac * n_train)`` are validation. A user with
  fewer than 5 interactions therefore keeps all of them in training.
- ``random``: one seeded permutation of all interactions, cut 80 / 10 / 10 (the fractions
  are arguments).
- ``fixed``: the ``split`` column (``'test'`` -> test, ``'train'`` or ``''`` -> train);
  validation is carved from the training part per user, temporally, as above.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from kgrec.core.errors import InvalidParameter
from kgrec.gnn.data import SPLIT_CODES, GraphTensors
from kgrec.gnn.training.config import SPLIT_KINDS


@dataclass
class Split:
    """Indices into ``GraphTensors.edge_index`` columns.

    Shapes:
        train, val, test: ``[n]`` int64, disjoint, sorted ascending.
    """

    kind: str
    train: torch.Tensor
    val: torch.Tensor
    test: torch.Tensor

    def sizes(self) -> dict[str, int]:
        return {"train": len(self.train), "val": len(self.val), "test": len(self.test)}


def _tail_mask(users: np.ndarray, ts: np.ndarray, rows: np.ndarray, frac: float) -> np.ndarray:
    """For interaction ``rows``, True for each user's last ``floor(frac * n)`` by (ts, row)."""
    u, t = users[rows], ts[rows]
    order = np.lexsort((rows, t, u))  # by user, then ts, then original row
    su = u[order]
    starts = np.flatnonzero(np.r_[True, su[1:] != su[:-1]])
    counts = np.diff(np.r_[starts, len(su)])
    rank = np.arange(len(su)) - np.repeat(starts, counts)
    n = np.repeat(counts, counts)
    cut = n - np.floor(frac * n + 1e-9).astype(np.int64)
    mask = np.zeros(len(rows), dtype=bool)
    mask[order] = rank >= cut
    return mask


def _sorted(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.sort(a).astype(np.int64))


def _carve_val(tensors: GraphTensors, train: np.ndarray, val_frac: float) -> tuple:
    users = tensors.edge_index[0].numpy()
    ts = tensors.ts.numpy()
    val_mask = _tail_mask(users, ts, train, val_frac)
    return train[~val_mask], train[val_mask]


def temporal_split(tensors: GraphTensors, test_frac: float = 0.2, val_frac: float = 0.1) -> Split:
    """Per-user temporal split (see the module docstring)."""
    users = tensors.edge_index[0].numpy()
    ts = tensors.ts.numpy()
    rows = np.arange(tensors.num_interactions)
    test_mask = _tail_mask(users, ts, rows, test_frac)
    train, val = _carve_val(tensors, rows[~test_mask], val_frac)
    return Split("temporal", _sorted(train), _sorted(val), _sorted(rows[test_mask]))


def random_split(
    tensors: GraphTensors, seed: int = 0, fractions: tuple[float, float, float] = (0.8, 0.1, 0.1)
) -> Split:
    """Seeded random ``train / val / test`` cut of all interactions."""
    if abs(sum(fractions) - 1.0) > 1e-6 or min(fractions) < 0:
        raise InvalidParameter(
            f"fractions must be non-negative and sum to 1, got {fractions}", field="fractions"
        )
    n = tensors.num_interactions
    perm = np.random.default_rng(seed).permutation(n)
    n_train = int(round(fractions[0] * n))
    n_val = int(round(fractions[1] * n))
    return Split(
        "random",
        _sorted(perm[:n_train]),
        _sorted(perm[n_train : n_train + n_val]),
        _sorted(perm[n_train + n_val :]),
    )


def fixed_split(tensors: GraphTensors, val_frac: float = 0.1) -> Split:
    """The dataset's own split column; validation carved per user from its training part."""
    codes = tensors.split.numpy()
    rows = np.arange(tensors.num_interactions)
    test = rows[codes == SPLIT_CODES["test"]]
    if len(test) == 0:
        raise InvalidParameter(
            "split='fixed' needs interactions marked 'test' in the split column; mark some "
            "or use another split",
            field="split",
        )
    train, val = _carve_val(tensors, rows[codes != SPLIT_CODES["test"]], val_frac)
    return Split("fixed", _sorted(train), _sorted(val), _sorted(test))


def make_split(tensors: GraphTensors, kind: str = "temporal", seed: int = 0) -> Split:
    """Dispatch on ``kind`` in :data:`SPLIT_KINDS`.

    Raises:
        InvalidParameter: ``kind`` is unknown, or the data cannot be split that way.
    """
    if kind == "temporal":
        return temporal_split(tensors)
    if kind == "random":
        return random_split(tensors, seed=seed)
    if kind == "fixed":
        return fixed_split(tensors)
    raise InvalidParameter(
        f"unknown split {kind!r}; choose one of {', '.join(SPLIT_KINDS)}", field="split"
    )
