"""Dataset readers producing canonical frames, item-text building and the embedding cache."""

from kgrec.loaders.frames import COLUMNS, Dataset, normalise_tag

__all__ = ["COLUMNS", "Dataset", "normalise_tag"]
