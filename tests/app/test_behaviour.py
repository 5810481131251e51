"""Recording behaviour and catalogue while serving: validated like ingestion, idempotent,
never touching catalogue properties, counted by the change counter and the drift signal."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from kgrec import DatasetError, InvalidParameter, UnknownIdError
from kgrec.app.behaviour import (
    add_item,
    change_sequence,
    interactions_since_live,
    record_interactions,
)
from kgrec.app.training import staleness
from kgrec.queries.runner import run_query


def _frame(**columns):
    return pd.DataFrame({k: list(v) for k, v in columns.items()})


def _item_state(store, item_id):
    rows = store.run(
        "MATCH (i:Item {id: $id}) RETURN i.title AS title, i.text AS text, "
        "i.text_hash AS h, i.dataset AS dataset",
        {"id": item_id},
    )
    return rows[0]


def test_recorded_interactions_are_written_once_and_leave_the_catalogue_alone(writable_world):
    _, _, store, _, dataset = writable_world
    item = dataset.items["id"].iloc[7]
    before = _item_state(store, item)
    seq0 = change_sequence(store)
    users = ["u-new", "u-new", dataset.users["id"].iloc[0]]
    frame = _frame(user_id=users, item_id=[item] * 3, rating=[2.0, 4.5, None], ts=[100, 200, 300])
    out = record_interactions(store, frame, now=1_800_000_000)
    assert out["rows"] == 2 and out["seq"] == seq0 + 1
    rows = run_query(store, "user_items", {"user_id": "u-new"})
    assert [(r["item_id"], r["rating"], r["ts"]) for r in rows] == [(item, 4.5, 200)]  # latest ts
    assert rows[0]["recorded"] == pytest.approx(1_800_000_000)
    again = record_interactions(store, frame, now=1_900_000_000)
    assert (again["created"], again["updated"], again["seq"]) == (0, 0, out["seq"])
    assert run_query(store, "user_items", {"user_id": "u-new"})[0]["recorded"] == pytest.approx(
        1_800_000_000
    )
    assert _item_state(store, item) == before
    implicit = [
        r
        for r in run_query(store, "user_items", {"user_id": dataset.users["id"].iloc[0]})
        if r["item_id"] == item
    ]
    assert implicit and implicit[0]["recorded"] is not None


BAD = [
    ({"user_id": ["u"], "item_id": ["nope"]}, UnknownIdError, "unknown item 'nope'"),
    (
        {"user_id": ["u"], "item_id": ["i1"], "rating": [math.inf]},
        DatasetError,
        "field 'rating': row 0: rating 'inf' is not a number",
    ),
    (
        {"user_id": ["u"], "item_id": ["i1"], "rating": ["abc"]},
        DatasetError,
        "field 'rating': row 0: rating 'abc' is not a number",
    ),
    (
        {"user_id": ["u"], "item_id": ["i1"], "rating": [9.0]},
        DatasetError,
        "rating '9.0' is out of range 0.5 to 5",
    ),
    (
        {"user_id": ["u\x00x"], "item_id": ["i1"]},
        DatasetError,
        "field 'interactions.user_id'.*NUL character",
    ),
    ({"user_id": [None], "item_id": ["i1"]}, DatasetError, "field 'user_id': row 0: "),
    ({"user_id": ["u"], "item_id": ["i1"], "ts": [1.5]}, DatasetError, "field 'ts'"),
    (
        {"user_id": ["u"], "item_id": ["i1"], "colour": ["red"]},
        InvalidParameter,
        "unknown column 'colour'",
    ),
    ({"user_id": ["u"]}, InvalidParameter, "lack the column 'item_id'"),
]


def test_bad_interactions_are_refused_before_anything_is_written(writable_world):
    _, _, store, _, dataset = writable_world
    seq = change_sequence(store)
    for columns, error, match in BAD:
        if columns.get("item_id") == ["i1"]:
            columns = {**columns, "item_id": [dataset.items["id"].iloc[0]]}
        with pytest.raises(error, match=match):
            record_interactions(store, _frame(**columns), rating_range=(0.5, 5.0))
    assert change_sequence(store) == seq
    assert not run_query(store, "user_exists", {"id": "u"})


def test_add_item_writes_the_catalogue_once_and_embeds_its_text(writable_world, embedder):
    _, _, store, _, dataset = writable_world
    tags = [dataset.tags["name"].iloc[0], "  Brand  NEW "]
    out = add_item(store, embedder, "fresh-1", "Fresh One", text="a quiet film", tags=tags)
    assert out["created"] and out["changed"]
    state = _item_state(store, "fresh-1")
    assert state["title"] == "Fresh One" and "a quiet film" in state["text"]
    assert state["dataset"] == "added"
    rows = run_query(store, "added_items")
    assert [r["item_id"] for r in rows] == ["fresh-1"]
    assert rows[0]["tags"] == sorted([dataset.tags["name"].iloc[0], "brand new"])
    assert len(rows[0]["embedding"]) == embedder.dim
    again = add_item(store, embedder, "fresh-1", "Fresh One", text="a quiet film", tags=tags)
    assert not again["changed"] and again["seq"] == out["seq"]
    with pytest.raises(DatasetError, match="field 'title'"):
        add_item(store, embedder, "fresh-2", "  ")
    with pytest.raises(DatasetError, match="field 'items.id'.*NUL"):
        add_item(store, embedder, "bad\x00id", "Bad")
    assert not run_query(store, "item_exists", {"id": "fresh-2"})


def test_drift_counts_interactions_beyond_the_live_models(writable_world):
    _, _, store, models, dataset = writable_world
    state = interactions_since_live(store, models)
    assert state["new"] == 0 and state["trained"] == state["stored"] == len(dataset.interactions)
    assert not staleness(store, models, count=1)["stale"]
    items = dataset.items["id"].iloc[:3].tolist()
    record_interactions(store, _frame(user_id=["drifter"] * 3, item_id=items))
    state = staleness(store, models, count=3)
    assert state["new"] == 3 and state["stale"]
    assert "3 interactions since the live model" in state["reason"]
    assert not staleness(store, models, count=4)["stale"]
    share = 3 / len(dataset.interactions)
    assert staleness(store, models, share=share)["stale"]
    assert not staleness(store, models, share=share * 1.5)["stale"]
    assert not staleness(store, models)["stale"]  # default: 5% more
    with pytest.raises(InvalidParameter):
        staleness(store, models, share=0.0)
