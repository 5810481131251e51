"""Checks of reader arguments (``id_prefix``, ``rating_range``) and the merge of duplicate
``(user, item)`` interactions, shared by every reader."""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence

import pandas as pd

from kgrec.core.errors import InvalidParameter
from kgrec.core.values import shown, string_faults

log = logging.getLogger(__name__)

MAX_PREFIX_BYTES = 64


def check_prefix(prefix: str) -> str:
    """Validate an ``id_prefix``: a string of at most 64 UTF-8 bytes that the stores can hold.

    Raises:
        InvalidParameter: the prefix is not such a string.
    """
    if not isinstance(prefix, str):
        raise InvalidParameter(f"id_prefix must be a string, got {type(prefix).__name__}")
    if string_faults([prefix], MAX_PREFIX_BYTES) is not None or prefix != prefix.strip():
        raise InvalidParameter(
            f"id_prefix {shown(prefix)} must be at most {MAX_PREFIX_BYTES} UTF-8 bytes with no "
            "NUL, no lone surrogate and no leading or trailing space; use a short tag like 'lg:'"
        )
    return prefix


def check_rating_range(value: Sequence[float] | None) -> tuple[float, float] | None:
    """Validate a ``rating_range``: None, or ``(low, high)`` finite numbers with low <= high.

    Raises:
        InvalidParameter: anything else.
    """
    if value is None:
        return None
    try:
        low, high = (float(v) for v in value)
    except (TypeError, ValueError):
        low = high = math.nan
    if not (math.isfinite(low) and math.isfinite(high) and low <= high):
        raise InvalidParameter(
            f"rating_range {value!r} must be two finite numbers LOW <= HIGH, such as (0.5, 5.0)"
        )
    return low, high


def merge_duplicates(interactions: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """Keep one row per ``(user_id, item_id)``: the latest ``ts`` wins, on equal ``ts`` the
    last row in file order. Survivors keep their order.

    Returns:
        The frame (the same object when there is nothing to merge) and the rows dropped.
    """
    pairs = ["user_id", "item_id"]
    if not interactions.duplicated(pairs).any():
        return interactions, 0
    ordered = interactions.reset_index(drop=True)
    by_ts = ordered.sort_values("ts", kind="stable")
    keep = by_ts.drop_duplicates(pairs, keep="last").index.sort_values()
    merged = len(ordered) - len(keep)
    log.info(
        "merged %d duplicate (user, item) interaction rows: the latest timestamp wins, "
        "on equal timestamps the last row",
        merged,
    )
    return ordered.loc[keep].reset_index(drop=True), merged
