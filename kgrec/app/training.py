"""The retraining job against a store: export -> train -> evaluate -> promote -> write back.

After a promotion, the live model's user and item embeddings are written back to the store
as ``gnn_embedding`` (with ``model_version``) under a vector index, and each user's top-k
unseen items become ``RECOMMENDED {rank, score, model_version}`` relationships, which the
analyst queries read (coverage, for example). A job that does not promote writes nothing.

A write-back is detectably complete or not. One node, ``(:ModelState {key: 'write_back'})``,
records it: ``version``, ``complete = false`` and ``started`` are set before the first
embedding is written, ``complete = true`` and ``finished`` after the last embedding and
RECOMMENDED edge of that version. :func:`write_back_status` compares it with the live model;
a mismatch or an unfinished write-back (a job killed after promotion) is finished by
:func:`repair_write_back`, which the next :func:`train` runs first and ``kgrec model repair``
runs on request. A write-back also removes what an older version left: embeddings and
``model_version`` of users and items the live model does not know, and RECOMMENDED edges of
any other version.

Every job that writes the model directory (:func:`train`, :func:`repair`,
:func:`promote_version`) holds its lock (:func:`kgrec.gnn.checkpoint.model_dir_lock`), so two
never interleave.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from kgrec.core.checks import check_share
from kgrec.core.errors import (
    InvalidParameter,
    KgrecError,
    ModelCorrupt,
    PlanDoesNotFit,
    TrainingDataError,
    WriteBackFailed,
)
from kgrec.core.progress import Progress
from kgrec.core.ranking import top_k
from kgrec.core.settings import DEFAULT_MODEL
from kgrec.gnn.train import TrainConfig
from kgrec.kg.export import export_graph
from kgrec.kg.store import GraphStore
from kgrec.kg.vector import settle_vector_index, write_vectors
from kgrec.kg.writer import VECTOR_BATCH_SIZE, BatchWriter, run_statement

if TYPE_CHECKING:
    from kgrec.gnn.data import GraphTensors
    from kgrec.gnn.job import JobResult
    from kgrec.gnn.plan import JobPlan

log = logging.getLogger(__name__)

__all__ = ["TrainConfig", "model_names", "train", "plan", "is_follower", "staleness",
           "load_tensors", "write_back", "write_back_status", "model_versions", "model_status", "prune_versions",
           "repair", "repair_write_back", "promote_version", "top_k_unseen"]  # fmt: skip

STATE_KEY = "write_back"
DEFAULT_K = 20
CLEAR_BATCH = 10_000
#: ``kgrec train --if-stale`` without a threshold: retrain once 5% more interactions exist.
DEFAULT_STALE_SHARE = 0.05


def model_names() -> list[str]:
    """The names ``train(model=...)`` accepts (the registered models)."""
    from kgrec.gnn.registry import model_names as names

    return names()


def load_tensors(store: GraphStore, progress: Progress | None = None) -> GraphTensors:
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
    parts = [
        top_k(users[start : start + chunk] @ items.T, k, seen[start : start + chunk])
        for start in range(0, users.shape[0], chunk)
    ]
    if not parts:
        return np.zeros((0, k), dtype=np.int64), np.zeros((0, k), dtype=np.float32)
    return (
        np.concatenate([p[0] for p in parts]),
        np.concatenate([p[1] for p in parts]).astype(np.float32),
    )


def _seen(tensors: GraphTensors, user_ids: list[str], item_ids: list[str]) -> list[np.ndarray]:
    """For each of the model's users, the model indices of the items they interacted with.

    Matched by id, so a graph exported after the model was trained (new users, items or
    interactions) still lines up.
    """
    user_pos = {u: j for j, u in enumerate(user_ids)}
    item_pos = {i: j for j, i in enumerate(item_ids)}
    to_user = np.array([user_pos.get(u, -1) for u in tensors.user_ids], dtype=np.int64)
    to_item = np.array([item_pos.get(i, -1) for i in tensors.item_ids], dtype=np.int64)
    edges = tensors.edge_index.numpy()
    u = to_user[edges[0]] if len(to_user) else np.zeros(0, dtype=np.int64)
    i = to_item[edges[1]] if len(to_item) else np.zeros(0, dtype=np.int64)
    keep = (u >= 0) & (i >= 0)
    u, i = u[keep], i[keep]
    order = np.argsort(u, kind="stable")
    bounds = np.searchsorted(u[order], np.arange(len(user_ids) + 1))
    return [i[order[bounds[j] : bounds[j + 1]]] for j in range(len(user_ids))]


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


def write_back(
    store: GraphStore,
    model_dir: Path,
    tensors: GraphTensors,
    k: int = DEFAULT_K,
    *,
    progress: Progress | None = None,
    batch_size: int = VECTOR_BATCH_SIZE,
) -> dict[str, Any]:
    """Write the live model's embeddings and each user's top-``k`` into the store.

    Marks the write-back started first and complete last (see the module docstring), so a
    write-back killed half-way is detected by :func:`write_back_status`. Running it again
    finishes it: every step is idempotent.

    Args:
        store: the graph store. model_dir: the model root holding ``live``.
        tensors: the graph (:func:`load_tensors`), for the items each user has seen.
        k: recommendations per user (0: none; old ones are still removed).
        progress: called with (step, rows written so far, total rows).
        batch_size: rows per embedding write.

    Returns:
        ``{version, users, items, recommendations, cleared_embeddings,
        cleared_recommendations}``.

    Raises:
        ModelNotTrained: there is no live model (ModelCorrupt: it is damaged).
    """
    from kgrec.gnn.checkpoint import load_live, verify_files

    live = load_live(model_dir)
    version = live.version_dir.name
    users = live.user_embeddings.numpy().astype(np.float32)
    items = live.item_embeddings.numpy().astype(np.float32)
    user_ids, item_ids = live.id_maps["users"], live.id_maps["items"]
    run_statement(store, "write_back_started",
               {"key": STATE_KEY, "model_version": version, "started": _now(), "k": k})  # fmt: skip
    writer = BatchWriter(store, progress)
    fixed = {"model_version": version}
    vectors = {"User": (user_ids, users), "Item": (item_ids, items)}
    for label, (ids, values) in vectors.items():
        rows = [{"id": i, "embedding": v.tolist()} for i, v in zip(ids, values, strict=True)]
        write_vectors(store, f"set_{label.lower()}_gnn_embeddings", label, "gnn_embedding",
                      rows, values.shape[1], fixed, progress, batch_size, settle=False)  # fmt: skip
    cleared_embeddings = _clear_stale(store, "clear_stale_gnn_embeddings", version)
    for label, (_, values) in vectors.items():
        settle_vector_index(store, label, "gnn_embedding", values.shape[1])
    written = 0
    if k > 0:
        seen = _seen(tensors, user_ids, item_ids)
        top_idx, top_score = top_k_unseen(users, items, seen, k)
        writer.write("clear_recommendations", [{"user_id": u} for u in user_ids])
        rows = [
            {"user_id": user_ids[u], "item_id": item_ids[i], "rank": r + 1, "score": float(s)}
            for u in range(len(user_ids))
            for r, (i, s) in enumerate(zip(top_idx[u], top_score[u], strict=True))
            if np.isfinite(s)  # a user with fewer than k unseen items
        ]
        written = writer.write("create_recommendations", rows, params=fixed).created
    cleared_recommendations = _clear_stale(store, "clear_stale_recommendations", version)
    summary = {"version": version, "users": len(user_ids), "items": len(item_ids),
               "recommendations": written, "cleared_embeddings": cleared_embeddings,
               "cleared_recommendations": cleared_recommendations}  # fmt: skip
    run_statement(store, "write_back_finished", {
        "key": STATE_KEY, "model_version": version, "finished": _now(), "users": len(user_ids),
        "items": len(item_ids), "recommendations": written,
    })  # fmt: skip
    from kgrec.app.behaviour import note_change

    note_change(store)  # serving processes load the promoted version at their next read
    return summary


def write_back_status(store: GraphStore, model_dir: Path) -> dict[str, Any]:
    """Whether the store holds a complete write-back of the live model.

    Returns:
        ``live_version`` (None without a live model), ``stored_version`` (the version the
        store's last write-back was of; None when none is recorded), ``complete`` (that
        write-back finished), ``in_sync`` (complete and of the live version),
        ``needs_repair`` (a live model exists and the store is not in sync with it),
        ``started``, ``finished`` (UTC, ISO 8601), ``k`` and the counts written.
    """
    from kgrec.gnn.checkpoint import live_version

    live = live_version(model_dir)
    rows = run_statement(store, "write_back_state", {"key": STATE_KEY})
    state = rows[0] if rows else {}
    stored = state.get("version")
    complete = bool(state.get("complete")) if stored is not None else False
    in_sync = live is not None and stored == live and complete
    return {
        "live_version": live, "stored_version": stored, "complete": complete,
        "in_sync": in_sync, "needs_repair": live is not None and not in_sync,
        "started": state.get("started"), "finished": state.get("finished"),
        "k": state.get("k"), "users": state.get("users"), "items": state.get("items"),
        "recommendations": state.get("recommendations"),
    }  # fmt: skip


def model_versions(model_dir: Path) -> list[dict[str, Any]]:
    """Every stored version, oldest first (what ``kgrec model list`` shows).

    Returns:
        One dict per version with the keys ``version``, ``model``, ``created`` (UTC, ISO
        8601), ``live`` (bool), ``status`` (``'live'``, ``'promoted earlier'``,
        ``'rejected'``, ``'not promoted'``), ``event`` (its last recorded event:
        ``'promoted'``, ``'rollback'``, ``'rejected'`` or None), ``reason`` (why it was
        rejected, or ``'rolled back from V'``; else None), ``problem`` (why it cannot be
        loaded, its files checked against the sha256s written at save; else None),
        ``checksums`` (whether it has them), ``val/recall@20``, ``recall@20`` and
        ``ndcg@20`` (see :func:`kgrec.gnn.checkpoint.list_versions`).
    """
    from kgrec.gnn.checkpoint import list_versions

    return list_versions(model_dir)


def prune_versions(model_dir: Path, keep: int) -> dict[str, list[str]]:
    """``kgrec model prune --keep N``: under the model directory's lock, delete all but
    ``keep`` versions: never the live one nor the last promoted; versions that were live
    before are kept over unjudged ones, those over rejected ones, newest first
    (:func:`kgrec.gnn.checkpoint.prune_versions`).

    Returns:
        ``{"kept": [...], "removed": [...]}``, version names oldest first.

    Raises:
        InvalidParameter: ``keep`` is below 1.
        ModelDirLocked: a train, repair or promote is running.
    """
    from kgrec.gnn.checkpoint import model_dir_lock
    from kgrec.gnn.checkpoint import prune_versions as prune

    with model_dir_lock(model_dir, "kgrec model prune"):
        return prune(model_dir, keep)


def model_status(store: GraphStore, model_dir: Path) -> dict[str, Any]:
    """What ``kgrec model status`` shows: the live model, whether it loads, the versions and
    the write-back state of the store.

    Returns:
        ``{model_dir, live_version, live_model, live_val_recall@20, live_problem (None or the
        ModelCorrupt message), versions (count), write_back (write_back_status)}``.
    """
    from kgrec.gnn.checkpoint import load_live

    out: dict[str, Any] = {"model_dir": str(model_dir), "live_version": None,
                           "live_model": None, "live_val_recall@20": None,
                           "live_problem": None}  # fmt: skip
    try:
        live = load_live(model_dir)
        verify_files(live.version_dir)  # the sha256s written at save
        out.update({"live_version": live.version_dir.name, "live_model": live.name,
                    "live_val_recall@20": live.metrics.get("val/recall@20")})  # fmt: skip
    except ModelCorrupt as exc:
        out["live_problem"] = str(exc)
    except KgrecError:  # no live model
        pass
    out["versions"] = len(model_versions(model_dir))
    out["write_back"] = write_back_status(store, model_dir)
    out["live_version"] = out["write_back"]["live_version"]
    return out


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
        force: write back even when the store is in sync.

    Returns:
        :func:`write_back`'s summary, or None when nothing needed doing.
    """
    status = write_back_status(store, model_dir)
    if status["live_version"] is None or not (status["needs_repair"] or force):
        return None
    log.info("writing back %s (store: %s, complete=%s)", status["live_version"],
             status["stored_version"], status["complete"])  # fmt: skip
    if tensors is None:
        tensors = load_tensors(store, progress)
    k = k if k is not None else int(status["k"] if status["k"] is not None else default_k)
    return write_back(store, model_dir, tensors, k, progress=progress)


