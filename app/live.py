"""What a :class:`~kgrec.app.recommender.Recommender` serves beyond its trained model.

- :class:`Catalogue`: the items it can score, as one immutable snapshot (swapped whole, so a
  request never sees the ids of one snapshot and the vectors of another): the model's items,
  then items added while serving (:func:`kgrec.app.behaviour.add_item`) with vectors the
  live model places from their text and tags
  (:meth:`~kgrec.gnn.models.model.EmbeddingModel.place_items`), and every item's popularity.
- :class:`ChangePoll`: reads the store's change counter at most every ``interval`` seconds;
  a moved counter means another process (or this one) recorded something.
- :func:`user_history`: a user's current interactions as the live model reads them, for its
  :meth:`~kgrec.gnn.models.model.EmbeddingModel.fold_in_user`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from kgrec.app.behaviour import added_items, change_sequence
from kgrec.kg.store import GraphStore
from kgrec.queries.runner import run_query

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from kgrec.gnn.inductive.foldin import FoldedNode
    from kgrec.gnn.models.model import EmbeddingModel, History


@dataclass(frozen=True)
class Catalogue:
    """The items a recommender scores, in one consistent snapshot.

    Attributes:
        ids: item ids; the first ``num_trained`` are the model's, in its order.
        index: id -> row.
        emb: item vectors; unit: the same, normalised.
        popularity: interactions per item in the store when the snapshot was taken.
        text: text vectors (for notes on items no path reaches), or None.
        folded: the states the model placed added items with, for users who chose them.

    Shapes:
        emb, unit: ``[n, d]``; popularity: ``[n]``; text: ``[n, text_dim]``.
    """

    ids: list[str]
    index: dict[str, int]
    emb: np.ndarray
    unit: np.ndarray
    popularity: np.ndarray
    text: np.ndarray | None
    num_trained: int
    folded: dict[str, FoldedNode] = field(default_factory=dict)

    def is_added(self, item_id: str) -> bool:
        """Whether the item came after the model (added while serving)."""
        j = self.index.get(item_id)
        return j is not None and j >= self.num_trained


def build_catalogue(
    store: GraphStore,
    item_ids: Sequence[str],
    item_emb: np.ndarray,
    item_text: np.ndarray | None,
    model: EmbeddingModel,
    tags: Mapping[str, int],
) -> Catalogue:
    """The model's items plus every added item the model can place, with popularity.

    Args:
        item_ids, item_emb, item_text: the model's items, vectors and text vectors.
        model: the live model (:meth:`~kgrec.gnn.models.model.EmbeddingModel.place_items`).
        tags: the model's tag names -> local index.
    """
    known = set(item_ids)
    rows = [r for r in added_items(store) if r["item_id"] not in known]
    if item_text is not None:
        rows = _usable_embeddings(rows, item_text.shape[1])
    vectors, folded = _added_vectors(rows, model, tags)
    kept = [r for r in rows if r["item_id"] in vectors]
    ids = list(item_ids) + [r["item_id"] for r in kept]
    emb = item_emb
    if kept:
        emb = np.vstack([item_emb, np.stack([vectors[r["item_id"]] for r in kept])])
    emb = emb.astype(np.float32)
    text = item_text
    if item_text is not None and kept:
        extra = [_vector(r["embedding"], item_text.shape[1]) for r in kept]
        text = np.vstack([item_text, np.stack(extra)])
    counts = {r["item_id"]: r["interactions"] for r in run_query(store, "item_popularity")}
    norms = np.linalg.norm(emb, axis=1, keepdims=True)
    return Catalogue(
        ids,
        {v: j for j, v in enumerate(ids)},
        emb,
        emb / np.maximum(norms, 1e-12),
        np.array([counts.get(i, 0) for i in ids], dtype=np.int64),
        text,
        len(item_ids),
        folded,
    )


def _usable_embeddings(rows: list[dict[str, Any]], dim: int) -> list[dict[str, Any]]:
    """``rows`` with every text vector that is not ``dim`` finite numbers dropped (the item
    is then placed by its tags alone), each named in a warning with the fix."""
    out = []
    for r in rows:
        v = r["embedding"]
        if v is not None and (len(v) != dim or not np.isfinite(np.asarray(v, float)).all()):
            log.warning(
                "added item %r has a text vector of %d values where the model reads %d (or "
                "values that are not finite); placing it without its text: add it again "
                "(kgrec add-item) with the store's embedding model",
                r["item_id"],
                len(v),
                dim,
            )
            r = {**r, "embedding": None}
        out.append(r)
    return out


def _vector(value: Any, dim: int) -> np.ndarray:
    if value is None:
        return np.zeros(dim, dtype=np.float32)
    return np.asarray(value, dtype=np.float32)


def _added_vectors(
    rows: list[dict[str, Any]], model: EmbeddingModel, tags: Mapping[str, int]
) -> tuple[dict[str, np.ndarray], dict[str, FoldedNode]]:
    """Vectors and states of new items from their text and tags, where the live model can
    place them."""
    vectors: dict[str, np.ndarray] = {}
    folded: dict[str, FoldedNode] = {}
    if not rows:
        return vectors, folded
    text = [None if r["embedding"] is None else np.asarray(r["embedding"], float) for r in rows]
    item_tags = [[tags[t] for t in r["tags"] if t in tags] for r in rows]
    for r, node in zip(rows, model.place_items(text, item_tags), strict=True):
        if node is not None:
            folded[r["item_id"]] = node
            vectors[r["item_id"]] = node.vector
    return vectors, folded


def user_history(
    catalogue: Catalogue, user: int | None, history: Sequence[Mapping[str, Any]]
) -> History:
    """A user's interactions (``user_items`` rows) as the live model reads them: those whose
    item the catalogue holds, in order, with their times, ratings, whether they were
    recorded after training, their vectors and the states of placed items among them.

    Args:
        user: the user's local index in the model (None: unknown to it).
    """
    from kgrec.gnn.models.model import History

    rows = [r for r in history if r["item_id"] in catalogue.index]
    items = np.array([catalogue.index[r["item_id"]] for r in rows], dtype=np.int64)
    ratings = [np.nan if r.get("rating") is None else r["rating"] for r in rows]
    placed = {
        int(j): catalogue.folded[catalogue.ids[j]]
        for j in items
        if j >= catalogue.num_trained and catalogue.ids[j] in catalogue.folded
    }
    return History(
        user=user,
        items=items,
        trained=items < catalogue.num_trained,
        ts=np.array([-1 if r.get("ts") is None else r["ts"] for r in rows], dtype=np.int64),
        ratings=np.array(ratings, dtype=np.float64),
        recorded=np.array([r.get("recorded") is not None for r in rows], dtype=bool),
        changed=any(r.get("recorded") is not None for r in history),
        vectors=catalogue.emb[items],
        placed=placed,
    )


class ChangePoll:
    """Reads the store's change counter at most every ``interval`` seconds.

    Args:
        store: the graph store. interval: seconds between two reads (0: every call).
        seq: the counter value the caller's state reflects.
    """

    def __init__(self, store: GraphStore, interval: float, seq: int) -> None:
        self.store = store
        self.interval = float(interval)
        self.seq = seq
        self._next = time.monotonic() + self.interval
        self._lock = threading.Lock()

    def changed(self) -> int | None:
        """The counter's new value when it moved since :attr:`seq` and a read was due; else
        None. Only one thread reads at a time; the others go on without waiting."""
        now = time.monotonic()
        if now < self._next or not self._lock.acquire(blocking=False):
            return None
        try:
            self._next = now + self.interval
            seq = change_sequence(self.store)
            return seq if seq != self.seq else None
        finally:
            self._lock.release()
