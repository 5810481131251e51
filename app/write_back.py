"""The live model in the store: its vectors and each user's top-k, written back after a
promotion, and whether the store holds all of it.

What the store holds. Every user the live model knows carries ``gnn_embedding`` (the vector
the store last received for it) and ``model_version`` (the version that wrote that vector);
every item it knows has an ``(:ItemVector {id, gnn_embedding, model_version})`` node with the
item's id, under a vector index (user vectors carry none: no statement searches them). Item
vectors live apart from the items so that a write-back never touches an ``Item`` node: on
FalkorDB that would re-insert it into the items' text vector index
(:data:`kgrec.kg.schema.VECTOR_OWNERS`).
Each user's top-k unseen items are ``RECOMMENDED {rank, score, model_version}`` relationships,
``model_version`` naming the version that wrote that user's list.

Only what changed is written. After a complete write-back, a *record* of what the store then
holds (ids, vectors, each user's top-k; :mod:`kgrec.app.write_back_record`) is saved as
``<model-dir>/written/<token>.layout2.npz`` and
the state node names its token. The next write-back compares the live model with that
record and writes a vector only where it moved by more than ``tolerance`` of its stored
length, and a user's RECOMMENDED relationships only where their items or ranks differ or a
score moved by more than ``tolerance`` of the user's largest stored score; vectors and
recommendations of users and items the live model no longer knows are removed. The stored
values are exactly the record's, so differences never accumulate across versions. Without a
record that matches the store (the first write-back, another store, a store changed by
hand, an unfinished write-back of another version) everything is written and whatever
another version left is removed.

A write-back is detectably complete or not. One node, ``(:ModelState {key: 'write_back'})``,
records it: ``version``, ``complete = false`` and ``started`` are set before the first vector
is written, then ``base`` (the token of the record it compares with, if any), and
``complete = true``, ``finished`` and ``written`` (the new record's token) after the last
vector and RECOMMENDED edge of that version. :func:`write_back_status` compares it with the
live model; a mismatch or an unfinished write-back (a job killed after promotion) is finished
by :func:`repair_write_back`, which compares with the same ``base`` again, so every step is
idempotent.
"""

from __future__ import annotations

import logging
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from kgrec.app.write_back_record import (
    RECORD_DIR,
    Written,
    changed_lists,
    changed_vectors,
    drop_records,
    record_path,
    top_k_lists,
    top_k_unseen,
)
from kgrec.core.files import private_dir
from kgrec.core.progress import Progress
from kgrec.core.settings import DEFAULT_RECOMMENDATIONS
from kgrec.kg.schema import (
    RETIRED_VECTOR_INDEXES,
    drop_vector_index,
    ensure_schema,
    ensure_vector_index,
)
from kgrec.kg.store import GraphStore
from kgrec.kg.vector import settle_vector_index, write_vectors
from kgrec.kg.writer import VECTOR_BATCH_SIZE, BatchWriter, run_statement

if TYPE_CHECKING:
    from kgrec.gnn.data import GraphTensors

log = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_K",
    "DEFAULT_TOLERANCE",
    "Written",
    "repair_write_back",
    "top_k_unseen",
    "write_back",
    "write_back_status",
]

STATE_KEY = "write_back"
DEFAULT_K = DEFAULT_RECOMMENDATIONS
#: A stored vector (or score) is kept while it differs from the live model's by at most this
#: share of its length (of the user's largest score).
DEFAULT_TOLERANCE = 1e-3
CLEAR_BATCH = 10_000
#: RECOMMENDED rows per write.
RECOMMENDATION_BATCH = 20_000


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _clear_stale(store: GraphStore, name: str, version: str) -> int:
    """Run a ``LIMIT``-ed clearing statement until it clears nothing more; returns the total."""
    total = 0
    while True:
        rows = run_statement(store, name, {"model_version": version, "limit": CLEAR_BATCH})
        cleared = int(rows[0]["cleared"]) if rows else 0
        total += cleared
        if cleared < CLEAR_BATCH:
            return total


def _basis(
    state: dict[str, Any], model_dir: Path, version: str, dim: int
) -> tuple[str | None, Written | None]:
    """The token and record of what the store holds, when it is known: after a complete
    write-back, the record it wrote; during an unfinished write-back of ``version``, the
    record that one compared with (the rows it may have written differ from it, so they are
    written again)."""
    if state.get("complete"):
        token = state.get("written")
    else:
        token = state.get("base") if state.get("version") == version else None
    if not token:
        return None, None
    record = Written.load(record_path(model_dir, str(token)))
    if record is None or record.users.shape[1:] != (dim,) or record.items.shape[1:] != (dim,):
        return None, None
    return str(token), record


