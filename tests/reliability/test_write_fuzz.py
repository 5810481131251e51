"""Writes after ingestion, fuzzed: hypothesis sends ``record_interaction``,
``record_interactions`` and ``add_item`` random values of every type (padded, empty and
unstorable ids, numbers as strings, bools, lists, NaN, infinities, out-of-scale ratings,
negative and far-future timestamps, odd kinds and weights, tag strings).

Each call is either refused with a :class:`KgrecError` of one line, and then the whole store
is unchanged, or accepted, and then what it stored is what ingestion would store: ids
without surrounding whitespace, a rating within the store's scale (0.5 to 5, stored by the
MovieLens ingest) or none, a timestamp from -1 to a day past now. Anything else escaping is
a failure. Every backend; deterministic (derandomized).
"""

from __future__ import annotations

import math
import time
from collections import Counter
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kgrec.app.behaviour import add_item, record_interaction, record_interactions
from kgrec.app.ingest import ingest
from kgrec.core.checks import MAX_FUTURE_SECONDS
from kgrec.core.errors import KgrecError
from kgrec.loaders import read_movielens
from tests.app.writes import movielens_folder, snapshot

FUZZ = settings(
    max_examples=50,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
ITEMS = ["1", "2", "3"]

odd = st.one_of(
    st.booleans(),
    st.none(),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=2), st.integers(), max_size=1),
)
ids = st.one_of(
    st.sampled_from(["1", "2", "u9", "  u5  ", "u5 ", "", " ", "\t", "u\x00", "é" * 600]),
    st.text(max_size=6),
    st.integers(-5, 10**6),
    st.floats(allow_nan=True, allow_infinity=True),
    odd,
)
item_ids = st.one_of(st.sampled_from(ITEMS), st.sampled_from([" 1", "1 ", "nope"]), ids)
ratings = st.one_of(
    st.none(),
    st.sampled_from([0.5, 5.0, 0.4999, 5.0001, -1e9, 50.0, 11, math.nan, -math.inf]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-10, 10),
    st.sampled_from(["4", "4.0", "nan", ""]),
    odd,
)
stamps = st.one_of(
    st.none(),
    st.integers(-10, 2**64),
    st.sampled_from([-1, 0, 50, 1_700_000_000, 1_700_000_000_000]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["100", "x"]),
    st.booleans(),
)
kinds = st.one_of(
    st.none(),
    st.sampled_from(["rating", "implicit", "click", "a b", ""]),
    st.text(max_size=4),
    st.integers(),
)
weights = st.one_of(
    st.none(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-5, 10**7),
    st.sampled_from(["1"]),
)
texts = st.one_of(st.none(), st.text(max_size=12), st.integers(), st.sampled_from(["A\x00", " "]))
tags = st.one_of(
    st.none(),
    st.text(max_size=8),
    st.lists(st.one_of(st.text(max_size=6), st.integers()), max_size=3),
    st.integers(),
)

#: Per entry point: calls tried, refused, and refused calls that changed the store.
COUNTS: Counter[str] = Counter()


@pytest.fixture
def ml_store(store, tmp_path, embedder):
    ingest(read_movielens(movielens_folder(tmp_path / "ml")), store, embedder)
    return store


def _sane(store, now: float) -> None:
    """What every accepted write left: ids unpadded, ratings within the scale, sane times."""
    rows = store.run(
        "MATCH (u:User)-[e:INTERACTED]->(i:Item) RETURN u.id AS u, i.id AS i, "
        "e.rating AS r, e.ts AS ts, e.weight AS w"
    )
    for row in rows:
        assert row["u"] == row["u"].strip() and row["u"] and row["i"] == row["i"].strip(), row
        assert row["r"] is None or 0.5 <= row["r"] <= 5.0, row
        assert -1 <= row["ts"] <= now + MAX_FUTURE_SECONDS, row
        assert math.isfinite(row["w"]) and row["w"] >= 0, row


def _attempt(store, name: str, call) -> None:
    before = snapshot(store)
    COUNTS[f"{name} tried"] += 1
    try:
        call()
    except KgrecError as exc:
        COUNTS[f"{name} refused"] += 1
        assert "\n" not in str(exc)
        if snapshot(store) != before:
            COUNTS[f"{name} changed after refusal"] += 1
            raise AssertionError(f"a refused {name} changed the store: {exc}") from exc


def _report(name: str) -> None:
    tried, refused = COUNTS[f"{name} tried"], COUNTS[f"{name} refused"]
    changed = COUNTS[f"{name} changed after refusal"]
    print(f"{name}: tried {tried}, refused {refused}, changes after refusal {changed}")
    assert tried and refused and changed == 0


def test_record_interaction_refuses_or_stores_what_ingest_would(ml_store):
    now = time.time()

    @FUZZ
    @given(user=ids, item=item_ids, rating=ratings, ts=stamps, kind=kinds, weight=weights)
    def attempt(user: Any, item: Any, rating: Any, ts: Any, kind: Any, weight: Any) -> None:
        _attempt(
            ml_store,
            "record_interaction",
            lambda: record_interaction(
                ml_store, user, item, rating=rating, ts=ts, kind=kind, weight=weight, now=now
            ),
        )
        _sane(ml_store, now)

    attempt()
    _report("record_interaction")


def test_record_interactions_refuses_a_batch_with_one_bad_row_whole(ml_store):
    now = time.time()
    row = st.fixed_dictionaries(
        {"user_id": ids, "item_id": item_ids}, optional={"rating": ratings, "ts": stamps}
    )

    @FUZZ
    @given(rows=st.lists(row, min_size=1, max_size=3))
    def attempt(rows: list[dict[str, Any]]) -> None:
        good = {"user_id": "g1", "item_id": "1", "rating": 3.0, "ts": 1_000}
        _attempt(
            ml_store,
            "record_interactions",
            lambda: record_interactions(ml_store, [good, *rows], now=now),
        )
        _sane(ml_store, now)

    attempt()
    _report("record_interactions")


def test_add_item_refuses_or_adds_one_clean_item(ml_store, embedder):
    @FUZZ
    @given(item=ids, title=texts, text=texts, tag=tags)
    def attempt(item: Any, title: Any, text: Any, tag: Any) -> None:
        _attempt(
            ml_store,
            "add_item",
            lambda: add_item(ml_store, embedder, item, title, text=text, tags=tag),
        )
        bad = ml_store.run(
            "MATCH (i:Item) WHERE i.id <> trim(i.id) OR i.title IS NULL "
            "OR trim(i.title) = '' RETURN i.id AS id"
        )
        assert bad == [], bad

    attempt()
    _report("add_item")
