"""Shared check for tests/loaders: a dataset honours the canonical frame contract."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from kgrec.core.dataset import COLUMNS, Dataset


def _check_canonical(ds: Dataset) -> None:
    for name, frame in ds.frames().items():
        assert list(frame.columns) == COLUMNS[name], name
        for col in COLUMNS[name]:
            values = frame[col]
            if col in ("ts", "count"):
                assert values.dtype == np.int64, (name, col)
            elif col in ("rating", "weight"):
                assert values.dtype == np.float64, (name, col)
            else:
                assert values.dtype == object, (name, col)
                present = values.dropna()
                assert all(isinstance(v, str) for v in present), (name, col)
        optional = {"title", "description", "rating"}  # the only columns that may be missing
        required = [c for c in COLUMNS[name] if c not in optional]
        assert frame[required].notna().all().all(), name
    assert ds.users["id"].is_unique and ds.items["id"].is_unique and ds.tags["name"].is_unique


@pytest.fixture
def canonical() -> Callable[[Dataset], None]:
    """Assert columns, dtypes (ids and text are Python str) and unique ids of a dataset."""
    return _check_canonical
