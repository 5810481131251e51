"""The retraining job against a store: export -> train -> evaluate -> promote -> write back.

After a promotion, the live model's user and item embeddings (``gnn_embedding``) and each
user's top-k unseen items (``RECOMMENDED {rank, score, model_version}`` relationships, which
the analyst queries read) are written back to the store, as far as they differ from what it
holds (:mod:`kgrec.app.write_back`). A job that does not promote writes nothing. An
unfinished write-back (a job killed after promotion) is finished by
:func:`repair_write_back`, which the next :func:`train` runs first and ``kgrec model repair``
runs on request.

Every job that writes the model directory (:func:`train`, :func:`repair`,
:func:`promote_version`) holds its lock (:func:`kgrec.gnn.versions.model_dir_lock`), so two
never interleave. Those administration functions (``kgrec model``) live in
:mod:`kgrec.app.model_admin`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kgrec.app.model_admin import (
    _write_back_after_promotion,
    model_status,
    promote_version,
    prune_versions,
    repair,
)
from kgrec.app.tensors import load_tensors
from kgrec.app.write_back import (
    DEFAULT_K,
    repair_write_back,
    top_k_unseen,
    write_back,
    write_back_status,
)
from kgrec.core.checks import check_share
from kgrec.core.errors import (
    InvalidParameter,
    ModelCorrupt,
    PlanDoesNotFit,
    TrainingDataError,
)
from kgrec.core.progress import Progress
from kgrec.core.settings import DEFAULT_MODEL, DEFAULT_STALE_SHARE
from kgrec.gnn.models.registry import model_names
from kgrec.gnn.training.config import TrainConfig
from kgrec.kg.store import GraphStore
from kgrec.kg.writer import run_statement

if TYPE_CHECKING:
    from kgrec.gnn.data import GraphTensors
    from kgrec.gnn.training.job import JobResult
    from kgrec.gnn.training.plan import JobPlan
    from kgrec.gnn.versions import list_versions as model_versions  # see __getattr__

log = logging.getLogger(__name__)

__all__ = [
    "TrainConfig",
    "model_names",
    "train",
    "plan",
    "is_follower",
    "staleness",
    "load_tensors",
    "write_back",
    "write_back_status",
    "model_versions",
    "model_status",
    "prune_versions",
    "repair",
    "repair_write_back",
    "promote_version",
    "top_k_unseen",
]


def __getattr__(name: str) -> Any:
    """``model_versions``: :func:`kgrec.gnn.versions.list_versions` (what ``kgrec model
    list`` shows), imported on first use so that importing this module imports no torch."""
    if name == "model_versions":
        from kgrec.gnn.versions import list_versions

        return list_versions
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def train(
    store: GraphStore,
    model_dir: Path,
    model: str = DEFAULT_MODEL,
    config: TrainConfig | None = None,
    *,
    recommendations_k: int = DEFAULT_K,
    show_progress: bool = False,
    progress: Progress | None = None,
    model_options: dict[str, Any] | None = None,
    aggregator_epochs: int | None = None,
    on_plan: Callable[[JobPlan], None] | None = None,
    **overrides: Any,
) -> tuple[JobResult, dict[str, Any] | None]:
    """Run the retraining job on the store's graph; write back when it promotes.

    Under the model directory's lock: export the graph, finish an incomplete write-back of
    the current live model (so the store matches ``live`` even when this job does not
    promote), train, and write back a promoted version.

    Args:
        store: the graph store. model_dir: the model root.
        model: a registered model name (:func:`model_names`).
        config: the training settings; default ``TrainConfig.for_model(model)``.
        recommendations_k: top-k per user written back (0: none).
        show_progress: a training progress bar. progress: export and write-back progress.
        model_options: constructor arguments of the model.
        aggregator_epochs: with a history model (``ease``), the epochs of the cold-user
            aggregator the job fits and validates on held-out users and saves with the
            version when it beats the history vector
            (:mod:`kgrec.gnn.inductive.aggregator_fit`; default 30; 0: none). Its figures are in
            ``result.metrics`` under ``aggregator/``.
        on_plan: told the job's plan (:func:`plan`) once the model directory is locked,
            before anything is exported (not for a store without interactions).
        overrides: :class:`TrainConfig` fields replacing those of ``config``
            (``train(store, dir, epochs=5, split="random")``).

    Returns:
        ``(JobResult, write_back summary or None)``.

    Raises:
        UnknownModel: ``model`` is not registered.
        InvalidParameter: an unknown setting or split, or an impossible value.
        ModelDirLocked: another train, repair or promote holds the model directory.
        TrainingDataError: the store holds no interactions, or too few to split.
        WriteBackFailed: the new version was promoted but writing it back failed.
    """
    from kgrec.gnn.inductive.aggregator_fit import EPOCHS
    from kgrec.gnn.training.distributed import init_from_env
    from kgrec.gnn.training.job import run_job
    from kgrec.gnn.versions import model_dir_lock

    epochs = EPOCHS if aggregator_epochs is None else aggregator_epochs
    cfg = (config or TrainConfig.for_model(model)).replace(**overrides)
    device = init_from_env(cfg.device)  # under torchrun: join its group on this rank's device
    if device is not None:
        cfg = cfg.replace(device=device)
        if is_follower():
            return _follow(store, model, cfg, model_options, epochs), None
    with model_dir_lock(model_dir, "kgrec train"):
        planned = plan(store, model, cfg, model_options=model_options, aggregator_epochs=epochs)
        log.info("%s", planned.describe())
        if on_plan is not None and planned.size.num_interactions:
            on_plan(planned)
        if not planned.fits_memory:
            raise PlanDoesNotFit(planned.refusal())
        tensors = load_tensors(store, progress)
        if tensors.num_interactions == 0:
            raise TrainingDataError(
                f"the store {store.uri} holds 0 interactions; ingest data first "
                "(kgrec ingest movielens|lightgcn|csv|synthetic ...)"
            )
        _repair_before_training(store, model_dir, tensors, recommendations_k, progress)
        result = run_job(
            tensors,
            model_dir,
            model,
            cfg,
            model_options=model_options,
            show_progress=show_progress,
            aggregator_epochs=epochs,
        )
        written = None
        if result.promoted:
            written = _write_back_after_promotion(
                store, model_dir, tensors, recommendations_k, progress
            )
    return result, written


def plan(
    store: GraphStore,
    model: str = DEFAULT_MODEL,
    config: TrainConfig | None = None,
    *,
    model_options: dict[str, Any] | None = None,
    aggregator_epochs: int | None = None,
) -> JobPlan:
    """What :func:`train` will cost on the store's graph, from its counts alone
    (:func:`kgrec.gnn.training.plan.plan_job`): the model's form, predicted peak memory and time,
    against ``KGREC_MEMORY_LIMIT`` or a share of the memory available now.

    Raises:
        UnknownModel: ``model`` is not registered.
        InvalidParameter: ``KGREC_MEMORY_LIMIT`` is not a size.
    """
    from kgrec.core.settings import memory_limit_bytes
    from kgrec.gnn.inductive.aggregator_fit import EPOCHS
    from kgrec.gnn.training.plan import GraphSize, plan_job

    cfg = config or TrainConfig.for_model(model)
    counts = run_statement(store, "count_graph")[0]
    size = GraphSize(
        num_users=int(counts["users"]),
        num_items=int(counts["items"]),
        num_interactions=int(counts["interactions"]),
        num_tags=int(counts["tags"]),
        num_entities=int(counts["entities"]),
        num_item_edges=int(counts["item_tags"]) + int(counts["triples"]),
    )
    epochs = EPOCHS if aggregator_epochs is None else aggregator_epochs
    return plan_job(
        size,
        model,
        epochs=cfg.epochs,
        refit=cfg.refit,
        aggregator=epochs > 0,
        model_options=model_options,
        memory_limit=memory_limit_bytes(),
    )


def is_follower() -> bool:
    """Whether this process is a ``torchrun`` rank other than 0: it trains on its shard of
    every batch and keeps nothing (rank 0 saves, promotes and writes back)."""
    from kgrec.gnn.training.distributed import is_main

    return not is_main()


def _follow(
    store: GraphStore,
    model: str,
    cfg: TrainConfig,
    model_options: dict[str, Any] | None,
    aggregator_epochs: int,
) -> JobResult:
    """:func:`train`'s steps on a follower: the same export and job (every fit takes part in
    the group's steps), its version written to a temporary directory and dropped."""
    import tempfile

    from kgrec.gnn.training.job import run_job

    tensors = load_tensors(store)
    with tempfile.TemporaryDirectory(prefix="kgrec-follower-") as tmp:
        return run_job(
            tensors,
            tmp,
            model,
            cfg,
            model_options=model_options,
            aggregator_epochs=aggregator_epochs,
        )


