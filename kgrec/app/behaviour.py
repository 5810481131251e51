"""Behaviour and catalogue recorded while serving: interactions and new items, written to the
store at once (no retraining) and announced through one counter that serving processes poll.

- :func:`record_interactions` validates a frame of interactions as ingestion does, writes it
  with the ingestion statements (``merge_users``, ``merge_interactions``) and marks the
  relationships ``recorded`` (unix seconds), which is what the fold-in of a known user reads.
  Only ``INTERACTED`` relationships and new ``User`` nodes are written: catalogue properties
  (titles, texts, vectors) are never touched.
- :func:`add_item` writes one item with its title, text and tags through the ingestion job
  (text rebuilt from the store, embedded with the cached model) and marks it ``added``.
- Every call that changed something increments ``(:ModelState {key: 'changes'}).seq`` after
  its writes (:func:`change_sequence` reads it); writing the same data again changes nothing
  and leaves the counter alone.
- :func:`interactions_since_live` is the drift signal behind ``kgrec train --if-stale``.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from kgrec.core.dataset import Dataset, normalise_tag
from kgrec.core.errors import DatasetError, InvalidParameter, UnknownIdError
from kgrec.core.settings import Settings
from kgrec.core.values import is_missing, shown
from kgrec.kg.store import GraphStore
from kgrec.kg.writer import BatchWriter, records, run_statement
from kgrec.loaders.embeddings import TextEmbedder
from kgrec.queries.runner import run_query

log = logging.getLogger(__name__)

__all__ = ["CHANGES_KEY", "INTERACTION_COLUMNS", "add_item", "add_item_to_store", "added_items",
           "change_sequence", "interactions_since_live", "record_in_store",
           "record_interactions"]  # fmt: skip

#: The key of the change counter node.
CHANGES_KEY = "changes"
#: The columns :func:`record_interactions` takes (``user_id`` and ``item_id`` required).
INTERACTION_COLUMNS = ("user_id", "item_id", "rating", "ts", "kind", "weight")
#: The name recorded on items :func:`add_item` creates (``Item.dataset``).
ADDED_DATASET = "added"
#: ``HAS_TAG.source`` of the tags :func:`add_item` gives an item.
ADDED_TAG_SOURCE = "catalogue"
_MAX_TS = 2**62


def change_sequence(store: GraphStore) -> int:
    """The store's change counter: 0 before the first recorded change."""
    rows = run_query(store, "change_sequence", {"key": CHANGES_KEY})
    return int(rows[0]["seq"]) if rows and rows[0]["seq"] is not None else 0


def note_change(store: GraphStore) -> int:
    """Increment the store's change counter (serving processes re-read what changed)."""
    return int(run_statement(store, "bump_changes", {"key": CHANGES_KEY})[0]["seq"])


def _fail(row: int, column: str, value: Any, reason: str) -> DatasetError:
    return DatasetError(f"row {row}: {column} {shown(value)} {reason}", field=column)


def _ids(values: pd.Series, column: str) -> list[str]:
    out = []
    for n, v in enumerate(values.tolist()):
        if is_missing(v) or str(v) == "":
            raise _fail(n, column, v, "is missing; every interaction needs a user and an item")
        if isinstance(v, float) and not v.is_integer():
            raise _fail(n, column, v, "is not an id (ids are strings or integers)")
        out.append(str(int(v)) if isinstance(v, float) else str(v))
    return out


def _numbers(values: pd.Series, column: str, default: float | None) -> list[float | None]:
    out: list[float | None] = []
    for n, v in enumerate(values.tolist()):
        if is_missing(v):
            out.append(default)
            continue
        try:
            number = float(v)
        except (TypeError, ValueError):
            raise _fail(n, column, v, "is not a number") from None
        if not math.isfinite(number):
            raise _fail(n, column, v, "is not a number: nan and infinities are refused")
        out.append(number)
    return out


