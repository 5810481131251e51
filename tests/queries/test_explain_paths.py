"""Enumerated explanation paths on the tiny graph (both stores): shared-tag and entity paths
from the items' features, co-user paths through the via items that carry the score, each
worked out by hand from the graph in ``conftest.py``."""

from __future__ import annotations

import pytest

from kgrec.core.errors import QueryParameterError
from kgrec.explain.candidates import SharedFeatures, co_user_pairs, enumerate_paths
from kgrec.queries.runner import run_concurrently, run_query

TITLES = {"i4": "Aliens"}


def _history(store, user_id):
    return {r["item_id"]: r for r in run_query(store, "user_items", {"user_id": user_id})}


def _walk(path):
    return [n.id for n in path.nodes]


def test_features_name_what_the_item_shares_with_the_users_items(tiny_store):
    features = SharedFeatures.fetch(tiny_store, "u1", ["i4"])
    keys = {(f["relationship"], f["key"]) for f in features.of_item["i4"]}
    assert keys == {("HAS_TAG", "scifi"), ("HAS_TAG", "horror"), ("RELATED", "e1")}
    carriers = {k: sorted(v) for k, v in features.carriers.items()}
    assert carriers == {
        ("tag", "scifi"): ["i1", "i2"],
        ("tag", "horror"): ["i1"],
        ("entity", "e1"): ["i1"],
    }


def test_features_read_in_the_background_are_the_same(tiny_store):
    now = SharedFeatures.fetch(tiny_store, "u1", ["i4", "i1"])
    later = SharedFeatures.reading(tiny_store, "u1", ["i4", "i1"])
    assert later.carriers == now.carriers and later.of_item == now.of_item
    assert now.carriers[("tag", "scifi")] == ["i1", "i2"]  # each carrier once, sorted


def test_concurrent_reads_come_back_in_order_and_raise_what_fails(tiny_store):
    calls = [("user_items", {"user_id": u}) for u in ("u1", "u2", "u4")]
    together = run_concurrently(tiny_store, calls)
    assert together == [run_query(tiny_store, name, params) for name, params in calls]
    assert [len(rows) for rows in together] == [3, 3, 2]  # RATINGS of u1, u2, u4
    with pytest.raises(QueryParameterError):
        run_concurrently(tiny_store, [*calls, ("user_items", {"no_such": 1})])


def test_paths_go_through_the_interaction_that_carries_most(tiny_store):
    history = _history(tiny_store, "u1")
    features = SharedFeatures.fetch(tiny_store, "u1", ["i4"])
    shares = {"i4": {"i2": 0.5, "i1": 0.1, "i3": 0.0}}
    assert co_user_pairs(["i4"], history, shares) == [
        {"item_id": "i4", "via_id": "i2"},
        {"item_id": "i4", "via_id": "i1"},
    ]
    found, counts = enumerate_paths(
        tiny_store, "u1", ["i4"], TITLES, features, history, shares, per_item=1
    )
    tagged = [p for p in found["i4"] if p.kind in ("shared_tag", "entity")]
    assert [_walk(p) for p in tagged] == [["u1", "i2", "scifi", "i4"]]  # i2 carries most
    assert tagged[0].rating == 4.0
    (co,) = [p for p in found["i4"] if p.kind == "co_users"]
    # u2 and u3 rated i1 and i4: both counted, the smallest id stands for them
    assert _walk(co) == ["u1", "i1", "u2", "i4"] and co.co_users == 2
    # 4 shared-tag / entity paths (i1: scifi, horror, e1; i2: scifi) and the co-user one
    assert counts["i4"] == 5


def test_without_shares_the_best_rated_items_are_the_vias(tiny_store):
    history = _history(tiny_store, "u1")
    features = SharedFeatures.fetch(tiny_store, "u1", ["i4"])
    pairs = co_user_pairs(["i4"], history, None)
    assert [p["via_id"] for p in pairs] == ["i1", "i2", "i3"]  # rated 5.0, 4.0, 2.0
    found, _ = enumerate_paths(
        tiny_store, "u1", ["i4"], TITLES, features, history, None, per_item=1
    )
    tagged = [p for p in found["i4"] if p.kind in ("shared_tag", "entity")]
    assert [_walk(p) for p in tagged] == [
        ["u1", "i1", "horror", "i4"],
        ["u1", "i1", "scifi", "i4"],
        ["u1", "i1", "e1", "i4"],
    ]
    assert tagged[2].relation == "directed_by" and tagged[2].nodes[2].label == "Ridley Scott"
