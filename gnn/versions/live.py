"""Which version serves: :func:`promote` (the atomic swap of ``live``), the versions listed
with their history and file checks (:func:`list_versions`), the target of a rollback and
pruning old versions."""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path
from typing import Any

from kgrec.core.errors import InvalidParameter, ModelCorrupt, UnknownModelVersion
from kgrec.core.files import fsync_path
from kgrec.gnn.versions.history import history, record_event
from kgrec.gnn.versions.layout import (
    FILES,
    HEADLINE_METRICS,
    LIVE_EVENTS,
    _created,
    _created_at,
    _version_dirs,
    live_version,
)
from kgrec.gnn.versions.manifest import _check_present, _read_json, verify_files

log = logging.getLogger("kgrec.gnn.versions")


def promote(model_dir: str | Path, version_dir: str | Path, event: str | None = None) -> str:
    """Point ``MODEL_DIR/live`` at ``version_dir`` atomically and record it.

    Args:
        event: what to record; None: ``rollback`` when the version was created before the
            live one (an older version made live again), else ``promoted``.

    Returns:
        The event recorded.
    """
    root = Path(model_dir)
    previous = live_version(root)
    vdir = Path(version_dir)
    if event is None:
        before = root / "versions" / previous if previous is not None else None
        older = (
            before is not None
            and before.is_dir()
            and before.name != vdir.name
            and _created_at(vdir) < _created_at(before)
        )
        event = "rollback" if older else "promoted"
    link = root / "live"
    tmp = root / f".live-{os.getpid()}"
    if tmp.is_symlink() or tmp.exists():
        tmp.unlink()
    os.symlink(os.path.relpath(Path(version_dir), root), tmp)
    os.replace(tmp, link)
    fsync_path(root)
    reason = f"rolled back from {previous}" if event == "rollback" else ""
    record_event(root, vdir.name, event, reason, previous=previous)
    log.info("%s %s to live", event, version_dir)
    return event


def list_versions(model_dir: str | Path) -> list[dict[str, Any]]:
    """Every version, oldest first, with its history, headline metrics and file check.

    Reads the JSON files and checks every file against the version's manifest
    (:func:`verify_files`: sizes and sha256; archive CRCs for a version without one).

    Returns:
        One dict per version: ``version`` (directory name), ``model`` (registry name or
        None), ``created`` (UTC, ISO 8601), ``live`` (bool), ``status`` (``'live'``,
        ``'promoted earlier'``, ``'rejected'`` (a job kept the live model) or
        ``'not promoted'``), ``event`` (its last event in ``history.jsonl``: ``'promoted'``,
        ``'rollback'``, ``'rejected'`` or None), ``reason`` (why it was rejected, or
        ``'rolled back from V'``; else None), ``problem`` (None, or why the version cannot
        be loaded), ``checksums`` (True: its files match the sha256s written at save; False:
        saved without a manifest) and the :data:`HEADLINE_METRICS` (``'val/recall@20'``,
        ``'recall@20'``, ``'ndcg@20'``; None when missing).
    """
    root = Path(model_dir)
    live = live_version(root)
    events = history(root)
    last = {e["version"]: e for e in events}
    was_live = {e["version"] for e in events if e.get("event") in LIVE_EVENTS}
    out = []
    for vdir in _version_dirs(root):
        event = last.get(vdir.name, {})
        if vdir.name == live:
            status = "live"
        elif vdir.name in was_live:
            status = "promoted earlier"
        elif event.get("event") == "rejected":
            status = "rejected"
        else:
            status = "not promoted"
        explained = event.get("event") in ("rejected", "rollback")
        entry: dict[str, Any] = {
            "version": vdir.name,
            "model": None,
            "created": _created(vdir),
            "live": vdir.name == live,
            "status": status,
            "event": event.get("event"),
            "reason": (event.get("reason") or None) if explained else None,
            "problem": None,
            "checksums": False,
            **dict.fromkeys(HEADLINE_METRICS),
        }
        try:
            for fname in FILES:
                _check_present(vdir / fname)
            config, metrics = _read_json(vdir / "config.json"), _read_json(vdir / "metrics.json")
            entry["model"] = config.get("model") if isinstance(config, dict) else None
            if isinstance(metrics, dict):
                entry.update({key: metrics.get(key) for key in HEADLINE_METRICS})
            entry["checksums"] = verify_files(vdir)
        except ModelCorrupt as e:
            entry["problem"] = str(e).split("; ")[0]
        out.append(entry)
    return out


def rollback_target(model_dir: str | Path) -> Path:
    """The version a rollback makes live again: the one live before the live one.

    Walks ``history.jsonl`` back from the newest promotion, past the live version and every
    version a rollback left, to the newest version still stored.

    Raises:
        UnknownModelVersion: no earlier live version is stored.
    """
    root = Path(model_dir)
    live = live_version(root)
    stored = {d.name for d in _version_dirs(root)}
    promotions = [e for e in history(root) if e.get("event") in LIVE_EVENTS]
    left = {e.get("previous") for e in promotions if e.get("event") == "rollback"}
    for event in reversed(promotions):
        name = event["version"]
        if name != live and name not in left and name in stored:
            return root / "versions" / name
    raise UnknownModelVersion(
        f"no version that was live before {live or 'none'} is left in {root / 'versions'}; "
        "promote one by name with `kgrec model promote VERSION` (`kgrec model list` shows them)"
    )


def prune_versions(model_dir: str | Path, keep: int) -> dict[str, list[str]]:
    """Delete all but ``keep`` versions, choosing which stay.

    Always kept, even beyond ``keep``: the live version and the last one promoted (or rolled
    back to). The rest of the ``keep`` places go to versions that were live before, then
    versions never judged, then rejected ones, then damaged ones; newest first within each.
    Versions being written (``versions/.tmp-*``) are never touched; callers that may run
    beside a training job hold :func:`model_dir_lock`.

    Args:
        model_dir: the model root. keep: how many versions stay (>= 1).

    Returns:
        ``{"kept": [...], "removed": [...]}``, version names oldest first.

    Raises:
        InvalidParameter: ``keep`` is below 1.
    """
    if keep < 1:
        raise InvalidParameter(
            f"keep must be >= 1 (the versions to keep), got {keep}", field="keep"
        )
    versions = list_versions(model_dir)
    promotions = [e["version"] for e in history(model_dir) if e.get("event") in LIVE_EVENTS]
    stored = [v["version"] for v in versions]
    protected = {v["version"] for v in versions if v["live"]}
    protected.update(name for name in promotions[-1:] if name in stored)
    tier = {"live": 0, "promoted earlier": 0, "not promoted": 1, "rejected": 2}

    def rank(v: dict[str, Any]) -> tuple[int, int]:
        chosen = 0 if v["version"] in protected else 1
        return chosen, 3 if v["problem"] else tier[v["status"]]

    newest_first = sorted(versions, key=lambda v: v["version"], reverse=True)
    ordered = sorted(newest_first, key=rank)  # stable: newest first within a rank
    kept = {v["version"] for v in ordered[: max(keep, len(protected))]}
    removed = []
    for name in stored:
        if name in kept:
            continue
        shutil.rmtree(Path(model_dir) / "versions" / name)
        removed.append(name)
        log.info("removed model version %s", name)
    if removed:
        fsync_path(Path(model_dir) / "versions")
    return {"kept": [n for n in stored if n in kept], "removed": removed}