def repair(
    store: GraphStore,
    model_dir: Path,
    k: int | None = None,
    force: bool = False,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """``kgrec model repair``: under the model directory's lock, finish the live model's
    write-back when the store is not in sync with it.

    Returns:
        ``{status: before, written: write_back summary or None}``.

    Raises:
        ModelDirLocked: a train, repair or promote is running.
        ModelNotTrained: no live model (ModelCorrupt: it is damaged).
    """
    from kgrec.gnn.checkpoint import load_live, model_dir_lock

    with model_dir_lock(model_dir, "kgrec model repair"):
        load_live(model_dir)  # a clear error without a (valid) live model
        before = write_back_status(store, model_dir)
        written = repair_write_back(store, model_dir, k=k, force=force, progress=progress)
    return {"status": before, "written": written}


def promote_version(
    store: GraphStore,
    model_dir: Path,
    version: str | None,
    k: int | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """``kgrec model promote`` / ``kgrec model rollback``: check every file of ``version``
    (its sha256s too), make it live, write it back.

    Unlike :func:`train`, no metric gate: an operator chose this version. Making a version
    older than the live one live again is recorded as a ``rollback`` in ``history.jsonl``.

    Args:
        version: a version name or unique prefix; None: roll back to the version that was
            live before the live one (:func:`kgrec.gnn.checkpoint.rollback_target`).

    Returns:
        ``{version, previous, event ('promoted' | 'rollback'), written}``.

    Raises:
        UnknownModelVersion: no such version (no earlier live version to roll back to).
        ModelCorrupt: one of its files is damaged. ModelDirLocked: a train, repair or
        promote is running.
    """
    from kgrec.gnn.checkpoint import (
        live_version,
        model_dir_lock,
        promote,
        resolve_version,
        rollback_target,
        verify_version,
    )

    holder = "kgrec model promote" if version is not None else "kgrec model rollback"
    with model_dir_lock(model_dir, holder):
        vdir = resolve_version(model_dir, version) if version is not None \
            else rollback_target(model_dir)  # fmt: skip
        verify_version(vdir)
        previous = live_version(model_dir)
        event = promote(model_dir, vdir, "rollback" if version is None else None)
        status = write_back_status(store, model_dir)
        k = k if k is not None else int(status["k"] if status["k"] is not None else DEFAULT_K)
        written = _write_back_after_promotion(store, model_dir, load_tensors(store, progress), k,
                                              progress)  # fmt: skip
    return {"version": vdir.name, "previous": previous, "event": event, "written": written}


def _write_back_after_promotion(store: GraphStore, model_dir: Path, tensors: GraphTensors, k: int,
                                progress: Progress | None) -> dict[str, Any]:  # fmt: skip
    try:
        return write_back(store, model_dir, tensors, k, progress=progress)
    except KgrecError as exc:
        from kgrec.gnn.checkpoint import live_version

        raise WriteBackFailed(
            f"version {live_version(model_dir)} is live, but writing it back to the store "
            f"failed ({exc}); fix the store and run `kgrec model repair`"
        ) from exc


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
            version when it beats the history vector (:mod:`kgrec.gnn.coldfit`; default
            30; 0: none). Its figures are in ``result.metrics`` under ``aggregator/``.
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
    from kgrec.gnn.checkpoint import model_dir_lock
    from kgrec.gnn.coldfit import EPOCHS
    from kgrec.gnn.distributed import init_from_env
    from kgrec.gnn.job import run_job

    epochs = EPOCHS if aggregator_epochs is None else aggregator_epochs
    cfg = (config or TrainConfig.for_model(model)).replace(**overrides)
    device = init_from_env(cfg.device)  # under torchrun: join its group on this rank's device
    if device is not None:
        cfg = cfg.replace(device=device)
        if is_follower():
            return _follow(store, model, cfg, model_options, epochs), None
    with model_dir_lock(model_dir, "kgrec train"):
        planned = plan(store, model, cfg, model_options=model_options,
                       aggregator_epochs=epochs)  # fmt: skip
        log.info("%s", planned.describe())
        if not planned.fits_memory:
            raise PlanDoesNotFit(planned.refusal())
        tensors = load_tensors(store, progress)
        if tensors.num_interactions == 0:
            raise TrainingDataError(
                f"the store {store.uri} holds 0 interactions; ingest data first "
                "(kgrec ingest movielens|lightgcn|csv|synthetic ...)"
            )
        _repair_before_training(store, model_dir, tensors, recommendations_k, progress)
        result = run_job(tensors, model_dir, model, cfg, model_options=model_options,
                         show_progress=show_progress, aggregator_epochs=epochs)  # fmt: skip
        written = None
        if result.promoted:
            written = _write_back_after_promotion(store, model_dir, tensors, recommendations_k,
                                                  progress)  # fmt: skip
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
    (:func:`kgrec.gnn.plan.plan_job`): the model's form, predicted peak memory and time,
    against ``KGREC_MEMORY_LIMIT`` or a share of the memory available now.

    Raises:
        UnknownModel: ``model`` is not registered.
        InvalidParameter: ``KGREC_MEMORY_LIMIT`` is not a size.
    """
    from kgrec.core.settings import memory_limit_bytes
    from kgrec.gnn.coldfit import EPOCHS
    from kgrec.gnn.plan import GraphSize, plan_job

    cfg = config or TrainConfig.for_model(model)
    counts = run_statement(store, "count_graph")[0]
    size = GraphSize(
        num_users=int(counts["users"]), num_items=int(counts["items"]),
        num_interactions=int(counts["interactions"]), num_tags=int(counts["tags"]),
        num_entities=int(counts["entities"]),
        num_item_edges=int(counts["item_tags"]) + int(counts["triples"]),
    )  # fmt: skip
    epochs = EPOCHS if aggregator_epochs is None else aggregator_epochs
    return plan_job(size, model, epochs=cfg.epochs, refit=cfg.refit, aggregator=epochs > 0,
                    model_options=model_options, memory_limit=memory_limit_bytes())  # fmt: skip


def is_follower() -> bool:
    """Whether this process is a ``torchrun`` rank other than 0: it trains on its shard of
    every batch and keeps nothing (rank 0 saves, promotes and writes back)."""
    from kgrec.gnn.distributed import is_main

    return not is_main()


def _follow(store: GraphStore, model: str, cfg: TrainConfig,
            model_options: dict[str, Any] | None, aggregator_epochs: int) -> JobResult:  # fmt: skip
    """:func:`train`'s steps on a follower: the same export and job (every fit takes part in
    the group's steps), its version written to a temporary directory and dropped."""
    import tempfile

    from kgrec.gnn.job import run_job

    tensors = load_tensors(store)
    with tempfile.TemporaryDirectory(prefix="kgrec-follower-") as tmp:
        return run_job(tensors, tmp, model, cfg, model_options=model_options,
                       aggregator_epochs=aggregator_epochs)  # fmt: skip


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
        raise InvalidParameter(f"stale thresholds must be positive, got count={count}, "
                               f"share={share}", field="stale")  # fmt: skip
    if share is not None:
        share = check_share(share, "stale share (--stale-share)")
    if count is None and share is None:
        share = DEFAULT_STALE_SHARE
    state = interactions_since_live(store, model_dir)
    new, ratio = state["new"], state["share"]
    if state["live_version"] is None:
        return {**state, "stale": True, "reason": "there is no live model"}
    limits = ([f"{count:,} new interactions"] if count is not None else []) + (
        [f"a share of {share:g}"] if share is not None else [])  # fmt: skip
    stale = (count is not None and new >= count) or (
        share is not None and ratio is not None and ratio >= share)  # fmt: skip
    what = (f"{new:,} interactions since the live model {state['live_version']} "
            f"({(ratio or 0.0):.2%} of the {state['trained']:,} it was trained on)")  # fmt: skip
    verdict = "reach" if stale else "stay below"
    return {**state, "stale": stale, "reason": f"{what} {verdict} {' or '.join(limits)}"}


def _repair_before_training(store: GraphStore, model_dir: Path, tensors: GraphTensors, k: int,
                            progress: Progress | None) -> None:  # fmt: skip
    try:
        repaired = repair_write_back(store, model_dir, tensors, progress=progress, default_k=k)
    except ModelCorrupt as exc:  # the job replaces a damaged live model
        log.warning("not repairing the write-back of a damaged live model: %s", exc)
        return
    if repaired is not None:
        log.warning("finished the interrupted write-back of the live model %s first "
                    "(%d users, %d items, %d recommendations)", repaired["version"],
                    repaired["users"], repaired["items"], repaired["recommendations"])  # fmt: skip
