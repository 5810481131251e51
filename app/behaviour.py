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
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from kgrec.app.rating_scale import stored_rating_range
from kgrec.core.checks import (
    check_id,
    check_kind,
    check_rating,
    check_tags,
    check_text,
    check_ts,
    check_weight,
)
from kgrec.core.dataset import Dataset
from kgrec.core.errors import DatasetError, InvalidParameter, UnknownIdError
from kgrec.core.settings import Settings
from kgrec.core.values import is_missing
from kgrec.kg.store import GraphStore
from kgrec.kg.writer import DEFAULT_BATCH_SIZE, BatchWriter, batches, records, run_statement
from kgrec.loaders.embeddings import TextEmbedder
from kgrec.loaders.validate import check_rating_range
from kgrec.queries.runner import run_query

log = logging.getLogger(__name__)

__all__ = [
    "CHANGES_KEY",
    "INTERACTION_COLUMNS",
    "add_item",
    "add_item_to_store",
    "added_items",
    "change_sequence",
    "interactions_since_live",
    "record_in_store",
    "record_interaction",
    "record_interactions",
]

#: The key of the change counter node.
CHANGES_KEY = "changes"
#: The columns :func:`record_interactions` takes (``user_id`` and ``item_id`` required).
INTERACTION_COLUMNS = ("user_id", "item_id", "rating", "ts", "kind", "weight")
#: The name recorded on items :func:`add_item` creates (``Item.dataset``).
ADDED_DATASET = "added"
#: ``HAS_TAG.source`` of the tags :func:`add_item` gives an item.
ADDED_TAG_SOURCE = "catalogue"


def change_sequence(store: GraphStore) -> int:
    """The store's change counter: 0 before the first recorded change."""
    rows = run_query(store, "change_sequence", {"key": CHANGES_KEY})
    return int(rows[0]["seq"]) if rows and rows[0]["seq"] is not None else 0


def note_change(store: GraphStore) -> int:
    """Increment the store's change counter (serving processes re-read what changed)."""
    return int(run_statement(store, "bump_changes", {"key": CHANGES_KEY})[0]["seq"])


def _rows(frame: Any) -> pd.DataFrame:
    """``frame`` as a DataFrame: a DataFrame, a list of row dicts or a dict of columns."""
    if isinstance(frame, pd.DataFrame):
        return frame
    if isinstance(frame, Mapping):
        try:
            return pd.DataFrame(
                {
                    k: list(v) if isinstance(v, Iterable) and not isinstance(v, str) else [v]
                    for k, v in frame.items()
                }
            )
        except ValueError as exc:
            raise InvalidParameter(
                f"the interaction columns differ in length ({exc}); give one value per row in each",
                field="frame",
            ) from None
    if isinstance(frame, list | tuple) and all(isinstance(r, Mapping) for r in frame):
        return pd.DataFrame(list(frame), columns=list(dict.fromkeys(k for r in frame for k in r)))
    raise InvalidParameter(
        f"interactions must be a DataFrame, a list of dicts or a dict of columns, not a "
        f"{type(frame).__name__}: e.g. [{{'user_id': 'u1', 'item_id': 'i1', 'rating': 4.0}}]",
        field="frame",
    )


