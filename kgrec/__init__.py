"""kgrec: knowledge-graph-centric recommendations with path explanations.

The public API is what this module exports: the :class:`Recommender`, its result types and
the errors it raises. Names load on first use, so ``import kgrec`` (and ``kgrec --help``)
does not import torch.
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

from kgrec.core import errors as _errors
from kgrec.core.errors import *  # noqa: F403  (light: the errors import nothing heavy)

if TYPE_CHECKING:  # what static checkers see; at run time __getattr__ loads these
    from kgrec.app.recommender import Recommender as Recommender
    from kgrec.explain.types import Explanation as Explanation
    from kgrec.explain.types import ExplanationPath as ExplanationPath
    from kgrec.explain.types import Node as Node
    from kgrec.explain.types import Recommendation as Recommendation
    from kgrec.explain.types import Recommendations as Recommendations
    from kgrec.explain.types import ScoreDecomposition as ScoreDecomposition

__version__ = "0.1.0"

_TYPES = [
    "Recommendation",
    "Recommendations",
    "Explanation",
    "ExplanationPath",
    "Node",
    "ScoreDecomposition",
]

__all__ = ["Recommender", *_TYPES, *_errors.__all__]


def _home(name: str) -> str:
    """The module a public name lives in."""
    return "kgrec.app.recommender" if name == "Recommender" else "kgrec.explain.types"


def __getattr__(name: str) -> Any:
    if name not in __all__:
        raise AttributeError(f"module 'kgrec' has no attribute {name!r}")
    value = getattr(import_module(_home(name)), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
