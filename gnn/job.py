"""The retraining job: train -> evaluate -> write a version -> promote if no regression.

Exit codes (:attr:`JobResult.exit_code`, for a scheduler):

- ``0`` (:data:`EXIT_PROMOTED`): the new version is live.
- ``3`` (:data:`EXIT_REGRESSED`): the version was written but not promoted, because its
  validation Recall@20 is below the live one minus ``tolerance`` (absolute); ``live`` is
  unchanged.
- ``2`` (:data:`EXIT_USAGE`): bad arguments (unknown model or split, impossible sizes).
- ``1`` (:data:`EXIT_ERROR`): anything else failed (for example
  :class:`~kgrec.core.errors.TrainingDataError`: no interactions, or too few to split); ``live``
  is unchanged.

A live version whose files are damaged (:class:`~kgrec.core.errors.ModelCorrupt`) cannot be
compared with: the new version replaces it, with a warning.

The comparison is only meaningful when the live model was trained on the same data and
split; it uses each version's own ``metrics.json``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from kgrec.core.errors import KgrecError, ModelCorrupt, TrainingDataError
from kgrec.gnn.checkpoint import (
    clean_partial,
    ensure_model_dir,
    live_dir,
    live_version,
    load_version,
    promote,
    save_version,
)
from kgrec.gnn.data import GraphTensors
from kgrec.gnn.evaluate import evaluate
from kgrec.gnn.splits import SPLIT_KINDS, Split, make_split
from kgrec.gnn.train import Callback, History, fit, resolve_device, seed_everything

log = logging.getLogger(__name__)

EXIT_PROMOTED, EXIT_ERROR, EXIT_USAGE, EXIT_REGRESSED = 0, 1, 2, 3
MODELS = ("lightgcn", "graphsage", "mf")
GATE_METRIC = "val/recall@20"

MODEL_DEFAULTS: dict[str, dict[str, Any]] = {
    "lightgcn": {"embedding_dim": 64, "num_layers": 3, "use_text": True, "use_kg_edges": True},
    # cold_dropout 0.2 > 0.0 on ml-latest-small validation Recall@20 (0.120 vs 0.115)
    "graphsage": {"hidden_dim": 64, "num_layers": 2, "cold_dropout": 0.2},
    "mf": {"embedding_dim": 64},
}
TRAIN_DEFAULTS: dict[str, dict[str, Any]] = {
    # chosen on ml-latest-small validation Recall@20 (temporal split): 1e-2/4096 > 5e-3/2048
    "lightgcn": {"batch_size": 4096, "lr": 1e-2, "reg": 1e-4, "patience": 10, "eval_every": 2},
    "graphsage": {"batch_size": 4096, "lr": 2e-3, "reg": 1e-4, "patience": 10, "eval_every": 2},
    "mf": {"batch_size": 2048, "lr": 5e-3, "reg": 1e-4, "patience": 10, "eval_every": 2},
}


@dataclass
class JobResult:
    """What :func:`run_job` did; see the module docstring for ``exit_code``."""

    version_dir: Path | None
    promoted: bool
    metrics: dict[str, float]
    live_metrics: dict[str, float] | None
    exit_code: int
    error: str | None = None
    history: History | None = field(default=None, repr=False)


def build_model(
    name: str, tensors: GraphTensors, train_idx: torch.Tensor, **kwargs: Any
) -> torch.nn.Module:
    """A fresh ``lightgcn`` | ``graphsage`` | ``mf`` model on the training interactions."""
    options = {**MODEL_DEFAULTS.get(name, {}), **kwargs}
    if name == "lightgcn":
        from kgrec.gnn.lightgcn import LightGCN

        return LightGCN.from_tensors(tensors, train_idx, **options)
    if name == "graphsage":
        from kgrec.gnn.graphsage import GraphSAGE

        return GraphSAGE.from_tensors(tensors, train_idx, **options)
    if name == "mf":
        from kgrec.gnn.baselines import MFBPR

        return MFBPR.from_tensors(tensors, train_idx, **options)
    raise ValueError(f"unknown model {name!r}; choose one of {', '.join(MODELS)}")


def run_job(
    tensors: GraphTensors,
    model_dir: str | Path,
    model: str = "lightgcn",
    epochs: int = 100,
    split: str = "temporal",
    tolerance: float = 0.01,
    seed: int = 0,
    device: str = "auto",
    *,
    model_kwargs: dict[str, Any] | None = None,
    train_kwargs: dict[str, Any] | None = None,
    show_progress: bool = False,
    callback: Callback | None = None,
) -> JobResult:
    """Train, evaluate, write a version and promote it unless validation Recall@20 regressed.

    Args:
        tensors: the graph. model_dir: the model root (created if missing).
        model: ``lightgcn`` | ``graphsage`` | ``mf``. epochs: the maximum.
        split: ``temporal`` | ``random`` | ``fixed`` (:mod:`kgrec.gnn.splits`).
        tolerance: promote when ``new val/recall@20 >= live val/recall@20 - tolerance``.
        seed: the seed of the split (random), initialisation, shuffling and negatives.
        device: ``auto`` | ``cpu`` | ``cuda``.
        model_kwargs: overrides of :data:`MODEL_DEFAULTS`; train_kwargs: of
            :data:`TRAIN_DEFAULTS` (``batch_size``, ``lr``, ``reg``, ``patience``, ``amp``...).
        show_progress, callback: passed to :func:`kgrec.gnn.fit`.

    Returns:
        A :class:`JobResult`; ``metrics`` holds the test metrics (``'recall@20'``, ...), the
        validation ones under ``'val/...'``, plus ``'epochs'`` and ``'train_seconds'``.
        Errors are reported through ``exit_code`` and ``error``, not raised; expected ones
        (bad arguments, :class:`~kgrec.core.errors.KgrecError`) are logged at INFO, since the
        caller prints ``error``, unexpected ones with their traceback.
    """
    try:
        if model not in MODELS:
            raise ValueError(f"unknown model {model!r}; choose one of {', '.join(MODELS)}")
        if split not in SPLIT_KINDS:
            raise ValueError(f"unknown split {split!r}; choose one of {', '.join(SPLIT_KINDS)}")
        if epochs < 1:
            raise ValueError(f"epochs must be >= 1, got {epochs}")
    except ValueError as exc:  # reported through JobResult.error (the CLI prints it)
        log.info("%s", exc)
        return JobResult(None, False, {}, None, EXIT_USAGE, str(exc))
    try:
        return _run(
            tensors,
            Path(model_dir),
            model,
            epochs,
            split,
            tolerance,
            seed,
            device,
            model_kwargs or {},
            train_kwargs or {},
            show_progress,
            callback,
        )
    except ValueError as exc:
        log.info("training job failed: %s", exc)
        return JobResult(None, False, {}, None, EXIT_USAGE, str(exc))
    except KgrecError as exc:  # says what and how to fix it; no traceback needed
        log.info("training job failed: %s", exc)
        return JobResult(None, False, {}, None, EXIT_ERROR, str(exc))
    except (RuntimeError, OSError) as exc:
        log.exception("training job failed")
        return JobResult(None, False, {}, None, EXIT_ERROR, f"{type(exc).__name__}: {exc}")


def check_trainable(tensors: GraphTensors, split: Split) -> None:
    """Refuse a graph without interactions, or a split with no training or no test part.

    Raises:
        TrainingDataError: the message gives the counts and the fix.
    """
    n = tensors.num_interactions
    if n == 0:
        raise TrainingDataError("the graph holds 0 interactions; ingest data first")
    sizes = split.sizes()
    if sizes["train"] == 0 or sizes["test"] == 0:
        empty = "training" if sizes["train"] == 0 else "test"
        hint = (" (a user needs at least 5 interactions to put one in the test set)"
                if split.kind in ("temporal", "fixed") else "")  # fmt: skip
        other = "--split random" if split.kind != "random" else "--split temporal"
        raise TrainingDataError(
            f"too few interactions to split: {n} interactions of {tensors.num_users} users gave "
            f"{sizes['train']} training / {sizes['val']} validation / {sizes['test']} test with "
            f"the {split.kind} split, so the {empty} set is empty{hint}; ingest more "
            f"interactions or try {other}"
        )


def _run(
    tensors: GraphTensors,
    model_dir: Path,
    name: str,
    epochs: int,
    split_kind: str,
    tolerance: float,
    seed: int,
    device: str,
    model_kwargs: dict[str, Any],
    train_kwargs: dict[str, Any],
    show_progress: bool,
    callback: Callback | None,
) -> JobResult:
    if tensors.num_interactions == 0:
        raise TrainingDataError("the graph holds 0 interactions; ingest data first")
    ensure_model_dir(model_dir)
    clean_partial(model_dir)
    dev = resolve_device(device)
    split = make_split(tensors, split_kind, seed=seed)
    check_trainable(tensors, split)
    seed_everything(seed)
    net = build_model(name, tensors, split.train, **model_kwargs)
    options = {**TRAIN_DEFAULTS[name], **train_kwargs}
    history = fit(
        net,
        tensors,
        split,
        epochs=epochs,
        seed=seed,
        device=dev,
        show_progress=show_progress,
        callback=callback,
        **options,
    )
    val = evaluate(net, tensors, split.train, split.val, device=dev) if len(split.val) else {}
    test = evaluate(net, tensors, split.train, split.test, split.val, device=dev)
    metrics = {
        **test,
        **{f"val/{k}": v for k, v in val.items()},
        "epochs": float(history.epochs),
        "best_epoch": float(history.best_epoch),
        "train_seconds": history.train_seconds,
        "seconds_per_epoch": history.seconds_per_epoch(),
    }
    config = {
        "split": split_kind,
        "seed": seed,
        "epochs": epochs,
        "tolerance": tolerance,
        "train": options,
        "num_interactions": tensors.num_interactions,
    }
    version = save_version(
        model_dir, net.cpu(), name, config=config, id_maps=tensors.id_maps(), metrics=metrics
    )
    live_metrics = _live_metrics(model_dir)
    new_val = metrics.get(GATE_METRIC, test.get("recall@20", 0.0))
    old_val = None if live_metrics is None else live_metrics.get(GATE_METRIC)
    if old_val is not None and new_val < old_val - tolerance:
        log.warning(
            "not promoting %s: %s %.4f < live %.4f - %.4f",
            version.name,
            GATE_METRIC,
            new_val,
            old_val,
            tolerance,
        )
        return JobResult(version, False, metrics, live_metrics, EXIT_REGRESSED, None, history)
    promote(model_dir, version)
    return JobResult(version, True, metrics, live_metrics, EXIT_PROMOTED, None, history)


def _live_metrics(model_dir: Path) -> dict[str, float] | None:
    """The live version's metrics; None when there is no live version or it is damaged."""
    if live_version(model_dir) is None:
        return None
    current = live_dir(model_dir)
    try:
        if current is None:
            raise ModelCorrupt(f"the live version {live_version(model_dir)} is incomplete")
        return load_version(current).metrics
    except ModelCorrupt as exc:
        log.warning("the live model cannot be compared with and will be replaced: %s", exc)
        return None