def write_back(
    store: GraphStore,
    model_dir: Path,
    tensors: GraphTensors,
    k: int = DEFAULT_K,
    *,
    progress: Progress | None = None,
    batch_size: int = VECTOR_BATCH_SIZE,
    tolerance: float = DEFAULT_TOLERANCE,
) -> dict[str, Any]:
    """Write the live model's vectors and each user's top-``k`` into the store, as far as
    they differ from what it holds (see the module docstring).

    Marks the write-back started first and complete last, so a write-back killed half-way is
    detected by :func:`write_back_status`. Running it again finishes it: every step is
    idempotent.

    Args:
        store: the graph store. model_dir: the model root holding ``live``.
        tensors: the graph (:func:`kgrec.app.tensors.load_tensors`), for the items each user
            has seen.
        k: recommendations per user (0: none; old ones are still removed).
        progress: called with (step, rows written so far, total rows).
        batch_size: rows per embedding write.
        tolerance: how far a stored vector or score may be from the live model's (a share
            of its length; 0: rewrite whatever differs at all).

    Returns:
        ``{version, users, items, recommendations}`` (what the store holds of the live
        model) plus ``written_users``, ``written_items``, ``written_recommendations`` (what
        this call wrote), ``cleared_embeddings``, ``cleared_recommendations``, ``compared``
        (True when it wrote only the differences from the store's record) and ``seconds``.

    Raises:
        ModelNotTrained: there is no live model (ModelCorrupt: it is damaged).
    """
    from kgrec.gnn.versions import load_live

    start = time.perf_counter()
    live = load_live(model_dir)
    version = live.version_dir.name
    users = live.user_embeddings.numpy().astype(np.float32)
    items = live.item_embeddings.numpy().astype(np.float32)
    user_ids, item_ids = live.id_maps["users"], live.id_maps["items"]
    token, old = _basis(_state(store), model_dir, version, users.shape[1])
    run_statement(
        store,
        "write_back_started",
        {"key": STATE_KEY, "model_version": version, "started": _now(), "k": k},
    )
    if token is not None:
        run_statement(
            store, "write_back_basis", {"key": STATE_KEY, "model_version": version, "base": token}
        )
    fixed = {"model_version": version}
    writer = BatchWriter(store, progress)
    dim = users.shape[1]
    for label, prop in RETIRED_VECTOR_INDEXES:  # indexes earlier releases kept
        drop_vector_index(store, label, prop)
    ensure_schema(store)  # the ItemVector id index, in a store of an earlier release
    ensure_vector_index(store, "ItemVector", "gnn_embedding", dim)
    held: dict[str, np.ndarray] = {}
    written: dict[str, int] = {}
    gone: dict[str, np.ndarray] = {}
    for label, ids, values, old_ids, old_values in (
        ("User", user_ids, users, *((old.user_ids, old.users) if old else (None, None))),
        ("Item", item_ids, items, *((old.item_ids, old.items) if old else (None, None))),
    ):
        changed, held[label], gone[label] = changed_vectors(
            ids, values, old_ids, old_values, tolerance
        )
        rows = [{"id": ids[j], "embedding": values[j].tolist()} for j in np.flatnonzero(changed)]
        name = label.lower()
        if label == "Item":
            write_vectors(
                store,
                f"set_{name}_gnn_embeddings",
                "ItemVector",
                "gnn_embedding",
                rows,
                dim,
                fixed,
                progress,
                batch_size,
                settle=False,
            )
        else:
            writer.write(f"set_{name}_gnn_embeddings", rows, batch_size, fixed)
        writer.write(
            f"clear_{name}_gnn_embeddings", [{"id": str(i)} for i in gone[label]], CLEAR_BATCH
        )
        written[label] = len(rows)
    cleared_embeddings = len(gone["User"]) + len(gone["Item"])
    if old is None:  # whatever another version (or layout) left
        cleared_embeddings += _clear_stale(store, "clear_stale_gnn_embeddings", version)
        cleared_embeddings += _clear_stale(store, "clear_stale_item_vectors", version)
    settle_vector_index(store, "ItemVector", "gnn_embedding", dim)

    top, scores = top_k_lists(users, items, tensors, user_ids, item_ids, k)
    changed, held_scores = changed_lists(top, scores, user_ids, item_ids, old, tolerance)
    redo = [user_ids[j] for j in np.flatnonzero(changed)] + [str(u) for u in gone["User"]]
    cleared = writer.write("clear_recommendations", [{"user_id": u} for u in redo])
    rows = [
        {"user_id": user_ids[u], "item_id": item_ids[i], "rank": r + 1, "score": float(s)}
        for u in np.flatnonzero(changed)
        for r, (i, s) in enumerate(zip(top[u], scores[u], strict=True))
        if i >= 0  # a user with fewer than k unseen items
    ]
    created = writer.write("create_recommendations", rows, RECOMMENDATION_BATCH, fixed).created
    cleared_recommendations = cleared.counters.relationships_deleted
    if old is None:
        cleared_recommendations += _clear_stale(store, "clear_stale_recommendations", version)

    record = Written(
        np.array(user_ids, dtype=str),
        np.array(item_ids, dtype=str),
        held["User"],
        held["Item"],
        top,
        held_scores,
    )
    new_token = uuid.uuid4().hex
    private_dir(Path(model_dir) / RECORD_DIR)
    record.save(record_path(model_dir, new_token))
    total = int((top >= 0).sum())
    run_statement(
        store,
        "write_back_finished",
        {
            "key": STATE_KEY,
            "model_version": version,
            "finished": _now(),
            "users": len(user_ids),
            "items": len(item_ids),
            "recommendations": total,
            "written": new_token,
        },
    )
    drop_records(model_dir, keep=new_token)
    from kgrec.app.behaviour import note_change

    note_change(store)  # serving processes load the promoted version at their next read
    if written["User"] or written["Item"] or created or cleared_embeddings:
        store.compact()  # the next cold start loads a snapshot instead of replaying the writes
    return {
        "version": version,
        "users": len(user_ids),
        "items": len(item_ids),
        "recommendations": total,
        "written_users": written["User"],
        "written_items": written["Item"],
        "written_recommendations": created,
        "cleared_embeddings": cleared_embeddings,
        "cleared_recommendations": cleared_recommendations,
        "compared": old is not None,
        "seconds": round(time.perf_counter() - start, 3),
    }


