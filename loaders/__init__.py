"""Dataset readers producing canonical frames, item-text building and the embedding cache."""

from kgrec.core.dataset import (
    COLUMNS,
    KEY_COLUMNS,
    MAX_KEY_BYTES,
    MAX_TEXT_BYTES,
    Dataset,
    normalise_tag,
)
from kgrec.core.errors import InvalidParameter
from kgrec.loaders.lightgcn import read_lightgcn
from kgrec.loaders.movielens import fetch_movielens, read_movielens
from kgrec.loaders.recbole import read_recbole
from kgrec.loaders.synthetic import generate_synthetic, generate_synthetic_world, tag_vocabulary
from kgrec.loaders.tabular import read_table

__all__ = [
    "COLUMNS",
    "KEY_COLUMNS",
    "MAX_KEY_BYTES",
    "MAX_TEXT_BYTES",
    "Dataset",
    "InvalidParameter",
    "fetch_movielens",
    "generate_synthetic",
    "generate_synthetic_world",
    "normalise_tag",
    "read_lightgcn",
    "read_movielens",
    "read_recbole",
    "read_table",
    "tag_vocabulary",
]
