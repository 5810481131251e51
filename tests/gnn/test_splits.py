from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kgrec.gnn.data import GraphTensors
from kgrec.gnn.training.splits import fixed_split, make_split, random_split, temporal_split


def _tensors(ts, users, split=None):
    n = len(ts)
    inter = pd.DataFrame(
        {
            "user_id": users,
            "item_id": [f"i{k}" for k in range(n)],
            "kind": "click",
            "rating": np.nan,
            "weight": 1.0,
            "ts": ts,
            "split": split or [""] * n,
        }
    )
    return GraphTensors.from_frames(
        pd.DataFrame({"id": sorted(set(users))}),
        pd.DataFrame({"id": [], "title": [], "description": []}),
        None,
        inter,
    )


def test_temporal_split_last_fifth_per_user_ties_stable():
    # user a: 10 interactions, ts shuffled with ties; user b: 4 (floor(0.8) = 0 test)
    ts_a = [5, 1, 9, 9, 3, 7, 2, 8, 6, 4]
    t = _tensors(ts_a + [1, 2, 3, 4], ["a"] * 10 + ["b"] * 4)
    s = temporal_split(t)
    # a: test = last 2 by ts -> the two ts=9 rows (2, 3); train 8 -> val floor(0.8)=0
    assert s.test.tolist() == [2, 3]
    assert s.val.tolist() == []
    assert sorted(s.train.tolist()) == [0, 1, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]


def test_temporal_split_validation_and_ties():
    ts = [1] * 20  # all tied: original order decides
    t = _tensors(ts, ["a"] * 20)
    s = temporal_split(t)
    assert s.test.tolist() == [16, 17, 18, 19]  # floor(0.2 * 20) = 4
    assert s.val.tolist() == [15]  # floor(0.1 * 16) = 1
    assert s.train.tolist() == list(range(15))


def test_random_split_is_seeded_and_disjoint():
    t = _tensors(list(range(100)), ["a"] * 50 + ["b"] * 50)
    s1, s2 = random_split(t, seed=3), random_split(t, seed=3)
    assert s1.sizes() == {"train": 80, "val": 10, "test": 10}
    assert s1.test.tolist() == s2.test.tolist()
    every = np.concatenate([s1.train, s1.val, s1.test])
    assert sorted(every.tolist()) == list(range(100))
    assert random_split(t, seed=4).test.tolist() != s1.test.tolist()


def test_fixed_split_uses_column():
    split = ["train"] * 8 + ["test"] * 2 + [""] * 10
    t = _tensors(list(range(20)), ["a"] * 20, split)
    s = fixed_split(t)
    assert s.test.tolist() == [8, 9]
    assert s.val.tolist() == [19]  # floor(0.1 * 18) = 1, the latest training row
    with pytest.raises(ValueError):
        fixed_split(_tensors([1, 2], ["a", "a"]))
    with pytest.raises(ValueError):
        make_split(t, "weird")