def write_back_status(store: GraphStore, model_dir: Path) -> dict[str, Any]:
    """Whether the store holds a complete write-back of the live model.

    Returns:
        ``live_version`` (None without a live model), ``stored_version`` (the version the
        store's last write-back was of; None when none is recorded), ``complete`` (that
        write-back finished), ``in_sync`` (complete and of the live version),
        ``needs_repair`` (a live model exists and the store is not in sync with it),
        ``started``, ``finished`` (UTC, ISO 8601), ``k`` and the counts the store holds.
    """
    from kgrec.gnn.versions import live_version

    live = live_version(model_dir)
    state = _state(store)
    stored = state.get("version")
    complete = bool(state.get("complete")) if stored is not None else False
    in_sync = live is not None and stored == live and complete
    return {
        "live_version": live,
        "stored_version": stored,
        "complete": complete,
        "in_sync": in_sync,
        "needs_repair": live is not None and not in_sync,
        "started": state.get("started"),
        "finished": state.get("finished"),
        "k": state.get("k"),
        "users": state.get("users"),
        "items": state.get("items"),
        "recommendations": state.get("recommendations"),
    }


def repair_write_back(
    store: GraphStore,
    model_dir: Path,
    tensors: GraphTensors | None = None,
    k: int | None = None,
    *,
    force: bool = False,
    progress: Progress | None = None,
    default_k: int = DEFAULT_K,
) -> dict[str, Any] | None:
    """Finish an incomplete or mismatched write-back of the live model (no lock taken).

    Args:
        tensors: the exported graph; exported from ``store`` when None.
        k: recommendations per user; default: what the last write-back used, else
            ``default_k``.
        force: write back even when the store is in sync (only what differs from the
            store's record is written).

    Returns:
        :func:`write_back`'s summary, or None when nothing needed doing.
    """
    from kgrec.app.tensors import load_tensors

    status = write_back_status(store, model_dir)
    if status["live_version"] is None or not (status["needs_repair"] or force):
        return None
    log.info(
        "writing back %s (store: %s, complete=%s)",
        status["live_version"],
        status["stored_version"],
        status["complete"],
    )
    if tensors is None:
        tensors = load_tensors(store, progress)
    k = k if k is not None else int(status["k"] if status["k"] is not None else default_k)
    return write_back(store, model_dir, tensors, k, progress=progress)


def _state(store: GraphStore) -> dict[str, Any]:
    rows = run_statement(store, "write_back_state", {"key": STATE_KEY})
    return rows[0] if rows else {}
