"""Versioned model directories and the atomically swapped ``live`` link.

Layout::

    MODEL_DIR/
      versions/<UTC timestamp>-<model>/   model.pt, config.json, id_maps.json,
                                          metrics.json, embeddings.pt
      live -> versions/<...>              relative symlink

A version is written into ``versions/.tmp-...``, every file and the directory fsynced, then
renamed into place; ``live`` is replaced by creating a temporary symlink and ``os.replace``-ing
it over the old one, then fsyncing ``MODEL_DIR``. A process killed at any point leaves either
the old or the new ``live``, never a half-written one; leftover ``.tmp-*`` directories of dead
processes are removed by :func:`clean_partial`.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import torch

from kgrec.errors import ModelNotTrained
from kgrec.gnn.data import load_id_maps, save_id_maps
from kgrec.processes import pid_alive

log = logging.getLogger(__name__)

FILES = ("model.pt", "config.json", "id_maps.json", "metrics.json", "embeddings.pt")


def _model_class(name: str) -> type:
    if name == "lightgcn":
        from kgrec.gnn.lightgcn import LightGCN

        return LightGCN
    if name == "graphsage":
        from kgrec.gnn.graphsage import GraphSAGE

        return GraphSAGE
    if name == "mf":
        from kgrec.gnn.baselines import MFBPR

        return MFBPR
    raise ValueError(f"unknown model {name!r}; choose one of lightgcn, graphsage, mf")


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_file(path: Path) -> None:
    with open(path, "rb") as fh:
        os.fsync(fh.fileno())


def _write_json(path: Path, data: Any) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=2, sort_keys=True, default=float)
        fh.flush()
        os.fsync(fh.fileno())


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
    model: torch.nn.Module,
    name: str,
    *,
    config: dict[str, Any],
    id_maps: dict[str, list[str]],
    metrics: dict[str, float],
) -> Path:
    """Write a complete, fsynced version directory and return its path (not promoted).

    Args:
        model_dir: the model root. model: a trained model with ``config()`` and
            ``final_embeddings()``. name: ``lightgcn`` | ``graphsage`` | ``mf``.
        config: the job's settings (stored in ``config.json`` beside the model's own).
        id_maps: from :meth:`GraphTensors.id_maps`. metrics: flat metric dict.
    """
    versions = Path(model_dir) / "versions"
    versions.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    final = versions / f"{stamp}-{name}"
    tmp = versions / f".tmp-{stamp}-{name}-{os.getpid()}"
    tmp.mkdir()
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    torch.save({"model": name, "config": model.config(), "state_dict": state}, tmp / "model.pt")
    users, items = model.final_embeddings()
    torch.save({"users": users.detach().cpu(), "items": items.detach().cpu()},
               tmp / "embeddings.pt")
    for fname in ("model.pt", "embeddings.pt"):
        _fsync_file(tmp / fname)
    _write_json(tmp / "config.json", {"model": name, "model_config": model.config(), **config})
    _write_json(tmp / "metrics.json", metrics)
    save_id_maps(id_maps, tmp)
    _fsync_dir(tmp)
    os.rename(tmp, final)
    _fsync_dir(versions)
    log.info("wrote model version %s", final)
    return final


def promote(model_dir: str | Path, version_dir: str | Path) -> None:
    """Point ``MODEL_DIR/live`` at ``version_dir`` atomically."""
    root = Path(model_dir)
    link = root / "live"
    tmp = root / f".live-{os.getpid()}"
    if tmp.is_symlink() or tmp.exists():
        tmp.unlink()
    os.symlink(os.path.relpath(Path(version_dir), root), tmp)
    os.replace(tmp, link)
    _fsync_dir(root)
    log.info("promoted %s to live", version_dir)


def live_dir(model_dir: str | Path) -> Path | None:
    """The version ``live`` points at, or None when there is none (or it is broken)."""
    link = Path(model_dir) / "live"
    if not link.is_symlink():
        return None
    target = link.resolve()
    return target if all((target / f).is_file() for f in FILES) else None


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
    _model: torch.nn.Module | None = field(default=None, repr=False)

    def model(self, device: str | torch.device = "cpu") -> torch.nn.Module:
        """The model rebuilt from ``model.pt`` (eval mode)."""
        if self._model is None:
            blob = torch.load(self.version_dir / "model.pt", map_location="cpu",
                              weights_only=True)
            cls = _model_class(blob["model"])
            self._model = cls.from_state(blob["config"], blob["state_dict"]).eval()
        return self._model.to(device)


def load_version(version_dir: str | Path) -> LoadedModel:
    """Load a version directory written by :func:`save_version`."""
    vdir = Path(version_dir)
    with open(vdir / "config.json", encoding="utf-8") as fh:
        config = json.load(fh)
    with open(vdir / "metrics.json", encoding="utf-8") as fh:
        metrics = json.load(fh)
    emb = torch.load(vdir / "embeddings.pt", map_location="cpu", weights_only=True)
    return LoadedModel(vdir, config["model"], config, metrics, load_id_maps(vdir),
                       emb["users"], emb["items"])


def load_live(model_dir: str | Path) -> LoadedModel:
    """Load the live version.

    Raises:
        ModelNotTrained: ``MODEL_DIR/live`` is missing or points at an incomplete version.
    """
    target = live_dir(model_dir)
    if target is None:
        raise ModelNotTrained(
            f"no live model in {model_dir}: train one first (kgrec train, or "
            f"kgrec.gnn.run_job(tensors, '{model_dir}'))"
        )
    return load_version(target)