def staleness(
    store: GraphStore, model_dir: Path, count: int | None = None, share: float | None = None
) -> dict[str, Any]:
    """Whether the live model is stale: the interactions the store holds beyond those it
    was trained on (:func:`kgrec.app.behaviour.interactions_since_live`) reach ``count``
    or ``share`` of them (either; :data:`DEFAULT_STALE_SHARE` when neither is given).

    Returns:
        ``interactions_since_live`` plus ``stale`` (bool) and ``reason`` (one sentence).

    Raises:
        InvalidParameter: ``count`` < 1, or ``share`` not in (0, 1].
    """
    from kgrec.app.behaviour import interactions_since_live

    if count is not None and count < 1 or share is not None and not share > 0:
        raise InvalidParameter(
            f"stale thresholds must be positive, got count={count}, share={share}", field="stale"
        )
    if share is not None:
        share = check_share(share, "stale share (--stale-share)")
    if count is None and share is None:
        share = DEFAULT_STALE_SHARE
    state = interactions_since_live(store, model_dir)
    new, ratio = state["new"], state["share"]
    if state["live_version"] is None:
        return {**state, "stale": True, "reason": "there is no live model"}
    limits = ([f"{count:,} new interactions"] if count is not None else []) + (
        [f"a share of {share:g}"] if share is not None else []
    )
    stale = (count is not None and new >= count) or (
        share is not None and ratio is not None and ratio >= share
    )
    what = (
        f"{new:,} interactions since the live model {state['live_version']} "
        f"({(ratio or 0.0):.2%} of the {state['trained']:,} it was trained on)"
    )
    verdict = "reach" if stale else "stay below"
    return {**state, "stale": stale, "reason": f"{what} {verdict} {' or '.join(limits)}"}


def _repair_before_training(
    store: GraphStore, model_dir: Path, tensors: GraphTensors, k: int, progress: Progress | None
) -> None:
    try:
        repaired = repair_write_back(store, model_dir, tensors, progress=progress, default_k=k)
    except ModelCorrupt as exc:  # the job replaces a damaged live model
        log.warning("not repairing the write-back of a damaged live model: %s", exc)
        return
    if repaired is not None:
        log.warning(
            "finished the interrupted write-back of the live model %s first "
            "(%d users, %d items, %d recommendations)",
            repaired["version"],
            repaired["users"],
            repaired["items"],
            repaired["recommendations"],
        )
