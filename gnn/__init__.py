"""Models over the interaction graph and what serves them, in three parts: :mod:`.models`
(one contract and registry: the default EASE, LightGCN, GraphSAGE, baselines), :mod:`.training`
(settings, splits, fit, evaluation, the nightly job) and :mod:`.inductive` (vectors for users and
items training did not see); :mod:`.data` holds the graph tensors they share and
:mod:`.versions` the saved versions and the live link.

Names are imported lazily (PEP 562), so ``import kgrec.gnn`` does not import torch.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS: dict[str, str] = {
    # data and splits
    "GraphTensors": "data",
    "Split": "training.splits",
    "make_split": "training.splits",
    "SPLIT_KINDS": "training.config",
    # models, behind one contract and one registry
    "EmbeddingModel": "models.model",
    "Embeddings": "models.model",
    "LightGCN": "models.lightgcn",
    "GraphSAGE": "models.graphsage",
    "MFBPR": "models.baselines",
    "MostPopular": "models.baselines",
    "ItemKNN": "models.baselines",
    "TextSimilarity": "models.baselines",
    "PathScorer": "models.paths",
    "register": "models.registry",
    "model_class": "models.registry",
    "model_names": "models.registry",
    "build_model": "models.registry",
    # training, evaluation, the job
    "TrainConfig": "training.config",
    "History": "training.train",
    "fit": "training.train",
    "evaluate": "training.evaluate",
    "run_job": "training.job",
    "JobResult": "training.job",
    "compare": "training.bench",
    # saved versions and the live link
    "save_version": "versions",
    "load_version": "versions",
    "load_live": "versions",
    "promote": "versions",
    "prune_versions": "versions",
    "list_versions": "versions",
    "LoadedModel": "versions",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'kgrec.gnn' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"kgrec.gnn.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
