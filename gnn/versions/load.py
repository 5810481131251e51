"""Loading a stored version (:func:`load_version`, :func:`load_live`) into a
:class:`LoadedModel`, every file checked as it is read, and :func:`verify_version`, which
reads all of them."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from kgrec.core.errors import ModelCorrupt, ModelNotTrained, UnknownModel
from kgrec.gnn.data import ID_MAPS_FILE, load_id_maps
from kgrec.gnn.models.model import EmbeddingModel
from kgrec.gnn.models.registry import model_class, model_names
from kgrec.gnn.versions.layout import FILES, FIX
from kgrec.gnn.versions.manifest import (
    _check_present,
    _corrupt,
    _one_line,
    _read_json,
    _read_tensors,
    verify_files,
)


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
