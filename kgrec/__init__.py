"""kgrec: knowledge-graph-centric recommendations with path explanations.

The four layers are installed as ``kgrec.loaders`` -> ``kgrec.kg`` -> ``kgrec.gnn`` ->
``kgrec.queries``; this package holds configuration, errors, ingestion and the CLI.
"""

from typing import Any

from kgrec.core.errors import KgrecError

__version__ = "0.1.0"

__all__ = ["KgrecError", "Recommender", "__version__"]


def __getattr__(name: str) -> Any:
    # Lazy, so `import kgrec` (and `kgrec --help`) does not import torch.
    if name == "Recommender":
        from kgrec.app.recommender import Recommender

        return Recommender
    raise AttributeError(f"module 'kgrec' has no attribute {name!r}")
