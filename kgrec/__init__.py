"""kgrec: knowledge-graph-centric recommendations with path explanations.

The four layers are installed as ``kgrec.loaders`` -> ``kgrec.kg`` -> ``kgrec.gnn`` ->
``kgrec.queries``; this package holds configuration, errors, ingestion and the CLI.
"""

from kgrec.errors import KgrecError

__version__ = "0.1.0"

__all__ = ["KgrecError", "__version__"]
