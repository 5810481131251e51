"""The retraining job against a store: export -> train -> evaluate -> promote -> write back.

After a promotion, the live model's user and item embeddings are written back to the store
as ``gnn_embedding`` (with ``model_version``) under a vector index, and each user's top-k
unseen items become ``RECOMMENDED {rank, score, model_version}`` relationships, which the
analyst queries read (coverage, for example). A job that does not promote writes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from kgrec.kg.export import export_graph
from kgrec.kg.schema import ensure_vector_index
from kgrec.kg.store import GraphStore
from kgrec.kg.writer import VECTOR_BATCH_SIZE, BatchWriter

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]


def load_tensors(store: GraphStore, progress: Progress | None = None):
    """The store's graph as :class:`kgrec.gnn.GraphTensors` (text vectors included)."""
    from kgrec.gnn.data import GraphTensors

    exported = export_graph(store, progress=progress)
    f = exported.frames
    return GraphTensors.from_frames(
        f["users"], f["items"], f["tags"], f["interactions"], f["item_tags"], f["triples"],
        f["entities"], exported.item_embeddings, exported.tag_embeddings,
    )  # fmt: skip


def top_k_unseen(
    users: np.ndarray, items: np.ndarray, seen: list[np.ndarray], k: int, chunk: int = 1024
) -> tuple[np.ndarray, np.ndarray]:
    """Each user's ``k`` best items by dot product, excluding ``seen[u]``.

    Shapes:
        users: ``[U, d]``; items: ``[I, d]``; returns indices and scores ``[U, min(k, I)]``.
    """
    k = min(k, items.shape[0])
    top_idx = np.zeros((users.shape[0], k), dtype=np.int64)
    top_score = np.zeros((users.shape[0], k), dtype=np.float32)
    for start in range(0, users.shape[0], chunk):
        scores = users[start : start + chunk] @ items.T
        for row, u in enumerate(range(start, min(start + chunk, users.shape[0]))):
            scores[row, seen[u]] = -np.inf
        part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
        part_scores = np.take_along_axis(scores, part, axis=1)
        order = np.argsort(-part_scores, axis=1, kind="stable")
        top_idx[start : start + chunk] = np.take_along_axis(part, order, axis=1)
        top_score[start : start + chunk] = np.take_along_axis(part_scores, order, axis=1)
    return top_idx, top_score


def write_back(store: GraphStore, model_dir: Path, tensors, k: int = 20) -> dict[str, Any]:
    """Write the live model's embeddings and each user's top-``k`` into the store."""
    from kgrec.gnn.checkpoint import load_live

    live = load_live(model_dir)
    version = live.version_dir.name
    users = live.user_embeddings.numpy().astype(np.float32)
    items = live.item_embeddings.numpy().astype(np.float32)
    user_ids, item_ids = live.id_maps["users"], live.id_maps["items"]
    writer = BatchWriter(store)
    fixed = {"model_version": version}
    ensure_vector_index(store, "User", "gnn_embedding", users.shape[1])
    ensure_vector_index(store, "Item", "gnn_embedding", items.shape[1])
    writer.write("set_user_gnn_embeddings", [
        {"id": i, "embedding": v.tolist()} for i, v in zip(user_ids, users, strict=True)
    ], VECTOR_BATCH_SIZE, fixed)  # fmt: skip
    writer.write("set_item_gnn_embeddings", [
        {"id": i, "embedding": v.tolist()} for i, v in zip(item_ids, items, strict=True)
    ], VECTOR_BATCH_SIZE, fixed)  # fmt: skip
    written = 0
    if k > 0:
        edges = tensors.edge_index.numpy()
        order = np.argsort(edges[0], kind="stable")
        bounds = np.searchsorted(edges[0][order], np.arange(len(user_ids) + 1))
        seen = [edges[1][order[bounds[u] : bounds[u + 1]]] for u in range(len(user_ids))]
        top_idx, top_score = top_k_unseen(users, items, seen, k)
        writer.write("clear_recommendations", [{"user_id": u} for u in user_ids])
        rows = [
            {"user_id": user_ids[u], "item_id": item_ids[i], "rank": r + 1, "score": float(s)}
            for u in range(len(user_ids))
            for r, (i, s) in enumerate(zip(top_idx[u], top_score[u], strict=True))
            if np.isfinite(s)  # a user with fewer than k unseen items
        ]
        written = writer.write("create_recommendations", rows, params=fixed).created
    return {"version": version, "users": len(user_ids), "items": len(item_ids),
            "recommendations": written}  # fmt: skip


def train(
    store: GraphStore,
    model_dir: Path,
    model: str = "lightgcn",
    epochs: int = 200,
    split: str = "temporal",
    tolerance: float = 0.01,
    seed: int = 0,
    device: str = "auto",
    recommendations_k: int = 20,
    show_progress: bool = False,
    progress: Progress | None = None,
    model_kwargs: dict[str, Any] | None = None,
    train_kwargs: dict[str, Any] | None = None,
):
    """Run the retraining job on the store's graph; write back when it promotes.

    Returns:
        ``(JobResult, write_back summary or None)``.
    """
    from kgrec.gnn.job import run_job

    tensors = load_tensors(store, progress)
    result = run_job(
        tensors, model_dir, model=model, epochs=epochs, split=split, tolerance=tolerance,
        seed=seed, device=device, show_progress=show_progress,
        model_kwargs=model_kwargs, train_kwargs=train_kwargs,
    )  # fmt: skip
    written = write_back(store, model_dir, tensors, recommendations_k) if result.promoted else None
    return result, written
