"""All methods in one harness on one split (:func:`compare`), with one protocol.

The data comes in as :class:`~kgrec.gnn.data.GraphTensors` (from the store:
:func:`kgrec.app.training.load_tensors`), so the benchmark sees what training sees.

The protocol, the same for every method: each candidate setting of a method (its grid:
ItemKNN's ``k``, EASE's ``lam``, ALS's ``factors``, the default model's ``decay``) is fitted
on the training part and scored on validation (Recall@20); trained models also pick their
best epoch there. The winner is then refitted on training + validation (trained models for
the chosen number of epochs) and evaluated once on test, with everything it was fitted on
masked. ``refit=False`` evaluates the validation-time model instead.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import torch

from kgrec.core.device import resolve_device
from kgrec.core.errors import InvalidParameter
from kgrec.gnn.data import GraphTensors
from kgrec.gnn.models.registry import build_model, model_class
from kgrec.gnn.training.config import TrainConfig
from kgrec.gnn.training.evaluate import Scorer, evaluate
from kgrec.gnn.training.splits import Split, make_split
from kgrec.gnn.training.train import fit, seed_everything

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Method:
    """One row of the comparison.

    Attributes:
        model: a registered model name (trained by :func:`kgrec.gnn.fit`), or None for a
            baseline built by ``build``.
        options: constructor arguments common to every candidate.
        grid: the candidate settings, chosen among on validation.
        seeded: results depend on the seed (run once per seed; else once).
        needs_text: the method needs item text vectors.
        build: ``build(tensors, train_idx, **options)`` for a baseline (plus ``seed=`` when
            ``seeded``).
    """

    model: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    grid: tuple[dict[str, Any], ...] = ({},)
    seeded: bool = True
    needs_text: bool = False
    build: Callable[..., Scorer] | None = None


def _baseline(name: str) -> Callable[..., Scorer]:
    def build(tensors: GraphTensors, train_idx: torch.Tensor, **options: Any) -> Scorer:
        from kgrec.gnn.models import baselines

        return getattr(baselines, name)(tensors, train_idx, **options)

    return build


#: Every method the harness knows, in table order.
METHODS: dict[str, Method] = {
    "MostPopular": Method(build=_baseline("MostPopular"), seeded=False),
    "ItemKNN": Method(
        build=_baseline("ItemKNN"),
        seeded=False,
        grid=tuple({"k": k} for k in (25, 50, 100, 200, 400)),
    ),
    "TextSimilarity": Method(build=_baseline("TextSimilarity"), seeded=False, needs_text=True),
    "EASE": Method(
        "ease",
        {"decay": 1.0, "rank": 1 << 30, "rating_weight": "none"},
        seeded=False,
        grid=tuple({"lam": lam} for lam in (200.0, 500.0, 1000.0)),
    ),
    "ALS": Method(
        build=_baseline("ALS"),
        grid=tuple(
            {"factors": f, "alpha": a}
            for f in (32, 64, 128)
            for a in (0.25, 0.5, 1.0, 2.0, 10.0, 40.0)
        ),
    ),
    "MF-BPR": Method("mf"),
    "LightGCN+text": Method("lightgcn", {"use_text": True, "use_kg_edges": True}, needs_text=True),
    "GraphSAGE": Method("graphsage", needs_text=True),
    "EASE+recency (default)": Method(
        "ease",
        seeded=False,
        grid=tuple(
            {"decay": d, "rating_weight": w} for d in (0.7, 0.8, 0.9) for w in ("linear", "none")
        ),
    ),
}
#: Ablations and variants run on request (``methods=``).
EXTRA_METHODS: dict[str, Method] = {
    "LightGCN (no text)": Method("lightgcn", {"use_text": False, "use_kg_edges": True}),
    "LightGCN+text (no tag edges)": Method(
        "lightgcn", {"use_text": True, "use_kg_edges": False}, needs_text=True
    ),
}
ALL_METHODS = {**METHODS, **EXTRA_METHODS}


@dataclass
class _Fitted:
    scorer: Scorer
    val: float
    epochs: int = 0
    seconds_per_epoch: float = float("nan")
    config: TrainConfig | None = None


def _fit_one(
    method: Method,
    tensors: GraphTensors,
    split: Split,
    params: dict[str, Any],
    seed: int,
    changes: dict[str, Any],
    show_progress: bool,
) -> _Fitted:
    """Fit ``method`` with ``params`` on ``split.train`` (validation picks the epoch)."""
    seed_everything(seed)
    if method.model is None:
        assert method.build is not None
        seeded = {"seed": seed} if method.seeded else {}
        scorer = method.build(tensors, split.train, **method.options, **params, **seeded)
        if not len(split.val):
            return _Fitted(scorer, float("nan"))
        val = evaluate(scorer, tensors, split.train, split.val, extras=False)["recall@20"]
        return _Fitted(scorer, val)
    model = build_model(method.model, tensors, split.train, **method.options, **params)
    config = TrainConfig.for_model(method.model, seed=seed, **changes)
    history = fit(model, tensors, split, config, show_progress=show_progress)
    if model.closed_form:
        return _Fitted(model, history.best_val)
    return _Fitted(
        model, history.best_val, history.best_epoch + 1, history.seconds_per_epoch(), config
    )


def compare(
    tensors: GraphTensors,
    split: str = TrainConfig.split,
    epochs: int = TrainConfig.epochs,
    *,
    methods: Sequence[str] = tuple(METHODS),
    seeds: Sequence[int] = (TrainConfig.seed,),
    device: str = TrainConfig.device,
    refit: bool = True,
    grids: dict[str, Sequence[dict[str, Any]]] | None = None,
    train_overrides: dict[str, dict[str, Any]] | None = None,
    show_progress: bool = False,
) -> pd.DataFrame:
    """Choose, refit and test every method on the same split; one row per method and seed.

    Args:
        tensors: the data. split: the split kind. epochs: maximum epochs of trained models.
        methods: names in :data:`ALL_METHODS`. seeds: a seeded method runs once per seed,
            the others once (with the first seed).
        device: where models train and are evaluated.
        refit: refit the chosen setting on training + validation before the test (see the
            module docstring).
        grids: replace a method's candidate settings (``{"ItemKNN": [{"k": 10}]}``).
        train_overrides: :class:`TrainConfig` fields per method.
        show_progress: training bars.

    Returns:
        Columns ``method, seed, recall@20, ndcg@20, recall@10, ndcg@10, coverage@20,
        val/recall@20, train_seconds, seconds_per_epoch, epochs, notes`` (``epochs``: those
        of the tested model; ``train_seconds``: choosing and refitting together).

    Raises:
        InvalidParameter: an unknown method or split, an empty grid, no seeds.
    """
    unknown = [name for name in methods if name not in ALL_METHODS]
    if unknown:
        raise InvalidParameter(
            f"unknown method {unknown[0]!r}; choose from {', '.join(ALL_METHODS)}",
            field="methods",
        )
    if not seeds:
        raise InvalidParameter("seeds is empty; give at least one seed", field="seeds")
    dev = resolve_device(device)
    rows = []
    for seed_pos, seed in enumerate(seeds):
        sp = make_split(tensors, split, seed=seed)
        train_val = torch.cat([sp.train, sp.val]).sort().values
        refit_split = Split(sp.kind, train_val, sp.val[:0], sp.test)
        for name in methods:
            method = ALL_METHODS[name]
            if not method.seeded and seed_pos > 0:
                continue
            needs_text = method.needs_text or (
                method.model is not None and model_class(method.model).needs_text
            )
            if needs_text and tensors.item_text is None:
                log.warning("skipping %s: no item text vectors", name)
                continue
            grid = list((grids or {}).get(name, method.grid))
            if not grid:
                raise InvalidParameter(f"the grid of {name} is empty", field="grids")
            changes = {
                "split": split,
                "epochs": epochs,
                "device": dev,
                **(train_overrides or {}).get(name, {}),
            }
            t0 = time.perf_counter()
            tried = [
                (_fit_one(method, tensors, sp, p, seed, changes, show_progress), p) for p in grid
            ]
            best, params = max(tried, key=lambda fp: fp[0].val)
            tested, masked = best, sp.train
            extra: torch.Tensor | None = sp.val
            if refit:
                again = dict(changes, epochs=max(best.epochs, 1)) if best.epochs else changes
                tested = _fit_one(method, tensors, refit_split, params, seed, again, show_progress)
                masked, extra = train_val, None
            seconds = time.perf_counter() - t0
            test = evaluate(tested.scorer, tensors, masked, sp.test, extra, device=dev)
            notes = [f"{k}={v}" for k, v in params.items()]
            if len(grid) > 1:
                notes.append(f"(of {len(grid)}, on val)")
            if best.config is not None:
                notes.append(f"lr={best.config.lr} batch_size={best.config.batch_size}")
            rows.append(
                {
                    "method": name,
                    "seed": seed,
                    "recall@20": test["recall@20"],
                    "ndcg@20": test["ndcg@20"],
                    "recall@10": test["recall@10"],
                    "ndcg@10": test["ndcg@10"],
                    "coverage@20": test["coverage@20"],
                    "val/recall@20": best.val,
                    "train_seconds": seconds,
                    "seconds_per_epoch": best.seconds_per_epoch,
                    "epochs": tested.epochs,
                    "notes": " ".join(notes),
                }
            )
            log.info("%s: %s", name, {k: v for k, v in rows[-1].items() if k != "notes"})
    return pd.DataFrame(rows)


def summarise(frame: pd.DataFrame) -> pd.DataFrame:
    """Mean and standard deviation over seeds of :func:`compare`'s metrics, per method."""
    metrics = ["recall@20", "ndcg@20", "coverage@20", "val/recall@20", "train_seconds"]
    grouped = frame.groupby("method", sort=False)
    out = grouped[metrics].mean()
    spread = grouped[["recall@20", "ndcg@20"]].std(ddof=0).fillna(0.0)
    out.insert(1, "recall@20 sd", spread["recall@20"])
    out.insert(3, "ndcg@20 sd", spread["ndcg@20"])
    out.insert(0, "seeds", grouped.size())
    return out.reset_index()


def format_table(frame: pd.DataFrame) -> str:
    """A plain-text table of :func:`compare`'s or :func:`summarise`'s result (no notes)."""
    shown = frame.drop(columns=["notes"], errors="ignore").copy()
    for col in shown.columns:
        if shown[col].dtype.kind == "f":
            shown[col] = shown[col].map(lambda v: "" if np.isnan(v) else f"{v:.4f}")
    return shown.to_string(index=False)
