"""Graph models (LightGCN, GraphSAGE), sampling, training, evaluation, baselines, checkpoints.

Names are imported lazily (PEP 562), so ``import kgrec.gnn`` does not import torch.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS: dict[str, str] = {
    "GraphTensors": "data",
    "save_id_maps": "data",
    "load_id_maps": "data",
    "Split": "splits",
    "make_split": "splits",
    "temporal_split": "splits",
    "random_split": "splits",
    "fixed_split": "splits",
    "LightGCN": "lightgcn",
    "sym_spmm": "propagation",
    "normalised_adjacency": "propagation",
    "PathScorer": "paths",
    "GraphSAGE": "graphsage",
    "NegativeSampler": "sampling",
    "History": "train",
    "fit": "train",
    "bpr_loss": "train",
    "resolve_device": "train",
    "evaluate": "evaluate",
    "MostPopular": "baselines",
    "ItemKNN": "baselines",
    "TextSimilarity": "baselines",
    "MFBPR": "baselines",
    "save_version": "checkpoint",
    "promote": "checkpoint",
    "load_live": "checkpoint",
    "load_version": "checkpoint",
    "LoadedModel": "checkpoint",
    "run_job": "job",
    "JobResult": "job",
    "build_model": "job",
    "compare": "bench",
    "load_movielens": "bench",
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
