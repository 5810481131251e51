"""The retraining job: train -> evaluate -> write a version -> promote if no regression.

Outcomes (:class:`JobResult`):

- promoted (:attr:`JobResult.exit_code` ``0``, :data:`EXIT_PROMOTED`): the new version is
  live.
- not promoted (``3``, :data:`EXIT_REGRESSED`): the version was written but its validation
  Recall@20 is below the live one minus ``tolerance`` (absolute); ``live`` is unchanged.

The protocol: the model is trained on the training part with early stopping on validation,
whose Recall@20 is the promotion gate; with ``refit`` (the default) the same model is then
trained again on training + validation for the best number of epochs, and that model is
tested (everything it saw masked) and saved. The saved version scores from every known
interaction (:meth:`~kgrec.gnn.models.model.EmbeddingModel.use_interactions`: the test part joins
its graph or histories, without training on it). Before that, the model fits what it serves
beside its weights on the same interactions
(:meth:`~kgrec.gnn.models.model.EmbeddingModel.after_fit`: ``ease``'s cold-user aggregator,
:mod:`kgrec.gnn.inductive.aggregator_fit`, kept when it beats the history vector on held-out
users); its figures join the version's metrics (``aggregator/...``) and config.

Anything that stops the job raises, and ``live`` is unchanged: a typed
:class:`~kgrec.core.errors.KgrecError` for what the caller can fix
(:class:`~kgrec.core.errors.UnknownModel`, :class:`~kgrec.core.errors.InvalidParameter` for
an unknown split or impossible settings, :class:`~kgrec.core.errors.TrainingDataError` for no
interactions or too few to split). The command line turns them into exit codes.

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

from kgrec.core.device import resolve_device
from kgrec.core.errors import ModelCorrupt, TrainingDataError
from kgrec.core.settings import DEFAULT_MODEL
from kgrec.gnn.data import GraphTensors
from kgrec.gnn.inductive.aggregator_fit import EPOCHS
from kgrec.gnn.models.model import EmbeddingModel
from kgrec.gnn.models.registry import build_model
from kgrec.gnn.training.config import TrainConfig
from kgrec.gnn.training.evaluate import evaluate
from kgrec.gnn.training.splits import Split, make_split
from kgrec.gnn.training.train import Callback, History, fit, seed_everything
from kgrec.gnn.versions import (
    clean_partial,
    ensure_model_dir,
    live_dir,
    live_version,
    load_version,
    promote,
    record_event,
    save_version,
)

log = logging.getLogger(__name__)

EXIT_PROMOTED, EXIT_REGRESSED = 0, 3
GATE_METRIC = "val/recall@20"


@dataclass
class JobResult:
    """What :func:`run_job` did.

    Attributes:
        version_dir: the version written. promoted: whether it is live now.
        metrics: test metrics (``'recall@20'``, ...), validation ones under ``'val/...'``,
            plus ``'epochs'``, ``'best_epoch'``, ``'train_seconds'``, ``'seconds_per_epoch'``.
        live_metrics: those of the version that was live before (None: there was none).
        history: what training did.
    """

    version_dir: Path
    promoted: bool
    metrics: dict[str, float]
    live_metrics: dict[str, float] | None
    history: History | None = field(default=None, repr=False)

    @property
    def exit_code(self) -> int:
        """:data:`EXIT_PROMOTED` or :data:`EXIT_REGRESSED` (for a scheduler)."""
        return EXIT_PROMOTED if self.promoted else EXIT_REGRESSED


def run_job(
    tensors: GraphTensors,
    model_dir: str | Path,
    model: str = DEFAULT_MODEL,
    config: TrainConfig | None = None,
    *,
    model_options: dict[str, Any] | None = None,
    show_progress: bool = False,
    callback: Callback | None = None,
    aggregator_epochs: int = EPOCHS,
    **overrides: Any,
) -> JobResult:
    """Train, evaluate, write a version and promote it unless validation Recall@20 regressed.

    Args:
        tensors: the graph. model_dir: the model root (created if missing).
        model: a registered model name (:func:`kgrec.gnn.models.registry.model_names`).
        config: the settings; default :meth:`TrainConfig.for_model` of ``model``.
        model_options: constructor arguments of the model (``embedding_dim``, ...).
        show_progress, callback: passed to :func:`kgrec.gnn.fit`.
        aggregator_epochs: the epoch limit of what the model fits after its last fit
            (:meth:`~kgrec.gnn.models.model.EmbeddingModel.after_fit`: ``ease``'s cold-user
            aggregator, each of its fits); 0: none.
        overrides: :class:`TrainConfig` fields replacing those of ``config``
            (``run_job(tensors, dir, epochs=5, tolerance=0.0)``).

    Returns:
        A :class:`JobResult`.

    Raises:
        UnknownModel: ``model`` is not registered.
        InvalidParameter: an unknown split or setting, or an impossible value.
        TrainingDataError: no interactions, or too few to split.
        ModelDirLocked, OSError: the model directory cannot be written.
    """
    base = config or TrainConfig.for_model(model)
    cfg = base.replace(**overrides)
    if tensors.num_interactions == 0:
        raise TrainingDataError("the graph holds 0 interactions; ingest data first")
    root = Path(model_dir)
    ensure_model_dir(root)
    clean_partial(root)
    split = make_split(tensors, cfg.split, seed=cfg.seed)
    check_trainable(tensors, split)
    seed_everything(cfg.seed)
    net = build_model(model, tensors, split.train, **(model_options or {}))
    history = fit(net, tensors, split, cfg, show_progress=show_progress, callback=callback)
    dev = torch.device(resolve_device(cfg.device))
    val = evaluate(net, tensors, split.train, split.val, device=dev) if len(split.val) else {}
    fitted, masked = net, split.train
    extra: torch.Tensor | None = split.val
    train_seconds = history.train_seconds
    if cfg.refit and len(split.val):
        chosen = {**(model_options or {}), **net.refit_options()}
        fitted, masked, seconds = _refit(model, tensors, split, cfg, history, chosen, show_progress)
        extra, train_seconds = None, train_seconds + seconds
    test = evaluate(fitted, tensors, masked, split.test, extra, device=dev)
    after = fitted.after_fit(tensors, masked, cfg.seed, aggregator_epochs)
    fitted.use_interactions(tensors, torch.arange(tensors.num_interactions))
    metrics = {
        **test,
        **{f"val/{k}": v for k, v in val.items()},
        "epochs": float(history.epochs),
        "best_epoch": float(history.best_epoch),
        "train_seconds": train_seconds,
        "seconds_per_epoch": history.seconds_per_epoch(),
        **(after.metrics if after is not None else {}),
    }
    stored = {"train": cfg.as_dict(), "num_interactions": tensors.num_interactions}
    stored.update(after.config if after is not None else {})
    version = save_version(
        root, fitted.cpu(), model, config=stored, id_maps=tensors.id_maps(), metrics=metrics
    )
    live_metrics = _live_metrics(root)
    new_val = metrics.get(GATE_METRIC, test.get("recall@20", 0.0))
    old_val = None if live_metrics is None else live_metrics.get(GATE_METRIC)
    if old_val is not None and new_val < old_val - cfg.tolerance:
        reason = f"{GATE_METRIC} {new_val:.4f} < live {old_val:.4f} - tolerance {cfg.tolerance:.4f}"
        log.warning("not promoting %s: %s", version.name, reason)
        record_event(root, version.name, "rejected", reason)
        return JobResult(version, False, metrics, live_metrics, history)
    promote(root, version)
    return JobResult(version, True, metrics, live_metrics, history)


def _refit(
    model: str,
    tensors: GraphTensors,
    split: Split,
    cfg: TrainConfig,
    history: History,
    model_options: dict[str, Any] | None,
    show_progress: bool,
) -> tuple[EmbeddingModel, torch.Tensor, float]:
    """The same model trained again on training + validation, for the number of epochs that
    was best on validation (closed-form models: solved again).

    Returns:
        The model, the interactions it was fitted on, and the seconds it took.
    """
    train_val = torch.cat([split.train, split.val]).sort().values
    seed_everything(cfg.seed)
    net = build_model(model, tensors, train_val, **(model_options or {}))
    epochs = max(history.best_epoch + 1, 1)
    again = fit(
        net,
        tensors,
        Split(split.kind, train_val, split.val[:0], split.test),
        cfg.replace(epochs=epochs),
        show_progress=show_progress,
    )
    log.info(
        "refitted %s on training + validation (%d interactions, %d epochs)",
        net,
        len(train_val),
        again.epochs,
    )
    return net, train_val, again.train_seconds


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
        hint = (
            " (a user needs at least 5 interactions to put one in the test set)"
            if split.kind in ("temporal", "fixed")
            else ""
        )
        other = "--split random" if split.kind != "random" else "--split temporal"
        raise TrainingDataError(
            f"too few interactions to split: {n} interactions of {tensors.num_users} users gave "
            f"{sizes['train']} training / {sizes['val']} validation / {sizes['test']} test with "
            f"the {split.kind} split, so the {empty} set is empty{hint}; ingest more "
            f"interactions or try {other}"
        )


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
