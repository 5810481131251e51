"""What counts as an absent cell (:func:`kgrec.core.values.is_missing`)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kgrec.core.values import is_missing


@pytest.mark.parametrize("value", [None, float("nan"), np.float32("nan"), np.float64("nan")])
def test_none_and_nan_are_missing(value):
    assert is_missing(value)


@pytest.mark.parametrize("value", [0.0, 2.5, np.float32(4.0), 0, "", "nan", float("inf")])
def test_values_are_not_missing(value):
    assert not is_missing(value)


def test_a_frame_column_reads_absent_ratings_as_missing():
    column = pd.DataFrame({"rating": [4.0, None, 3.5]})["rating"].tolist()
    assert [is_missing(v) for v in column] == [False, True, False]
