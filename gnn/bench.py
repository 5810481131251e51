"""All methods in one harness on one split (:func:`compare`).

The data comes in as :class:`~kgrec.gnn.data.GraphTensors` (from the store:
:func:`kgrec.app.training.load_tensors`), so the benchmark sees what training sees.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from kgrec.core.device import resolve_device
from kgrec.core.errors import InvalidParameter
from kgrec.gnn.data import GraphTensors
from kgrec.gnn.evaluate import Scorer, evaluate
from kgrec.gnn.registry import build_model, model_class
from kgrec.gnn.splits import make_split
from kgrec.gnn.train import TrainConfig, fit, seed_everything

log = logging.getLogger(__name__)

#: Trained methods: ``(registry name, constructor options)``.
TRAINED: dict[str, tuple[str, dict[str, Any]]] = {
    "MF-BPR": ("mf", {}),
    "LightGCN+text": ("lightgcn", {"use_text": True, "use_kg_edges": True}),
    "LightGCN (no text)": ("lightgcn", {"use_text": False, "use_kg_edges": True}),
    "LightGCN+text (no tag edges)": ("lightgcn", {"use_text": True, "use_kg_edges": False}),
    "GraphSAGE": ("graphsage", {}),
}
BASELINES = ("MostPopular", "ItemKNN", "TextSimilarity")
METHODS = (*BASELINES, *TRAINED)


def _needs_text(method: str) -> bool:
    if method == "TextSimilarity":
        return True
    if method not in TRAINED:
        return False
    kind, options = TRAINED[method]
    return model_class(kind).needs_text or bool(options.get("use_text", False))


def compare(
    tensors: GraphTensors,
    split: str = TrainConfig.split,
    epochs: int = TrainConfig.epochs,
    *,
    methods: Sequence[str] = METHODS,
    seed: int = TrainConfig.seed,
    device: str = TrainConfig.device,
    knn_ks: Sequence[int] = (25, 50, 100, 200),
    train_overrides: dict[str, dict[str, Any]] | None = None,
    model_options: dict[str, dict[str, Any]] | None = None,
    show_progress: bool = False,
) -> pd.DataFrame:
    """Train and evaluate every method on the same split; one row per method.

    Each trained method uses :meth:`TrainConfig.for_model` of its model (with ``split``,
    ``epochs``, ``seed``, ``device`` and the method's ``train_overrides``) and keeps its
    best-validation epoch; ItemKNN's ``k`` is chosen from ``knn_ks`` on validation
    Recall@20. The test split is used only for the reported numbers. Methods that need
    item text are skipped (with a warning) when the tensors carry none.

    Returns:
        Columns ``method, recall@20, ndcg@20, recall@10, ndcg@10, coverage@20,
        val/recall@20, train_seconds, seconds_per_epoch, epochs, notes``.

    Raises:
        InvalidParameter: an unknown method or split.
    """
    from kgrec.gnn.baselines import ItemKNN, MostPopular, TextSimilarity

    unknown = [name for name in methods if name not in METHODS]
    if unknown:
        raise InvalidParameter(
            f"unknown method {unknown[0]!r}; choose from {', '.join(METHODS)}", field="methods"
        )
    dev = resolve_device(device)
    sp = make_split(tensors, split, seed=seed)
    rows = []
    for name in methods:
        if _needs_text(name) and tensors.item_text is None:
            log.warning("skipping %s: no item text vectors", name)
            continue
        seed_everything(seed)
        t0 = time.perf_counter()
        notes, per_epoch, n_epochs = "", float("nan"), 0
        scorer: Scorer
        if name == "MostPopular":
            scorer = MostPopular(tensors, sp.train)
        elif name == "ItemKNN":
            best: tuple[float, int, ItemKNN] | None = None
            for k in knn_ks:
                cand = ItemKNN(tensors, sp.train, k=k)
                recall = evaluate(cand, tensors, sp.train, sp.val, extras=False)["recall@20"]
                if best is None or recall > best[0]:
                    best = (recall, k, cand)
            if best is None:
                raise InvalidParameter("knn_ks is empty; give ItemKNN a k", field="knn_ks")
            scorer, notes = best[2], f"k={best[1]} (of {list(knn_ks)}, on val)"
        elif name == "TextSimilarity":
            scorer = TextSimilarity(tensors, sp.train)
        else:
            kind, options = TRAINED[name]
            options = {**options, **(model_options or {}).get(name, {})}
            model = build_model(kind, tensors, sp.train, **options)
            changes = {"split": split, "epochs": epochs, "seed": seed, "device": dev,
                       **(train_overrides or {}).get(name, {})}  # fmt: skip
            config = TrainConfig.for_model(kind, **changes)
            history = fit(model, tensors, sp, config, show_progress=show_progress)
            scorer, per_epoch, n_epochs = model, history.seconds_per_epoch(), history.epochs
            notes = (f"best epoch {history.best_epoch + 1}; lr={config.lr} "
                     f"batch_size={config.batch_size} reg={config.reg}")  # fmt: skip
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
