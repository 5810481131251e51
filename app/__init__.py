"""The application: ingest, train / promote / write-back, the Recommender, the analyst's
queries, store administration and measurements. The CLI calls this layer only.

Re-exported here, because the CLI reads them while it builds its options (importing them
does not import torch, numpy or pandas): the training settings and their defaults
(:class:`TrainConfig`), the split kinds and the names of the built-in models.
"""

from kgrec.gnn.models.registry import BUILTIN_MODELS as BUILTIN_MODELS
from kgrec.gnn.training.config import SPLIT_KINDS as SPLIT_KINDS
from kgrec.gnn.training.config import TrainConfig as TrainConfig

__all__ = ["BUILTIN_MODELS", "SPLIT_KINDS", "TrainConfig"]
