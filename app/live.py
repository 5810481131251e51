"""What a :class:`~kgrec.app.recommender.Recommender` serves beyond its trained model.

- :class:`Catalogue`: the items it can score, as one immutable snapshot (swapped whole, so a
  request never sees the ids of one snapshot and the vectors of another): the model's items,
  then items added while serving (:func:`kgrec.app.behaviour.add_item`) with vectors made
  from their text and tags by the live model, and every item's popularity.
- :class:`ChangePoll`: reads the store's change counter at most every ``interval`` seconds;
  a moved counter means another process (or this one) recorded something.
- :func:`fold_user`: a user's LightGCN vector over their current interactions
  (:mod:`kgrec.gnn.inductive.foldin`).
- :func:`history_user`: a user's vector from their current history, for models whose user
  vectors are a function of the history (``history_users``: ``ease``), exactly; a history of
  at most ``max_n`` (5) items the model knows gets the version's cold-user aggregator instead
  (:class:`~kgrec.gnn.inductive.coldstart.HistoryAggregator`, when the train job kept one).
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
    from kgrec.gnn.inductive.coldstart import HistoryAggregator
    from kgrec.gnn.inductive.foldin import FoldedNode, FoldIn
    from kgrec.gnn.models.model import EmbeddingModel


@dataclass(frozen=True)
class Catalogue:
    """The items a recommender scores, in one consistent snapshot.

    Attributes:
        ids: item ids; the first ``num_trained`` are the model's, in its order.
        index: id -> row.
        emb: item vectors; unit: the same, normalised.
        popularity: interactions per item in the store when the snapshot was taken.
        text: text vectors (for notes on items no path reaches), or None.
        folded: the fold-in states of added items (LightGCN), for users who chose them.

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
    fold: FoldIn | None,
    tags: Mapping[str, int],
) -> Catalogue:
    """The model's items plus every added item the model can place, with popularity.

    Args:
        item_ids, item_emb, item_text: the model's items, vectors and text vectors.
        model: the live model (GraphSAGE places new items from text and tags).
        fold: LightGCN's fold-in (None: another model).
        tags: the model's tag names -> local index.
    """
    known = set(item_ids)
    rows = [r for r in added_items(store) if r["item_id"] not in known]
    if item_text is not None:
        rows = _usable_embeddings(rows, item_text.shape[1])
    vectors, folded = _added_vectors(rows, model, fold, tags, item_emb.shape[1])
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
    rows: list[dict[str, Any]],
    model: EmbeddingModel,
    fold: FoldIn | None,
    tags: Mapping[str, int],
    dim: int,
) -> tuple[dict[str, np.ndarray], dict[str, FoldedNode]]:
    """Vectors of new items from their text and tags, where the live model can make them."""
    vectors: dict[str, np.ndarray] = {}
    folded: dict[str, FoldedNode] = {}
    if not rows:
        return vectors, folded
    if fold is not None:
        for r in rows:
            initial = fold.text_state(r["embedding"]) if r["embedding"] is not None else None
            nbrs = (
                [fold.node("tag", tags[t]) for t in r["tags"] if t in tags]
                if fold.tag_edges
                else []
            )
            node = fold.fold(nbrs, initial=initial)
            folded[r["item_id"]] = node
            vectors[r["item_id"]] = node.vector
        return vectors, folded
    if model.inductive_items:
        import torch

        with_text = [r for r in rows if r["embedding"] is not None]
        if not with_text:
            return vectors, folded
        text = torch.tensor(np.stack([_vector(r["embedding"], 0) for r in with_text]))
        pairs = [(n, tags[t]) for n, r in enumerate(with_text) for t in r["tags"] if t in tags]
        edges = torch.tensor(pairs, dtype=torch.long).T.reshape(2, -1)
        out = model.embed_items(text, edges).cpu().numpy()
        for r, v in zip(with_text, out, strict=True):
            vectors[r["item_id"]] = v
    return vectors, folded


