"""The store's rating scale: stored by ingestion, checked by every later write of a rating.

Each ingested dataset with ratings widens the scale to cover its own
(:attr:`~kgrec.core.dataset.Dataset.rating_range`: MovieLens 0.5 to 5; a CSV table any
finite rating unless ``--rating-range`` is given); a dataset without a scale makes it
unbounded. The scale lives on ``(:ModelState {key: 'ratings'})`` as ``bounded``, ``low`` and
``high``; writing the same dataset again changes nothing.
"""

from __future__ import annotations

import math

from kgrec.core.dataset import Dataset
from kgrec.kg.store import GraphStore
from kgrec.kg.writer import run_statement

__all__ = ["RATINGS_KEY", "stored_rating_range", "widen_rating_range"]

#: The key of the state node holding the scale.
RATINGS_KEY = "ratings"


def widen_rating_range(store: GraphStore, dataset: Dataset) -> bool:
    """Widen the stored scale to cover ``dataset``'s, when it holds ratings.

    Returns:
        Whether the stored scale changed.
    """
    ratings = dataset.interactions["rating"]
    if not len(ratings) or not ratings.notna().any():
        return False
    scale = dataset.rating_range
    params = {
        "key": RATINGS_KEY,
        "bounded": scale is not None,
        "low": None if scale is None else float(scale[0]),
        "high": None if scale is None else float(scale[1]),
    }
    rows = run_statement(store, "merge_rating_range", params)
    return bool(rows and rows[0]["updated"])


def stored_rating_range(store: GraphStore) -> tuple[float, float]:
    """The scale a rating written into ``store`` must be within: ``(low, high)``, or
    ``(-inf, inf)`` when the store's ratings are unbounded or none were ingested."""
    rows = run_statement(store, "rating_range", {"key": RATINGS_KEY})
    if not rows or not rows[0]["bounded"]:
        return -math.inf, math.inf
    return float(rows[0]["low"]), float(rows[0]["high"])
