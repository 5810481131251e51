"""Writing a version (:func:`save_version`: every file fsynced, ``manifest.json`` with each
file's size and sha256, then renamed into place) and checking its files: against the manifest
(:func:`verify_files`), and one by one as they are read, a damaged file raising
:class:`~kgrec.core.errors.ModelCorrupt` that names it and the fix."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import torch

from kgrec.core.errors import ModelCorrupt
from kgrec.core.files import DIR_MODE, FILE_MODE, fsync_path, private_dir
from kgrec.gnn.data import save_id_maps
from kgrec.gnn.models.model import EmbeddingModel
from kgrec.gnn.versions.layout import FILES, FIX, MANIFEST_FILE, _write_json, ensure_model_dir

log = logging.getLogger("kgrec.gnn.versions")


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
