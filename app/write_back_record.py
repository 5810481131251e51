"""What the store holds after a write-back (the record a later one compares with), and what
differs between it and the live model: moved vectors, changed top-k lists.

Pure numpy: nothing here talks to a store (:mod:`kgrec.app.write_back` does).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

import numpy as np
import pandas as pd

from kgrec.core.files import write_private
from kgrec.core.ranking import top_k

if TYPE_CHECKING:
    from kgrec.gnn.data import GraphTensors

log = logging.getLogger(__name__)

#: Where the records of what the store holds live, under the model directory.
RECORD_DIR = "written"
#: The store layout a record describes. A record of another layout (earlier releases kept
#: item vectors on the items) is not compared with: the next write-back writes everything
#: and clears what the old layout left.
RECORD_LAYOUT = 2


@dataclass
class Written:
    """What the store holds after a complete write-back (the record a later one diffs with).

    Shapes:
        users: ``[U, d]`` float32; items: ``[I, d]``; rec_items: ``[U, k]`` rows of
        ``item_ids`` (-1: none); rec_scores: ``[U, k]`` float32.
    """

    user_ids: np.ndarray
    item_ids: np.ndarray
    users: np.ndarray
    items: np.ndarray
    rec_items: np.ndarray
    rec_scores: np.ndarray

    def save(self, path: Path) -> None:
        """Write the record whole or not at all, private and fsynced."""

        def savez(fh: BinaryIO) -> None:
            np.savez(
                fh,
                user_ids=self.user_ids,
                item_ids=self.item_ids,
                users=self.users,
                items=self.items,
                rec_items=self.rec_items,
                rec_scores=self.rec_scores,
            )

        write_private(path, savez)

    @classmethod
    def load(cls, path: Path) -> Written | None:
        """The record at ``path``; None when it is missing or unreadable."""
        try:
            with np.load(path, allow_pickle=False) as data:
                return cls(**{name: data[name] for name in data.files})
        except (OSError, ValueError, KeyError, TypeError) as exc:
            if path.exists():
                log.warning("ignoring the unreadable write-back record %s: %s", path, exc)
            return None


def top_k_unseen(
    users: np.ndarray, items: np.ndarray, seen: list[np.ndarray], k: int, chunk: int = 1024
) -> tuple[np.ndarray, np.ndarray]:
    """Each user's ``k`` best items by dot product, excluding ``seen[u]``.

    Shapes:
        users: ``[U, d]``; items: ``[I, d]``; returns indices and scores ``[U, min(k, I)]``.
    """
    k = min(k, items.shape[0])
    parts = [
        top_k(users[start : start + chunk] @ items.T, k, seen[start : start + chunk])
        for start in range(0, users.shape[0], chunk)
    ]
    if not parts:
        return np.zeros((0, k), dtype=np.int64), np.zeros((0, k), dtype=np.float32)
    return (
        np.concatenate([p[0] for p in parts]),
        np.concatenate([p[1] for p in parts]).astype(np.float32),
    )


def seen_items(tensors: GraphTensors, user_ids: list[str], item_ids: list[str]) -> list[np.ndarray]:
    """For each of the model's users, the model indices of the items they interacted with.

    Matched by id, so a graph exported after the model was trained (new users, items or
    interactions) still lines up.
    """
    to_user = pd.Index(user_ids).get_indexer(tensors.user_ids)
    to_item = pd.Index(item_ids).get_indexer(tensors.item_ids)
    edges = tensors.edge_index.numpy()
    u = to_user[edges[0]] if len(to_user) else np.zeros(0, dtype=np.int64)
    i = to_item[edges[1]] if len(to_item) else np.zeros(0, dtype=np.int64)
    keep = (u >= 0) & (i >= 0)
    u, i = u[keep], i[keep]
    order = np.argsort(u, kind="stable")
    bounds = np.searchsorted(u[order], np.arange(len(user_ids) + 1))
    return [i[order[bounds[j] : bounds[j + 1]]] for j in range(len(user_ids))]


def top_k_lists(
    users: np.ndarray,
    items: np.ndarray,
    tensors: GraphTensors,
    user_ids: list[str],
    item_ids: list[str],
    k: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Each user's top-``k`` unseen item rows (-1: none) and their scores (0 there)."""
    if k <= 0:
        return np.zeros((len(user_ids), 0), dtype=np.int64), np.zeros(
            (len(user_ids), 0), dtype=np.float32
        )
    top, scores = top_k_unseen(users, items, seen_items(tensors, user_ids, item_ids), k)
    found = np.isfinite(scores)
    return np.where(found, top, -1).astype(np.int64), np.where(found, scores, 0.0).astype(
        np.float32
    )