def _interactions(frame: Any, now: float, scale: tuple[float, float]) -> pd.DataFrame:
    """``frame`` as canonical interactions, checked value by value (row = position) with the
    rules of :mod:`kgrec.core.checks`: a NaN rating or weight in a column is a missing value
    (no rating; the default weight)."""
    frame = _rows(frame)
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
    col = {c: frame[c].tolist() if c in frame.columns else [None] * n for c in INTERACTION_COLUMNS}
    users = [check_id(v, "user_id", k) for k, v in enumerate(col["user_id"])]
    items = [check_id(v, "item_id", k) for k, v in enumerate(col["item_id"])]
    ratings = [check_rating(v, scale, k, missing_ok=True) for k, v in enumerate(col["rating"])]
    weights = [
        (r if r is not None else 1.0) if is_missing(w) else check_weight(w, k)
        for k, (w, r) in enumerate(zip(col["weight"], ratings, strict=True))
    ]
    stamps = [int(now) if is_missing(v) else check_ts(v, now, k) for k, v in enumerate(col["ts"])]
    kinds = [
        check_kind(v, r is not None, k)
        for k, (v, r) in enumerate(zip(col["kind"], ratings, strict=True))
    ]
    out = pd.DataFrame(
        {
            "user_id": pd.Series(users, dtype=object),
            "item_id": pd.Series(items, dtype=object),
            "kind": pd.Series(kinds, dtype=object),
            "rating": np.array([np.nan if r is None else r for r in ratings], dtype=np.float64),
            "weight": np.array(weights, dtype=np.float64),
            "ts": np.array(stamps, dtype=np.int64),
            "split": pd.Series([""] * n, dtype=object),
        }
    )
    # One row per (user, item), as ingestion does: the latest ts wins, then the last row.
    out = out.iloc[np.lexsort((np.arange(n), out["ts"].to_numpy()))]
    return out.drop_duplicates(["user_id", "item_id"], keep="last").sort_index()


def _scale(store: GraphStore, rating_range: tuple[float, float] | None) -> tuple[float, float]:
    """The store's rating scale, narrowed to ``rating_range`` when given."""
    low, high = stored_rating_range(store)
    if rating_range is not None:
        given_low, given_high = check_rating_range(rating_range) or (low, high)
        low, high = max(low, given_low), min(high, given_high)
    return low, high


def record_interaction(
    store: GraphStore,
    user_id: str | int,
    item_id: str | int,
    rating: float | None = None,
    ts: int | None = None,
    kind: str | None = None,
    weight: float | None = None,
    now: float | None = None,
) -> dict[str, Any]:
    """Write one interaction (:func:`record_interactions`); None leaves a value out (no
    rating: an implicit interaction), while a NaN rating or weight is refused.

    Raises:
        DatasetError, UnknownIdError: as :func:`record_interactions`.
    """
    for field, value in (("rating", rating), ("weight", weight), ("ts", ts)):
        if value is not None and is_missing(value):
            raise DatasetError(
                f"{field} nan is not a number: nan and infinities are refused; "
                f"leave the {field} out instead",
                field=field,
            )
    row = {
        "user_id": user_id,
        "item_id": item_id,
        "rating": rating,
        "ts": ts,
        "kind": kind,
        "weight": weight,
    }
    frame = pd.DataFrame({k: pd.Series([v], dtype=object) for k, v in row.items()})
    return record_interactions(store, frame, now=now)