def _interactions(
    frame: pd.DataFrame, now: int, rating_range: tuple[float, float] | None
) -> pd.DataFrame:
    """``frame`` as canonical interactions, checked value by value (row = position)."""
    unknown = [c for c in frame.columns if c not in INTERACTION_COLUMNS]
    if unknown:
        raise InvalidParameter(
            f"unknown column {unknown[0]!r}; an interaction has {', '.join(INTERACTION_COLUMNS)}",
            field=str(unknown[0]),
        )
    for column in ("user_id", "item_id"):
        if column not in frame.columns:
            raise InvalidParameter(f"the interactions lack the column {column!r}", field=column)
    n = len(frame)
    col = {c: frame[c] if c in frame.columns else pd.Series([None] * n, dtype=object)
           for c in INTERACTION_COLUMNS}  # fmt: skip
    ratings = _numbers(col["rating"], "rating", None)
    if rating_range is not None:
        low, high = rating_range
        for k, r in enumerate(ratings):
            if r is not None and not low <= r <= high:
                raise _fail(k, "rating", r, f"is out of range {low:g} to {high:g}")
    weights = _numbers(col["weight"], "weight", 1.0)
    stamps = []
    for k, (raw, ts) in enumerate(zip(col["ts"].tolist(), _numbers(col["ts"], "ts", float(now)),
                                      strict=True)):  # fmt: skip
        if ts is None or not ts.is_integer() or not -1 <= ts < _MAX_TS:
            raise _fail(k, "ts", raw, "is not a time in whole unix seconds (or -1: unknown)")
        stamps.append(int(ts))
    kinds = [
        str(v) if not is_missing(v)
        else ("rating" if r is not None else "implicit")
        for v, r in zip(col["kind"].tolist(), ratings, strict=True)
    ]  # fmt: skip
    out = pd.DataFrame({
        "user_id": _ids(col["user_id"], "user_id"), "item_id": _ids(col["item_id"], "item_id"),
        "kind": kinds, "rating": [np.nan if r is None else r for r in ratings],
        "weight": weights, "ts": stamps, "split": [""] * n,
    })  # fmt: skip
    # One row per (user, item), as ingestion does: the latest ts wins, then the last row.
    out = out.iloc[np.lexsort((np.arange(n), out["ts"].to_numpy()))]
    return out.drop_duplicates(["user_id", "item_id"], keep="last").sort_index()


def record_interactions(
    store: GraphStore,
    frame: pd.DataFrame,
    rating_range: tuple[float, float] | None = None,
    now: float | None = None,
) -> dict[str, Any]:
    """Write interactions into the store now; users are created, items must exist.

    Args:
        store: the graph store.
        frame: one row per interaction: ``user_id``, ``item_id`` and optionally ``rating``
            (none: an implicit interaction), ``ts`` (unix seconds; default now), ``kind``
            (default ``rating`` with a rating, else ``implicit``) and ``weight`` (1.0).
        rating_range: refuse ratings outside ``(low, high)``; None: any finite rating.
        now: the recording time (unix seconds); default the clock.

    Returns:
        ``{rows, created, updated, seq}``: rows written (one per user and item), new and
        changed relationships, and the change counter afterwards (unchanged when nothing
        changed).

    Raises:
        DatasetError: a value is missing or not storable (the message names the row, the
            field and the value). InvalidParameter: an unknown or missing column.
        UnknownIdError: an item is not in the store (add it with ``add_item`` first).
    """
    stamp = time.time() if now is None else float(now)
    rows = _interactions(frame, int(stamp), rating_range).reset_index(drop=True)
    Dataset("recorded", interactions=rows).check()  # the fields as given, named so
    ds = Dataset("recorded", users=pd.DataFrame({"id": pd.unique(rows["user_id"])}),
                 interactions=rows)  # fmt: skip
    items = list(pd.unique(rows["item_id"]))
    found = {r["item_id"] for r in run_query(store, "item_details", {"item_ids": items})}
    missing = [i for i in items if i not in found]
    if missing:
        raise UnknownIdError(
            f"unknown item {missing[0]!r}: it is not in the store ({len(missing)} unknown "
            "items in all); add it with add_item (kgrec add-item) or ingest it first"
        )
    writer = BatchWriter(store)
    keys = records(ds.interactions[["user_id", "item_id"]])
    with store.exclusive("ingest"):  # MERGE is not atomic between writers on FalkorDB
        writer.write("merge_users", records(ds.users))
        written = writer.write("merge_interactions", records(ds.interactions))
        marked = writer.write("mark_recorded", keys, params={"recorded": stamp})
    changed = written.created + written.updated + marked.updated
    seq = note_change(store) if changed else change_sequence(store)
    return {"rows": len(rows), "created": written.created, "updated": written.updated,
            "seq": seq}  # fmt: skip


