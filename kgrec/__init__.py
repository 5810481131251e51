"""kgrec: knowledge-graph-centric recommendations with path explanations.

The public API is what this module exports: the :class:`Recommender`, its result types and
the errors it raises. Names load on first use, so ``import kgrec`` (and ``kgrec --help``)
does not import torch.
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # what static checkers see; at run time __getattr__ loads these
    from kgrec.app.recommender import Recommender
    from kgrec.core.errors import (
        CypherError,
        DatasetError,
        InvalidParameter,
        KgrecError,
        ModelCorrupt,
        ModelDirLocked,
        ModelNotTrained,
        QueryNotFound,
        QueryParameterError,
        StoreLocked,
        StoreUnavailable,
        TrainingDataError,
        UnknownIdError,
        UnknownModel,
        UnknownModelVersion,
        UnknownTagError,
        WriteBackFailed,
        WriteInReadMode,
    )
    from kgrec.explain.types import (
        Explanation,
        ExplanationPath,
        Node,
        Recommendation,
        Recommendations,
        ScoreDecomposition,
    )

__version__ = "0.1.0"

__all__ = [
    "Recommender",
    # result types
    "Recommendation",
    "Recommendations",
    "Explanation",
    "ExplanationPath",
    "Node",
    "ScoreDecomposition",
    # errors
    "KgrecError",
    "StoreUnavailable",
    "StoreLocked",
    "CypherError",
    "QueryNotFound",
    "QueryParameterError",
    "DatasetError",
    "InvalidParameter",
    "ModelNotTrained",
    "UnknownIdError",
    "UnknownTagError",
    "UnknownModel",
    "ModelCorrupt",
    "UnknownModelVersion",
    "ModelDirLocked",
    "TrainingDataError",
    "WriteBackFailed",
    "WriteInReadMode",
]

_TYPES = {"Recommendation", "Recommendations", "Explanation", "ExplanationPath", "Node",
          "ScoreDecomposition"}  # fmt: skip


def _home(name: str) -> str:
    """The module a public name lives in."""
    if name == "Recommender":
        return "kgrec.app.recommender"
    return "kgrec.explain.types" if name in _TYPES else "kgrec.core.errors"


def __getattr__(name: str) -> Any:
    if name not in __all__:
        raise AttributeError(f"module 'kgrec' has no attribute {name!r}")
    value = getattr(import_module(_home(name)), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