def record_path(model_dir: Path, token: str) -> Path:
    return Path(model_dir) / RECORD_DIR / f"{token}.layout{RECORD_LAYOUT}.npz"


def drop_records(model_dir: Path, keep: str) -> None:
    """Remove the records of earlier write-backs (superseded by ``keep``)."""
    kept = record_path(model_dir, keep).name
    for path in (Path(model_dir) / RECORD_DIR).glob("*.npz"):
        if path.name != kept:
            path.unlink(missing_ok=True)


def moved(new: np.ndarray, old: np.ndarray, tolerance: float) -> np.ndarray:
    """Rows of ``new`` farther from ``old`` than ``tolerance`` of the old row's length."""
    if not len(new):
        return np.zeros(0, dtype=bool)
    gap = np.linalg.norm(new - old, axis=1)
    return np.asarray(gap > tolerance * np.linalg.norm(old, axis=1))


def changed_vectors(
    new_ids: list[str],
    new: np.ndarray,
    old_ids: np.ndarray | None,
    old: np.ndarray | None,
    tolerance: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(changed rows of new, what the store holds per new row, old ids no longer known)``."""
    if old_ids is None or old is None:
        return np.ones(len(new_ids), dtype=bool), new, np.zeros(0, dtype=object)
    pos = pd.Index(old_ids).get_indexer(new_ids)
    known = pos >= 0
    changed = ~known
    changed[known] = moved(new[known], old[pos[known]], tolerance)
    held = new.copy()
    keep = ~changed
    held[keep] = old[pos[keep]]
    gone = np.asarray(old_ids)[pd.Index(new_ids).get_indexer(old_ids) < 0]
    return changed, held, gone


def changed_lists(
    top: np.ndarray,
    scores: np.ndarray,
    user_ids: list[str],
    item_ids: list[str],
    old: Written | None,
    tolerance: float,
) -> tuple[np.ndarray, np.ndarray]:
    """``(users whose RECOMMENDED list changed, the scores the store holds per user)``.

    A list changed when its items or ranks differ from the record's, or a score moved by
    more than ``tolerance`` of the user's largest stored score; the others keep their
    stored scores.
    """
    if old is None or old.rec_items.shape[1:] != top.shape[1:]:
        return np.ones(len(user_ids), dtype=bool), scores
    pos = pd.Index(old.user_ids).get_indexer(user_ids)
    to_new = pd.Index(item_ids).get_indexer(old.item_ids)
    known = np.flatnonzero(pos >= 0)
    changed = np.ones(len(user_ids), dtype=bool)
    prev = old.rec_items[pos[known]]
    if len(to_new):
        prev = np.where(prev >= 0, to_new[np.maximum(prev, 0)], -1)
    prev_scores = old.rec_scores[pos[known]]
    scale = np.abs(prev_scores).max(axis=1, initial=0.0)
    drift = np.abs(scores[known] - prev_scores).max(axis=1, initial=0.0)
    changed[known] = ~(prev == top[known]).all(axis=1) | (drift > tolerance * scale)
    held = scores.copy()
    keep = known[~changed[known]]
    held[keep] = old.rec_scores[pos[keep]]
    return changed, held
