"""Synthetic world: determinism, sizes, popularity skew, and tag signal in behaviour."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kgrec.core.errors import InvalidParameter
from kgrec.loaders.synthetic import (
    START_TS,
    generate_synthetic,
    generate_synthetic_world,
    tag_vocabulary,
)


@pytest.fixture(scope="module")
def world():
    return generate_synthetic_world(seed=3)


def test_same_seed_same_frames_and_other_seed_differs() -> None:
    a = generate_synthetic(num_users=200, num_items=300, num_interactions=4000, seed=7)
    b = generate_synthetic(num_users=200, num_items=300, num_interactions=4000, seed=7)
    c = generate_synthetic(num_users=200, num_items=300, num_interactions=4000, seed=8)
    for name, frame in a.frames().items():
        pd.testing.assert_frame_equal(frame, b.frames()[name])
    assert not a.interactions.equals(c.interactions)
    assert not a.item_tags.equals(c.item_tags)


def test_sizes_and_contract(world, canonical) -> None:
    ds, prefs = world
    canonical(ds)
    assert ds.summary()["users"] == 500 and ds.summary()["items"] == 1000
    assert ds.summary()["tags"] == 40 and len(ds.interactions) == 20000
    inter = ds.interactions
    assert not inter.duplicated(["user_id", "item_id"]).any()
    assert inter.groupby("user_id").size().min() >= 3
    assert set(inter["user_id"]) == set(ds.users["id"])
    assert inter["rating"].isin([1.0, 2.0, 3.0, 4.0, 5.0]).all()
    assert (inter["weight"] == inter["rating"]).all() and (inter["kind"] == "rating").all()
    assert inter["ts"].dtype == np.int64 and (inter["ts"] >= START_TS).all()
    assert (inter.groupby("user_id")["ts"].diff().dropna() > 0).all()
    per_item = ds.item_tags.groupby("item_id").size()
    assert per_item.between(2, 4).all() and len(per_item) == 1000
    assert (ds.item_tags["source"] == "genre").all() and (ds.item_tags["count"] == 1).all()
    assert ds.items["title"].is_unique and ds.items["id"].is_unique
    tags_of = ds.item_tags.groupby("item_id")["tag"].apply(list).to_dict()
    for item, text in zip(ds.items["id"][:50], ds.items["description"][:50], strict=True):
        assert all(tag in text for tag in tags_of[item])
    assert set(prefs) == set(ds.users["id"])
    assert all(2 <= len(p) <= 3 and set(p) <= set(ds.tags["name"]) for p in prefs.values())
    assert 0 < len(ds.user_tags) < len(inter) // 10
    tagged = ds.user_tags.merge(ds.item_tags, on=["item_id", "tag"])
    assert len(tagged) == len(ds.user_tags)  # users tag items with one of the item's tags


def test_popularity_is_skewed(world) -> None:
    ds, _ = world
    counts = ds.interactions["item_id"].value_counts()
    top = counts.iloc[: len(ds.items) // 10].sum() / len(ds.interactions)
    assert top > 0.25


def test_favourite_tags_drive_behaviour(world) -> None:
    ds, prefs = world
    tags_of = ds.item_tags.groupby("item_id")["tag"].apply(frozenset).to_dict()
    inter = ds.interactions
    pairs = zip(inter["user_id"], inter["item_id"], strict=True)
    hit = np.array([bool(tags_of[i] & set(prefs[u])) for u, i in pairs])
    items = list(tags_of)
    chance = np.mean([np.mean([bool(tags_of[i] & set(p)) for i in items]) for p in prefs.values()])
    assert hit.mean() > 2 * chance
    assert inter["rating"][hit].mean() > inter["rating"][~hit].mean() + 1.0


def test_vocabulary_and_limits() -> None:
    vocab = tag_vocabulary()
    assert len(vocab) >= 200 and len(set(vocab)) == len(vocab)
    assert {"space", "horror", "romance", "detective", "jazz", "dark comedy"} <= set(vocab)
    ds = generate_synthetic(num_users=20, num_items=200, num_tags=200, num_interactions=100)
    assert len(ds.tags) == 200 and len(ds.interactions) == 100
    dense = generate_synthetic(num_users=10, num_items=10, num_tags=3, num_interactions=100)
    assert len(dense.interactions) == 100
    with pytest.raises(InvalidParameter, match="num_interactions"):
        generate_synthetic(num_users=10, num_items=10, num_interactions=29)
    with pytest.raises(InvalidParameter, match="num_tags"):
        generate_synthetic(num_tags=len(vocab) + 1)


def test_a_million_interactions_keep_every_promise() -> None:
    ds = generate_synthetic(
        num_users=50_000, num_items=20_000, num_tags=100, num_interactions=1_000_000, seed=1
    )
    assert len(ds.interactions) == 1_000_000
    assert not ds.interactions.duplicated(["user_id", "item_id"]).any()
    per_user = ds.interactions.groupby("user_id").size()
    assert len(per_user) == 50_000 and per_user.min() >= 3
    assert set(ds.interactions["item_id"]) <= set(ds.items["id"])
    assert ds.interactions["rating"].between(1.0, 5.0).all()
