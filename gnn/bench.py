"""All methods in one harness on one split (:func:`compare`), plus the MovieLens loader."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from kgrec.gnn.data import GraphTensors
from kgrec.gnn.evaluate import evaluate
from kgrec.gnn.splits import make_split
from kgrec.gnn.train import fit, resolve_device, seed_everything

log = logging.getLogger(__name__)

METHODS = (
    "MostPopular",
    "ItemKNN",
    "TextSimilarity",
    "MF-BPR",
    "LightGCN+text",
    "LightGCN (no text)",
    "LightGCN+text (no tag edges)",
    "GraphSAGE",
)
_TRAINED: dict[str, tuple[str, dict[str, Any]]] = {
    "MF-BPR": ("mf", {}),
    "LightGCN+text": ("lightgcn", {"use_text": True, "use_kg_edges": True}),
    "LightGCN (no text)": ("lightgcn", {"use_text": False, "use_kg_edges": True}),
    "LightGCN+text (no tag edges)": ("lightgcn", {"use_text": True, "use_kg_edges": False}),
    "GraphSAGE": ("graphsage", {}),
}


def load_movielens(
    path: str | Path, cache_dir: str | Path | None = None, device: str = "auto"
) -> GraphTensors:
    """ml-latest-small (or any MovieLens folder) with all-MiniLM-L6-v2 item and tag vectors.

    Args:
        path: the dataset folder. cache_dir: the embedding cache (default
            ``$KGREC_CACHE_DIR`` or none). device: where the text model runs.
    """
    from kgrec.loaders.embeddings import TextEmbedder
    from kgrec.loaders.movielens import read_movielens
    from kgrec.loaders.text import item_texts, tag_texts

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    ds = read_movielens(path)
    cache = cache_dir or os.environ.get("KGREC_CACHE_DIR")
    embedder = TextEmbedder(cache_dir=Path(cache) if cache else None, device=device)
    try:
        items = embedder.embed(list(item_texts(ds.items, ds.item_tags)))
        tags = embedder.embed(list(tag_texts(ds.tags)))
    finally:
        embedder.close()
    return GraphTensors.from_dataset(ds, items, tags)


def compare(
    tensors: GraphTensors,
    split: str = "temporal",
    epochs: int = 100,
    *,
    methods: Sequence[str] = METHODS,
    seed: int = 0,
    device: str = "auto",
    knn_ks: Sequence[int] = (25, 50, 100, 200),
    train_kwargs: dict[str, dict[str, Any]] | None = None,
    model_kwargs: dict[str, dict[str, Any]] | None = None,
    show_progress: bool = False,
) -> pd.DataFrame:
    """Train and evaluate every method on the same split; one row per method.

    Hyperparameters are fixed (:data:`kgrec.gnn.job.TRAIN_DEFAULTS`, overridable per method
    name) except ItemKNN's ``k``, chosen from ``knn_ks`` on validation Recall@20; every GNN
    keeps its best-validation epoch. The test split is used only for the reported numbers.

    Returns:
        Columns ``method, recall@20, ndcg@20, recall@10, ndcg@10, coverage@20,
        val/recall@20, train_seconds, seconds_per_epoch, epochs, notes``.
    """
    from kgrec.gnn.baselines import ItemKNN, MostPopular, TextSimilarity
    from kgrec.gnn.job import TRAIN_DEFAULTS, build_model

    dev = resolve_device(device)
    sp = make_split(tensors, split, seed=seed)
    rows = []
    for name in methods:
        if (
            name in ("TextSimilarity", "GraphSAGE", "LightGCN+text", "LightGCN+text (no tag edges)")
            and tensors.item_text is None
        ):
            log.warning("skipping %s: no item text vectors", name)
            continue
        seed_everything(seed)
        t0 = time.perf_counter()
        notes, per_epoch, n_epochs = "", float("nan"), 0
        if name == "MostPopular":
            scorer = MostPopular(tensors, sp.train)
        elif name == "ItemKNN":
            best = None
            for k in knn_ks:
                cand = ItemKNN(tensors, sp.train, k=k)
                val = evaluate(cand, tensors, sp.train, sp.val, extras=False)["recall@20"]
                if best is None or val > best[0]:
                    best = (val, k, cand)
            scorer, notes = best[2], f"k={best[1]} (of {list(knn_ks)}, on val)"
        elif name == "TextSimilarity":
            scorer = TextSimilarity(tensors, sp.train)
        elif name in _TRAINED:
            kind, options = _TRAINED[name]
            options = {**options, **(model_kwargs or {}).get(name, {})}
            scorer = build_model(kind, tensors, sp.train, **options)
            opts = {**TRAIN_DEFAULTS[kind], **(train_kwargs or {}).get(name, {})}
            history = fit(
                scorer,
                tensors,
                sp,
                epochs=epochs,
                seed=seed,
                device=dev,
                show_progress=show_progress,
                **opts,
            )
            per_epoch, n_epochs = history.seconds_per_epoch(), history.epochs
            notes = f"best epoch {history.best_epoch + 1}; {opts}"
        else:
            raise ValueError(f"unknown method {name!r}; choose from {', '.join(METHODS)}")
        seconds = time.perf_counter() - t0
        val = evaluate(scorer, tensors, sp.train, sp.val, device=dev, extras=False)
        test = evaluate(scorer, tensors, sp.train, sp.test, sp.val, device=dev)
        rows.append(
            {
                "method": name,
                "recall@20": test["recall@20"],
                "ndcg@20": test["ndcg@20"],
                "recall@10": test["recall@10"],
                "ndcg@10": test["ndcg@10"],
                "coverage@20": test["coverage@20"],
                "val/recall@20": val["recall@20"],
                "train_seconds": seconds,
                "seconds_per_epoch": per_epoch,
                "epochs": n_epochs,
                "notes": notes,
            }
        )
        log.info("%s: %s", name, {k: v for k, v in rows[-1].items() if k != "notes"})
    return pd.DataFrame(rows)


def format_table(frame: pd.DataFrame) -> str:
    """A plain-text table of :func:`compare`'s result (no notes column)."""
    shown = frame.drop(columns=["notes"], errors="ignore").copy()
    for col in shown.columns:
        if shown[col].dtype.kind == "f":
            shown[col] = shown[col].map(lambda v: "" if np.isnan(v) else f"{v:.4f}")
    return shown.to_string(index=False)
