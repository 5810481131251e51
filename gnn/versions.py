"""Versioned model directories and the atomically swapped ``live`` link.

Layout::

    MODEL_DIR/
      versions/<UTC timestamp>-<model>/   model.pt, config.json, id_maps.json,
                                          metrics.json, embeddings.pt
                                          [what the model keeps beside its weights:
                                           EmbeddingModel.saved_extras, e.g. ease's
                                           aggregator.pt, its cold-user aggregator]
                                          manifest.json: size and sha256 of each file
      live -> versions/<...>              relative symlink
      history.jsonl                       promoted / rollback / rejected events

A version is written into ``versions/.tmp-...``, every file and the directory fsynced, then
renamed into place; ``live`` is replaced by creating a temporary symlink and ``os.replace``-ing
it over the old one, then fsyncing ``MODEL_DIR``. A process killed at any point leaves either
the old or the new ``live``, never a half-written one; leftover ``.tmp-*`` directories of dead
processes are removed by :func:`clean_partial`.

The model directory, the version directories and every file in them are private: created
``0700`` / ``0600`` whatever the umask. :func:`model_dir_lock` (``MODEL_DIR/.train.lock``, an
exclusive ``flock``) keeps two jobs from writing one model directory at once.

Loading checks every file: a missing, empty, truncated or malformed file, or id maps that
do not match the embeddings, raises :class:`~kgrec.core.errors.ModelCorrupt` naming the file and
the fix. :func:`verify_files` (run by :func:`list_versions` and :func:`verify_version`)
compares every file with the size and sha256 that ``manifest.json`` recorded at save, so a
file changed or damaged after its version was written is found before the version is called
healthy; a version saved before manifests existed has its ``.pt`` archives' CRCs checked
instead, and still loads. Tensors are read with ``torch.load(weights_only=True)``: a pickle
that would run code is refused, not executed.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import torch

from kgrec.core.errors import (
    InvalidParameter,
    ModelCorrupt,
    ModelDirLocked,
    ModelNotTrained,
    UnknownModel,
    UnknownModelVersion,
)
from kgrec.core.files import (
    DIR_MODE,
    FILE_MODE,
    LockHolder,
    fsync_path,
    pid_lock,
    private_dir,
    write_private,
)
from kgrec.core.processes import pid_alive
from kgrec.gnn.data import ID_MAPS_FILE, load_id_maps, save_id_maps
from kgrec.gnn.models.model import EmbeddingModel
from kgrec.gnn.models.registry import model_class, model_names

log = logging.getLogger(__name__)

FILES = ("model.pt", "config.json", "id_maps.json", "metrics.json", "embeddings.pt")
LOCK_FILE = ".train.lock"
HISTORY_FILE = "history.jsonl"
#: Size and sha256 of every file of a version, written last at save.
MANIFEST_FILE = "manifest.json"
#: Events of ``history.jsonl`` that made a version live.
LIVE_EVENTS = ("promoted", "rollback")
#: The metrics :func:`list_versions` shows for each version.
HEADLINE_METRICS = ("val/recall@20", "recall@20", "ndcg@20")


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


def save_version(
    model_dir: str | Path,
    model: EmbeddingModel,
    name: str,
    *,
    config: dict[str, Any],
    id_maps: dict[str, list[str]],
    metrics: dict[str, float],
) -> Path:
    """Write a complete, fsynced version directory and return its path (not promoted).

    Args:
        model_dir: the model root. model: a trained model. name: its registry name.
        config: the job's settings (stored in ``config.json`` beside the model's own).
        id_maps: from :meth:`GraphTensors.id_maps`. metrics: flat metric dict.

    What the model keeps beside its weights
    (:meth:`~kgrec.gnn.models.model.EmbeddingModel.saved_extras`) is saved as files of their own.
    """
    versions = private_dir(ensure_model_dir(model_dir) / "versions")
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    final = versions / f"{stamp}-{name}"
    tmp = versions / f".tmp-{stamp}-{name}-{os.getpid()}"
    tmp.mkdir()
    os.chmod(tmp, DIR_MODE)
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    torch.save({"model": name, "config": model.config(), "state_dict": state}, tmp / "model.pt")
    users, items = model.final_embeddings()
    torch.save(
        {"users": users.detach().cpu(), "items": items.detach().cpu()}, tmp / "embeddings.pt"
    )
    written = ["model.pt", "embeddings.pt"]
    for fname, blob in model.saved_extras().items():
        torch.save(blob, tmp / fname)
        written.append(fname)
    for fname in written:
        fsync_path(tmp / fname)
    _write_json(tmp / "config.json", {"model": name, "model_config": model.config(), **config})
    _write_json(tmp / "metrics.json", metrics)
    save_id_maps(id_maps, tmp)
    for fname in (*FILES, *written[2:]):
        os.chmod(tmp / fname, FILE_MODE)  # torch.save follows the umask
    _write_json(
        tmp / MANIFEST_FILE,
        {
            "algorithm": "sha256",
            "files": {
                f: {"bytes": (tmp / f).stat().st_size, "sha256": _sha256(tmp / f)}
                for f in (*FILES, *written[2:])
            },
        },
    )
    fsync_path(tmp)
    os.rename(tmp, final)
    fsync_path(versions)
    log.info("wrote model version %s", final)
    return final


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def verify_files(version_dir: str | Path) -> bool:
    """Check every file of a version against ``manifest.json`` (size, then sha256).

    A version saved before manifests existed has none: its ``.pt`` files (zip archives)
    have their CRC-32s checked instead.

    Returns:
        True when a manifest was checked, False for a version without one.

    Raises:
        ModelCorrupt: a file is missing, or differs from what was saved (names the file).
    """
    vdir = Path(version_dir)
    manifest_path = vdir / MANIFEST_FILE
    if not manifest_path.exists():
        for fname in sorted({*FILES, *(p.name for p in vdir.glob("*.pt"))}):
            if fname.endswith(".pt") and (vdir / fname).exists():
                _check_archive(vdir / fname)
        return False
    manifest = _read_json(manifest_path)
    files = manifest.get("files") if isinstance(manifest, dict) else None
    if not isinstance(files, dict) or not all(
        isinstance(v, dict) and isinstance(v.get("sha256"), str) and isinstance(v.get("bytes"), int)
        for v in files.values()
    ):
        raise _corrupt(manifest_path, "expected {'files': {name: {'bytes', 'sha256'}}}")
    for fname in FILES:
        if fname not in files:
            raise _corrupt(manifest_path, f"it does not list {fname}")
    for fname, expected in files.items():
        path = vdir / fname
        if Path(fname).name != fname:
            raise _corrupt(manifest_path, f"it lists {fname!r}, which is not a file name")
        _check_present(path)
        size = path.stat().st_size
        if size != expected["bytes"]:
            raise _corrupt(path, f"it has {size} bytes, {expected['bytes']} when it was saved")
        if _sha256(path) != expected["sha256"]:
            raise _corrupt(path, "its sha256 differs from the one written when it was saved")
    return True


def _check_archive(path: Path) -> None:
    """A ``.pt`` file of a version without a manifest: a zip archive whose CRCs hold."""
    try:
        with zipfile.ZipFile(path) as archive:
            bad = archive.testzip()
    except (zipfile.BadZipFile, OSError, EOFError) as e:
        raise _corrupt(path, f"it is not a PyTorch archive ({_one_line(e)})") from None
    if bad is not None:
        raise _corrupt(path, f"the CRC of its entry {bad} does not match")


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


def record_event(
    model_dir: str | Path, version: str, event: str, reason: str = "", previous: str | None = None
) -> None:
    """Append ``{version, event, time, reason, previous}`` to ``MODEL_DIR/history.jsonl``
    (fsynced).

    Events: ``promoted`` and ``rollback`` (by :func:`promote`; ``previous`` is the version
    that was live) and ``rejected`` (a job kept the live model; ``reason`` says why).
    :func:`list_versions` reads them back.
    """
    path = ensure_model_dir(model_dir) / HISTORY_FILE
    line = json.dumps(
        {
            "version": version,
            "event": event,
            "reason": reason,
            "time": datetime.now(UTC).isoformat(timespec="seconds"),
            "previous": previous,
        }
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, FILE_MODE)
    with open(fd, "a", encoding="utf-8") as fh:
        fh.write(line + "\n")
        fh.flush()
        os.fsync(fh.fileno())


def history(model_dir: str | Path) -> list[dict[str, Any]]:
    """The events of ``history.jsonl``, oldest first. A line that is not UTF-8 JSON naming a
    version is skipped with one warning (its line number), never an exception."""
    path = Path(model_dir) / HISTORY_FILE
    try:
        data = path.read_bytes()
    except OSError:
        return []
    out, bad = [], []
    for number, raw in enumerate(data.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            event = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            bad.append(number)
            continue
        if isinstance(event, dict) and isinstance(event.get("version"), str):
            out.append(event)
        else:
            bad.append(number)
    if bad:
        lines = ", ".join(map(str, bad[:5])) + (", ..." if len(bad) > 5 else "")
        log.warning(
            "%s: skipped %d line(s) that are not UTF-8 JSON events (line %s)", path, len(bad), lines
        )
    return out


def _events(model_dir: Path) -> dict[str, dict[str, Any]]:
    """The last event of each version in ``history.jsonl``."""
    return {event["version"]: event for event in history(model_dir)}


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


FIX = (
    "promote another version with `kgrec model promote VERSION` (`kgrec model list` shows "
    "them) or retrain with `kgrec train`"
)


def _one_line(text: Any, limit: int = 160) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 3] + "..."


def _corrupt(path: Path, reason: str) -> ModelCorrupt:
    return ModelCorrupt(f"model file {path} is corrupt: {reason}; {FIX}", path=path)


def _check_present(path: Path) -> None:
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise _corrupt(path, "the file is missing") from None
    except OSError as e:
        raise _corrupt(path, f"it cannot be read ({e.strerror})") from e
    if size == 0:
        raise _corrupt(path, "the file is empty (0 bytes)")


def _read_json(path: Path) -> Any:
    _check_present(path)
    try:
        return json.loads(path.read_bytes().decode("utf-8"))
    except UnicodeDecodeError:
        raise _corrupt(path, "it is not UTF-8 text") from None
    except json.JSONDecodeError as e:
        raise _corrupt(
            path, f"not valid JSON ({e.msg} at line {e.lineno}, column {e.colno})"
        ) from None
    except OSError as e:
        raise _corrupt(path, f"it cannot be read ({e.strerror})") from e


def _read_tensors(path: Path) -> Any:
    """``torch.load(path, weights_only=True)``; any failure is a :class:`ModelCorrupt`."""
    _check_present(path)
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # torch raises many kinds for a damaged or unsafe file
        if "weights only load failed" in str(e).lower():
            reason = (
                "it holds Python objects other than tensors, which "
                "torch.load(weights_only=True) refuses to run"
            )
        else:
            reason = f"it cannot be read as PyTorch weights ({type(e).__name__}: {_one_line(e)})"
        raise _corrupt(path, reason) from None


def _matrix(path: Path, blob: Any, key: str) -> torch.Tensor:
    value = blob.get(key) if isinstance(blob, dict) else None
    if not isinstance(value, torch.Tensor) or value.dim() != 2 or not value.is_floating_point():
        raise _corrupt(path, f"'{key}' is not a 2-D float tensor")
    if not bool(torch.isfinite(value).all()):
        raise _corrupt(path, f"'{key}' holds NaN or infinite values")
    return value


@dataclass
class LoadedModel:
    """A stored version: settings, metrics, id maps and final embeddings.

    Shapes:
        user_embeddings: ``[U, d]``; item_embeddings: ``[I, d]``.
    """

    version_dir: Path
    name: str
    config: dict[str, Any]
    metrics: dict[str, float]
    id_maps: dict[str, list[str]]
    user_embeddings: torch.Tensor
    item_embeddings: torch.Tensor
    _model: EmbeddingModel | None = field(default=None, repr=False)

    def model(self, device: str | torch.device = "cpu") -> EmbeddingModel:
        """The model rebuilt from ``model.pt`` (eval mode), with what it keeps beside its
        weights (every other ``.pt`` file of the version,
        :meth:`~kgrec.gnn.models.model.EmbeddingModel.load_extra`).

        Raises:
            ModelCorrupt: ``model.pt`` is unreadable or does not fit the model it names, or a
                file kept beside it is unreadable or does not fit the model (names the file).
        """
        if self._model is None:
            path = self.version_dir / "model.pt"
            blob = _read_tensors(path)
            if not isinstance(blob, dict) or not {"model", "config", "state_dict"} <= set(blob):
                raise _corrupt(path, "expected a dict with 'model', 'config' and 'state_dict'")
            if blob["model"] != self.name:
                raise _corrupt(
                    path, f"it holds a {blob['model']!r} model but config.json says {self.name!r}"
                )
            try:
                cls = model_class(self.name)
            except UnknownModel as e:
                raise _corrupt(path, str(e)) from None
            try:
                model = cls.from_state(blob["config"], blob["state_dict"]).eval()
            except (RuntimeError, KeyError, TypeError, ValueError, AttributeError) as e:
                raise _corrupt(
                    path,
                    f"its weights do not fit the {self.name} model "
                    f"({type(e).__name__}: {_one_line(e)})",
                ) from None
            for extra in sorted(self.version_dir.glob("*.pt")):
                if extra.name not in FILES:  # kept beside the weights (saved_extras)
                    try:
                        model.load_extra(extra.name, _read_tensors(extra))
                    except ValueError as e:
                        raise _corrupt(extra, str(e)) from None
            self._model = model
        return self._model.to(device)


def load_version(version_dir: str | Path) -> LoadedModel:
    """Load a version directory written by :func:`save_version`, checking every file.

    ``model.pt`` is only checked for presence here; :meth:`LoadedModel.model` (or
    :func:`verify_version`) reads it.

    Raises:
        ModelCorrupt: a file is missing, empty, unreadable, malformed, or the id maps do not
            match the embeddings; the message names the file and the fix.
    """
    vdir = Path(version_dir)
    for fname in FILES:
        _check_present(vdir / fname)
    config = _read_json(vdir / "config.json")
    names = model_names()
    if not isinstance(config, dict) or config.get("model") not in names:
        got = config.get("model") if isinstance(config, dict) else type(config).__name__
        raise _corrupt(
            vdir / "config.json", f"'model' is {got!r}, expected one of {', '.join(names)}"
        )
    metrics = _read_json(vdir / "metrics.json")
    if not isinstance(metrics, dict):
        raise _corrupt(vdir / "metrics.json", "expected a JSON object of metrics")
    maps_path = vdir / ID_MAPS_FILE
    raw = _read_json(maps_path)
    kinds = ("users", "items", "tags", "entities")
    if not isinstance(raw, dict) or not all(isinstance(raw.get(k, []), list) for k in kinds):
        raise _corrupt(maps_path, f"expected a JSON object with the lists {', '.join(kinds)}")
    id_maps = load_id_maps(vdir)
    emb_path = vdir / "embeddings.pt"
    emb = _read_tensors(emb_path)
    users, items = _matrix(emb_path, emb, "users"), _matrix(emb_path, emb, "items")
    if users.shape[1] != items.shape[1]:
        raise _corrupt(
            emb_path,
            f"user embeddings have {users.shape[1]} dimensions, item embeddings {items.shape[1]}",
        )
    for kind, matrix in (("users", users), ("items", items)):
        if len(id_maps[kind]) != matrix.shape[0]:
            raise _corrupt(
                maps_path,
                f"it lists {len(id_maps[kind])} {kind} but embeddings.pt "
                f"holds {matrix.shape[0]} {kind[:-1]} embeddings",
            )
    return LoadedModel(vdir, config["model"], config, metrics, id_maps, users, items)


def verify_version(version_dir: str | Path) -> LoadedModel:
    """:func:`verify_files` and :func:`load_version` plus reading ``model.pt`` (and what the
    model keeps beside it): every file of the version is checked.

    Raises:
        ModelCorrupt: as :func:`verify_files`, :func:`load_version` and
            :meth:`LoadedModel.model`.
    """
    verify_files(version_dir)
    loaded = load_version(version_dir)
    loaded.model()
    return loaded


def load_live(model_dir: str | Path) -> LoadedModel:
    """Load the live version.

    Raises:
        ModelNotTrained: ``MODEL_DIR/live`` is missing.
        ModelCorrupt: ``live`` points at a missing or damaged version (names the file).
    """
    link = Path(model_dir) / "live"
    if not link.is_symlink():
        raise ModelNotTrained(
            f"no live model in {model_dir}: train one first (kgrec train, or "
            f"kgrec.gnn.run_job(tensors, '{model_dir}'))"
        )
    target = link.resolve()
    if not target.is_dir():
        raise ModelCorrupt(
            f"the live model {link} points at {target}, which does not exist; {FIX}", path=target
        )
    return load_version(target)


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