def record_interactions(
    store: GraphStore,
    frame: pd.DataFrame,
    rating_range: tuple[float, float] | None = None,
    now: float | None = None,
) -> dict[str, Any]:
    """Write interactions into the store now; users are created, items must exist.

    Values are checked as ingestion checks them (:mod:`kgrec.core.checks`), before anything
    is written: a refused write changes nothing. A stored interaction is replaced only by a
    row whose ``ts`` is at least its own (the latest timestamp wins, for every writer).

    Args:
        store: the graph store.
        frame: a DataFrame, a list of row dicts or a dict of columns; one row per
            interaction: ``user_id``, ``item_id`` and optionally ``rating`` (none or NaN: an
            implicit interaction), ``ts`` (unix seconds; default now), ``kind`` (default
            ``rating`` with a rating, else ``implicit``) and ``weight`` (default the rating,
            else 1.0, as ingestion sets it).
        rating_range: refuse ratings outside ``(low, high)`` too; the store's own scale
            (stored by ingestion: MovieLens 0.5 to 5) always applies.
        now: the recording time (unix seconds); default the clock.

    Returns:
        ``{rows, created, updated, kept_newer, seq}``: rows written (one per user and item),
        new and changed relationships, rows not written because the store holds a newer
        interaction of that user and item, and the change counter afterwards (unchanged
        when nothing changed).

    Raises:
        DatasetError: a value is missing, of the wrong type, out of range or not storable
            (the message names the row, the field and the value). InvalidParameter: an
            unknown or missing column, or ``frame`` is not a table of interactions.
        UnknownIdError: an item is not in the store (add it with ``add_item`` first).
    """
    stamp = time.time() if now is None else float(now)
    scale = _scale(store, rating_range)
    rows = _interactions(frame, stamp, scale).reset_index(drop=True)
    Dataset("recorded", interactions=rows).check()  # the fields as given, named so
    ds = Dataset(
        "recorded", users=pd.DataFrame({"id": pd.unique(rows["user_id"])}), interactions=rows
    )
    items = list(pd.unique(rows["item_id"]))
    found = {r["item_id"] for r in run_query(store, "item_details", {"item_ids": items})}
    missing = [i for i in items if i not in found]
    if missing:
        raise UnknownIdError(
            f"unknown item {missing[0]!r}: it is not in the store ({len(missing)} unknown "
            "items in all); add it with add_item (kgrec add-item) or ingest it first"
        )
    writer = BatchWriter(store)
    keys = records(ds.interactions[["user_id", "item_id", "ts"]])
    with store.exclusive("ingest"):  # MERGE is not atomic between writers on FalkorDB
        writer.write("merge_users", records(ds.users))
        written = writer.write("merge_interactions", records(ds.interactions))
        marked = writer.write("mark_recorded", keys, params={"recorded": stamp})
        newer = sum(
            int(r["newer"])
            for batch in batches(keys, DEFAULT_BATCH_SIZE)
            for r in run_statement(store, "count_newer_interactions", {"rows": batch})
        )
    changed = written.created + written.updated + marked.updated
    seq = note_change(store) if changed else change_sequence(store)
    return {
        "rows": len(rows),
        "created": written.created,
        "updated": written.updated,
        "kept_newer": newer,
        "seq": seq,
    }


def add_item(
    store: GraphStore,
    embedder: TextEmbedder,
    item_id: str,
    title: str,
    text: str | None = None,
    tags: Iterable[str] | str = (),
    now: float | None = None,
) -> dict[str, Any]:
    """Write one item (created, or its title, text and tags updated) and embed its text.

    The item's text is built from the store after the write (title, tags, ``text`` as its
    description), exactly as ingestion builds it, and embedded with ``embedder``.

    Returns:
        ``{item_id, created, changed, seq}``.

    Args:
        tags: tag names (normalised as ingestion does); a string is one tag.

    Raises:
        DatasetError: the id, title, text or a tag is empty, of the wrong type or not
            storable (the message names the field and the value); checked before anything
            is written.
    """
    from kgrec.app.ingest import ingest

    item_id = check_id(item_id, "item_id")
    title = check_text(title, "title", required=True) or ""
    text = check_text(text, "text")
    names = check_tags(tags)
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
        ),
    )
    ds.check()
    existed = bool(run_query(store, "item_exists", {"id": item_id}))
    report = ingest(ds, store, embedder, compact=False)
    stamp = time.time() if now is None else float(now)
    marked = BatchWriter(store).write(
        "mark_added_items", [{"id": item_id}], params={"added": stamp}
    )
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
    from kgrec.gnn.versions import load_live

    stored = int(run_statement(store, "count_graph")[0]["interactions"])
    try:
        live = load_live(model_dir)
    except ModelNotTrained:
        return {
            "live_version": None,
            "trained": None,
            "stored": stored,
            "new": stored,
            "share": None,
        }
    trained = int(live.config.get("num_interactions", 0))
    new = max(stored - trained, 0)
    return {
        "live_version": live.version_dir.name,
        "trained": trained,
        "stored": stored,
        "new": new,
        "share": new / trained if trained else None,
    }


def record_in_store(
    settings: Settings,
    user_id: str,
    item_id: str,
    rating: float | None = None,
    ts: int | None = None,
    kind: str | None = None,
) -> dict[str, Any]:
    """``kgrec interact``: :func:`record_interaction` into the configured store."""
    from kgrec.app.store import opened

    with opened(settings) as store:
        return record_interaction(store, user_id, item_id, rating, ts, kind)


def add_item_to_store(
    settings: Settings, item_id: str, title: str, text: str | None, tags: Iterable[str] | str
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
