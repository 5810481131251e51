"""Graph models (LightGCN, GraphSAGE, MF) behind one contract and registry, training,
evaluation, baselines, checkpoints.

Names are imported lazily (PEP 562), so ``import kgrec.gnn`` does not import torch.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS: dict[str, str] = {
    # data and splits
    "GraphTensors": "data",
    "Split": "splits",
    "make_split": "splits",
    "SPLIT_KINDS": "splits",
    # models, behind one contract and one registry
    "EmbeddingModel": "model",
    "Embeddings": "model",
    "LightGCN": "lightgcn",
    "GraphSAGE": "graphsage",
    "MFBPR": "baselines",
    "MostPopular": "baselines",
    "ItemKNN": "baselines",
    "TextSimilarity": "baselines",
    "PathScorer": "paths",
    "register": "registry",
    "model_class": "registry",
    "model_names": "registry",
    "build_model": "registry",
    # training, evaluation, the job
    "TrainConfig": "train",
    "History": "train",
    "fit": "train",
    "evaluate": "evaluate",
    "run_job": "job",
    "JobResult": "job",
    "compare": "bench",
    # checkpoints
    "save_version": "checkpoint",
    "load_version": "checkpoint",
    "load_live": "checkpoint",
    "promote": "checkpoint",
    "prune_versions": "checkpoint",
    "list_versions": "checkpoint",
    "LoadedModel": "checkpoint",
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
