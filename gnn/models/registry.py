"""The one place a model name becomes a model class (:func:`model_class`).

Every model registers itself with :func:`register`; the job, checkpoints, the benchmark and
the command line look names up here, so adding a model is one class and one decorator.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, TypeVar

from kgrec.core.errors import UnknownModel

if TYPE_CHECKING:
    import torch

    from kgrec.gnn.data import GraphTensors
    from kgrec.gnn.models.model import EmbeddingModel

M = TypeVar("M", bound="type[EmbeddingModel]")

#: The modules holding the built-in models (imported on the first look-up).
BUILTIN_MODULES = (
    "kgrec.gnn.models.lightgcn",
    "kgrec.gnn.models.graphsage",
    "kgrec.gnn.models.baselines",
    "kgrec.gnn.models.ease",
)

#: The names the built-in modules register, the default first: what a command line offers
#: without importing the models (and torch). A test checks it against the registered classes.
BUILTIN_MODELS = ("ease", "lightgcn", "graphsage", "mf")

_MODELS: dict[str, type[EmbeddingModel]] = {}


def register(cls: M) -> M:
    """Class decorator: make ``cls`` buildable and loadable under ``cls.name``.

    Raises:
        ValueError: ``cls`` has no name, or another class holds it (a programming error).
    """
    name = cls.name
    if not name:
        raise ValueError(f"{cls.__name__} needs a class attribute 'name' to be registered")
    other = _MODELS.get(name)
    if other is not None and other is not cls:
        raise ValueError(f"model name {name!r} is taken by {other.__name__}")
    _MODELS[name] = cls
    return cls


def _load_builtins() -> None:
    for module in BUILTIN_MODULES:
        importlib.import_module(module)


def model_names() -> list[str]:
    """Names of every registered model, sorted."""
    _load_builtins()
    return sorted(_MODELS)


def model_class(name: str) -> type[EmbeddingModel]:
    """The model class registered as ``name``.

    Raises:
        UnknownModel: no model has that name; the message lists the known ones.
    """
    _load_builtins()
    cls = _MODELS.get(name)
    if cls is None:
        raise UnknownModel(f"unknown model {name!r}; choose one of {', '.join(sorted(_MODELS))}")
    return cls


def build_model(
    name: str, tensors: GraphTensors, train_idx: torch.Tensor | None = None, **options: Any
) -> EmbeddingModel:
    """A fresh ``name`` model on ``tensors`` (see :meth:`EmbeddingModel.from_tensors`).

    Raises:
        UnknownModel: ``name`` is not registered.
    """
    return model_class(name).from_tensors(tensors, train_idx, **options)