def fold_user(
    fold: FoldIn,
    catalogue: Catalogue,
    user: int | None,
    history: Sequence[Mapping[str, Any]],
) -> FoldedNode | None:
    """A user's LightGCN states over their current interactions, or None when they are
    the trained ones.

    A user the model knows keeps their trained neighbours and gains every item recorded
    while serving (``recorded`` set); a user the model never saw has every item of their
    history the catalogue holds.

    Args:
        user: the user's local index in the model (None: unknown to it).
        history: the user's interactions (``user_items`` rows).
    """
    rows = [r for r in history if user is None or r.get("recorded") is not None]
    model_items = [
        catalogue.index[r["item_id"]]
        for r in rows
        if catalogue.index.get(r["item_id"], catalogue.num_trained) < catalogue.num_trained
    ]
    extra = [catalogue.folded[r["item_id"]] for r in rows if r["item_id"] in catalogue.folded]
    nodes = np.array([fold.node("item", j) for j in model_items], dtype=np.int64)
    if user is None:
        if not len(nodes) and not extra:
            return None
        return fold.fold(nodes, extra=extra)
    u = fold.node("user", user)
    trained = fold.neighbours(u)
    if not extra and np.isin(nodes, trained).all():
        return None
    return fold.fold(np.concatenate([trained, nodes]), node=u, extra=extra)


def history_user(
    model: EmbeddingModel,
    catalogue: Catalogue,
    user: int | None,
    history: Sequence[Mapping[str, Any]],
    item_offset: int,
    aggregator: HistoryAggregator | None = None,
) -> FoldedNode | None:
    """A user's vector over their current history, or None when the trained one holds (a
    known user with nothing recorded since) or there is no history the model can read
    (items added after it have no history factors).

    Which vector:

    - at most ``aggregator.max_n`` items the model knows, with an ``aggregator`` (a cold
      user, known to the model or not, recorded interactions or not): the aggregator's
      :math:`e_u = s'_n u_0 + \\sum_v s_n \\alpha_v H_v` over the items in time order (ties
      keep the history's order; ratings are not used);
    - otherwise :meth:`EmbeddingModel.history_vector` (recency and rating weights), for a
      user unknown to the model or one with interactions recorded since training.

    Args:
        user: the user's local index in the model (None: unknown to it).
        history: the user's interactions (``user_items`` rows).
        item_offset: the global node index of the model's first item (its number of users).
        aggregator: the live version's cold-user aggregator (None: it has none).

    Returns:
        The vector as a one-layer :class:`~kgrec.gnn.inductive.foldin.FoldedNode` whose
        neighbours are the history's items and whose weights are their weights in the vector (the
        aggregator's :math:`s_n \\alpha_v`). The rest of an aggregator's vector, the prior
        term, belongs to no item: an explanation's decomposition shows it as the user's own
        part (``user_own``), so the parts still sum to the score.
    """
    from kgrec.gnn.inductive.foldin import FoldedNode

    trained = catalogue.num_trained
    rows = [r for r in history if catalogue.index.get(r["item_id"], trained) < trained]
    if aggregator is not None and 0 < len(rows) <= aggregator.max_n:
        ts = np.array([-1 if r.get("ts") is None else r["ts"] for r in rows], dtype=np.int64)
        order = np.lexsort((np.arange(len(rows)), ts))
        items = np.array([catalogue.index[rows[k]["item_id"]] for k in order], dtype=np.int64)
        vector, _, weights = aggregator.exact_vector(items)
        return FoldedNode(vector[None], items + item_offset, weights)
    if user is not None and all(r.get("recorded") is None for r in history):
        return None
    if not rows:
        return None
    vector, weights, items = model.history_vector_of_rows(rows, catalogue.index)
    return FoldedNode(
        np.asarray(vector, dtype=np.float64)[None],
        items + item_offset,
        np.asarray(weights, dtype=np.float64),
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
