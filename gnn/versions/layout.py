"""Where a model directory keeps things: the file names of a version, the ``versions/``
directories and their names, the ``live`` link as a path, clean-up of partial writes and the
model-directory lock (:func:`model_dir_lock`)."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kgrec.core.errors import ModelDirLocked, UnknownModelVersion
from kgrec.core.files import LockHolder, pid_lock, private_dir, write_private
from kgrec.core.processes import pid_alive

FILES = ("model.pt", "config.json", "id_maps.json", "metrics.json", "embeddings.pt")
LOCK_FILE = ".train.lock"
HISTORY_FILE = "history.jsonl"
#: Size and sha256 of every file of a version, written last at save.
MANIFEST_FILE = "manifest.json"
#: Events of ``history.jsonl`` that made a version live.
LIVE_EVENTS = ("promoted", "rollback")
#: The metrics :func:`list_versions` shows for each version.
HEADLINE_METRICS = ("val/recall@20", "recall@20", "ndcg@20")
FIX = (
    "promote another version with `kgrec model promote VERSION` (`kgrec model list` shows "
    "them) or retrain with `kgrec train`"
)


def ensure_model_dir(model_dir: str | Path) -> Path:
    """The model root, created private (``0700``) when missing."""
    return private_dir(Path(model_dir))


def _write_json(path: Path, data: Any) -> None:
    write_private(path, json.dumps(data, indent=2, sort_keys=True, default=float))


def clean_partial(model_dir: str | Path) -> int:
    """Remove ``versions/.tmp-*`` left by dead processes; returns how many."""
    removed = 0
    for tmp in (Path(model_dir) / "versions").glob(".tmp-*"):
        pid = tmp.name.rsplit("-", 1)[-1]
        if pid.isdigit() and not pid_alive(int(pid)):
            shutil.rmtree(tmp, ignore_errors=True)
            removed += 1
    return removed


def live_version(model_dir: str | Path) -> str | None:
    """The name of the version ``live`` points at (whether or not it is complete), or None."""
    link = Path(model_dir) / "live"
    return Path(os.readlink(link)).name if link.is_symlink() else None


def live_dir(model_dir: str | Path) -> Path | None:
    """The version ``live`` points at, or None when there is none (or it is broken)."""
    link = Path(model_dir) / "live"
    if not link.is_symlink():
        return None
    target = link.resolve()
    return target if all((target / f).is_file() for f in FILES) else None


def resolve_version(model_dir: str | Path, name: str) -> Path:
    """The directory of version ``name`` (its full name, or a prefix only it starts with).

    Raises:
        UnknownModelVersion: no such version, or the prefix is ambiguous.
    """
    versions = Path(model_dir) / "versions"
    names = [d.name for d in _version_dirs(model_dir)]
    if name in names:
        return versions / name
    matches = [n for n in names if name and "/" not in name and n.startswith(name)]
    if len(matches) == 1:
        return versions / matches[0]
    what = (
        f"{len(matches)} versions start with {name!r}"
        if matches
        else f"no version {name!r} in {versions}"
    )
    raise UnknownModelVersion(f"{what}; `kgrec model list` shows the versions")


def _version_dirs(model_dir: str | Path) -> list[Path]:
    """Every complete (renamed into place) version directory, oldest first."""
    versions = Path(model_dir) / "versions"
    if not versions.is_dir():
        return []
    return sorted(d for d in versions.iterdir() if d.is_dir() and not d.name.startswith("."))


def _created(vdir: Path) -> str:
    """When the version was written (UTC, ISO 8601, seconds): from its name, else its mtime."""
    return _created_at(vdir).isoformat(timespec="seconds")


def _created_at(vdir: Path) -> datetime:
    """When the version was written (UTC, to the microsecond its name carries)."""
    try:
        when = datetime.strptime(vdir.name.split("-", 1)[0], "%Y%m%dT%H%M%S%fZ")
        return when.replace(tzinfo=UTC)
    except ValueError:
        return datetime.fromtimestamp(vdir.stat().st_mtime, UTC)


@contextmanager
def model_dir_lock(model_dir: str | Path, holder: str = "kgrec train") -> Iterator[Path]:
    """Hold ``MODEL_DIR/.train.lock`` (an exclusive, non-blocking ``flock``) for the block.

    The kernel releases the lock when the process ends, however it ends, so a killed job
    never leaves a stale lock. The file keeps the holder's pid and ``holder`` for the
    message another process gets.

    Raises:
        ModelDirLocked: another process holds the lock (the message names its pid).
    """
    path = ensure_model_dir(model_dir) / LOCK_FILE

    def busy(other: LockHolder) -> ModelDirLocked:
        pid = "unknown" if other.pid is None else str(other.pid)
        stop = f"stop it (kill {pid})" if other.pid is not None else "stop it"
        return ModelDirLocked(
            f"another {other.note or 'kgrec train'} holds {path} (pid {pid}); wait for it to "
            f"finish, or {stop} if it hangs, then run {holder} again"
        )

    with pid_lock(path, note=holder, timeout_s=0, busy=busy):
        yield path