def add_item(
    store: GraphStore,
    embedder: TextEmbedder,
    item_id: str,
    title: str,
    text: str | None = None,
    tags: Iterable[str] = (),
    now: float | None = None,
) -> dict[str, Any]:
    """Write one item (created, or its title, text and tags updated) and embed its text.

    The item's text is built from the store after the write (title, tags, ``text`` as its
    description), exactly as ingestion builds it, and embedded with ``embedder``.

    Returns:
        ``{item_id, created, changed, seq}``.

    Raises:
        DatasetError: the id, title, text or a tag is empty or not storable (the message
            names the field and the value).
    """
    from kgrec.app.ingest import ingest

    item_id = str(item_id)
    if not item_id:
        raise DatasetError("item_id '' is empty; give the item an id", field="item_id")
    if not isinstance(title, str) or not title.strip():
        raise DatasetError(f"title {shown(title)} is empty; give the item a title",
                           field="title")  # fmt: skip
    names = list(dict.fromkeys(normalise_tag(t) for t in tags))
    if "" in names:
        raise DatasetError("a tag is empty; drop it or give it a name", field="tags")
    ds = Dataset(
        ADDED_DATASET,
        items=pd.DataFrame({"id": [item_id], "title": [title], "description": [text]}),
        tags=pd.DataFrame({"name": pd.Series(names, dtype=object)}),
        item_tags=pd.DataFrame(
            {
                "item_id": [item_id] * len(names),
                "tag": names,
                "source": [ADDED_TAG_SOURCE] * len(names),
                "count": [1] * len(names),
            }
        ),  # fmt: skip
    )
    ds.check()
    existed = bool(run_query(store, "item_exists", {"id": item_id}))
    report = ingest(ds, store, embedder, compact=False)
    stamp = time.time() if now is None else float(now)
    marked = BatchWriter(store).write("mark_added_items", [{"id": item_id}],
                                      params={"added": stamp})  # fmt: skip
    changed = report.nodes_changed + report.relationships_changed + report.embeddings_written
    changed += marked.updated
    seq = note_change(store) if changed else change_sequence(store)
    return {"item_id": item_id, "created": not existed, "changed": bool(changed), "seq": seq}


def added_items(store: GraphStore) -> list[dict[str, Any]]:
    """Every item :func:`add_item` wrote: ``{item_id, embedding (or None), tags}``."""
    return run_query(store, "added_items")


def interactions_since_live(store: GraphStore, model_dir: Path) -> dict[str, Any]:
    """How many interactions the store holds beyond those the live model was trained on.

    The live model records how many interactions its export held (``num_interactions`` in
    its ``config.json``); every interaction recorded or ingested since adds one (a second
    rating of the same user and item does not).

    Returns:
        ``{live_version, trained, stored, new, share}`` (``share = new / trained``); with
        no live model, ``live_version``, ``trained`` and ``share`` are None.
    """
    from kgrec.core.errors import ModelNotTrained
    from kgrec.gnn.checkpoint import load_live

    stored = int(run_statement(store, "count_graph")[0]["interactions"])
    try:
        live = load_live(model_dir)
    except ModelNotTrained:
        return {"live_version": None, "trained": None, "stored": stored, "new": stored,
                "share": None}  # fmt: skip
    trained = int(live.config.get("num_interactions", 0))
    new = max(stored - trained, 0)
    return {"live_version": live.version_dir.name, "trained": trained, "stored": stored,
            "new": new, "share": new / trained if trained else None}  # fmt: skip


def record_in_store(
    settings: Settings, frame: pd.DataFrame, rating_range: tuple[float, float] | None = None
) -> dict[str, Any]:
    """``kgrec interact``: :func:`record_interactions` into the configured store."""
    from kgrec.app.store import opened

    with opened(settings) as store:
        return record_interactions(store, frame, rating_range)


def add_item_to_store(
    settings: Settings, item_id: str, title: str, text: str | None, tags: Iterable[str]
) -> dict[str, Any]:
    """``kgrec add-item``: :func:`add_item` into the configured store, embedded with the
    configured model and cache."""
    from kgrec.app.store import opened

    embedder = TextEmbedder(settings.embedding_model, cache_dir=settings.cache_dir)
    try:
        with opened(settings) as store:
            return add_item(store, embedder, item_id, title, text, tags)
    finally:
        embedder.close()
