"""Synthetic world: the spread of user activity (``activity_sigma``)."""

from __future__ import annotations

import pandas as pd
import pytest

from kgrec.core.errors import InvalidParameter
from kgrec.loaders.synthetic import generate_synthetic

SIZES = {"num_users": 400, "num_items": 600, "num_tags": 20, "num_interactions": 30_000}


def test_the_default_spread_is_the_one_given_explicitly() -> None:
    a = generate_synthetic(**SIZES, seed=5)
    b = generate_synthetic(**SIZES, seed=5, activity_sigma=0.8)
    pd.testing.assert_frame_equal(a.interactions, b.interactions)


def test_a_wider_spread_gives_a_longer_tail_with_the_same_totals() -> None:
    tails = []
    for sigma in (0.0, 0.8, 1.25):
        inter = generate_synthetic(**SIZES, seed=5, activity_sigma=sigma).interactions
        assert len(inter) == SIZES["num_interactions"]
        assert not inter.duplicated(["user_id", "item_id"]).any()
        per_user = inter.groupby("user_id").size()
        assert per_user.size == SIZES["num_users"] and per_user.min() >= 3
        tails.append(per_user.mean() / per_user.median())
    assert tails[0] < tails[1] < tails[2]


def test_an_impossible_spread_is_refused() -> None:
    with pytest.raises(InvalidParameter, match="activity_sigma must be 0..4, got -1"):
        generate_synthetic(**SIZES, activity_sigma=-1.0)
