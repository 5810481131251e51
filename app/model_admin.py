"""Model-directory administration: list, status, repair, promote, roll back, prune.

What ``kgrec model`` runs (re-exported by :mod:`kgrec.app.training`). Every function that
writes the model directory (:func:`repair`, :func:`promote_version`,
:func:`prune_versions`) holds its lock (:func:`kgrec.gnn.versions.model_dir_lock`), as
training does, so two never interleave. A promoted version is written back to the store
(:mod:`kgrec.app.write_back`); when that fails the version stays live and
``kgrec model repair`` finishes it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from kgrec.app.tensors import load_tensors
from kgrec.app.write_back import DEFAULT_K, repair_write_back, write_back, write_back_status
from kgrec.core.errors import KgrecError, ModelCorrupt, WriteBackFailed
from kgrec.core.progress import Progress
from kgrec.kg.store import GraphStore

if TYPE_CHECKING:
    from kgrec.gnn.data import GraphTensors


def prune_versions(model_dir: Path, keep: int) -> dict[str, list[str]]:
    """``kgrec model prune --keep N``: under the model directory's lock, delete all but
    ``keep`` versions: never the live one nor the last promoted; versions that were live
    before are kept over unjudged ones, those over rejected ones, newest first
    (:func:`kgrec.gnn.versions.prune_versions`).

    Returns:
        ``{"kept": [...], "removed": [...]}``, version names oldest first.

    Raises:
        InvalidParameter: ``keep`` is below 1.
        ModelDirLocked: a train, repair or promote is running.
    """
    from kgrec.gnn.versions import model_dir_lock
    from kgrec.gnn.versions import prune_versions as prune

    with model_dir_lock(model_dir, "kgrec model prune"):
        return prune(model_dir, keep)


def model_status(store: GraphStore, model_dir: Path) -> dict[str, Any]:
    """What ``kgrec model status`` shows: the live model, whether it loads, the versions and
    the write-back state of the store.

    Returns:
        ``{model_dir, live_version, live_model, live_val_recall@20, live_problem (None or the
        ModelCorrupt message), versions (count), write_back (write_back_status)}``.
    """
    from kgrec.gnn.versions import list_versions, load_live, verify_files

    out: dict[str, Any] = {
        "model_dir": str(model_dir),
        "live_version": None,
        "live_model": None,
        "live_val_recall@20": None,
        "live_problem": None,
    }
    try:
        live = load_live(model_dir)
        verify_files(live.version_dir)  # the sha256s written at save
        out.update(
            {
                "live_version": live.version_dir.name,
                "live_model": live.name,
                "live_val_recall@20": live.metrics.get("val/recall@20"),
            }
        )
    except ModelCorrupt as exc:
        out["live_problem"] = str(exc)
    except KgrecError:  # no live model
        pass
    out["versions"] = len(list_versions(model_dir))
    out["write_back"] = write_back_status(store, model_dir)
    out["live_version"] = out["write_back"]["live_version"]
    return out


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
    from kgrec.gnn.versions import load_live, model_dir_lock

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
            live before the live one (:func:`kgrec.gnn.versions.rollback_target`).

    Returns:
        ``{version, previous, event ('promoted' | 'rollback'), written}``.

    Raises:
        UnknownModelVersion: no such version (no earlier live version to roll back to).
        ModelCorrupt: one of its files is damaged. ModelDirLocked: a train, repair or
        promote is running.
    """
    from kgrec.gnn.versions import (
        live_version,
        model_dir_lock,
        promote,
        resolve_version,
        rollback_target,
        verify_version,
    )

    holder = "kgrec model promote" if version is not None else "kgrec model rollback"
    with model_dir_lock(model_dir, holder):
        vdir = (
            resolve_version(model_dir, version)
            if version is not None
            else rollback_target(model_dir)
        )
        verify_version(vdir)
        previous = live_version(model_dir)
        event = promote(model_dir, vdir, "rollback" if version is None else None)
        status = write_back_status(store, model_dir)
        k = k if k is not None else int(status["k"] if status["k"] is not None else DEFAULT_K)
        written = _write_back_after_promotion(
            store, model_dir, load_tensors(store, progress), k, progress
        )
    return {"version": vdir.name, "previous": previous, "event": event, "written": written}


def _write_back_after_promotion(
    store: GraphStore, model_dir: Path, tensors: GraphTensors, k: int, progress: Progress | None
) -> dict[str, Any]:
    try:
        return write_back(store, model_dir, tensors, k, progress=progress)
    except KgrecError as exc:
        from kgrec.gnn.versions import live_version

        raise WriteBackFailed(
            f"version {live_version(model_dir)} is live, but writing it back to the store "
            f"failed ({exc}); fix the store and run `kgrec model repair`"
        ) from exc
