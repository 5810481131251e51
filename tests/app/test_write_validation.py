"""Every write after ingestion is checked as ingestion checks it, and one conflict rule holds
for every writer: the latest timestamp wins. Every backend.

The store is a small MovieLens folder, so its rating scale (0.5 to 5) is stored by ingest;
each refused write must leave the whole store (:func:`snapshot`) as it was.
"""

from __future__ import annotations

import math
import threading
import time

import numpy as np
import pandas as pd
import pytest

from kgrec import DatasetError, InvalidParameter, UnknownIdError
from kgrec.app.behaviour import add_item, change_sequence, record_interaction, record_interactions
from kgrec.app.ingest import ingest
from kgrec.app.rating_scale import stored_rating_range
from kgrec.core.dataset import Dataset
from kgrec.kg import open_store
from kgrec.loaders import read_movielens, read_table
from kgrec.loaders.embeddings import TextEmbedder
from tests.app.writes import NEWEST, movielens_folder, rating_of, snapshot

NOW = 1_800_000_000

#: (keyword arguments of record_interaction, error, message pattern)
INTERACTION_CASES = [
    ({"rating": 50}, DatasetError, r"rating '50' is out of range 0\.5 to 5"),
    ({"rating": 11}, DatasetError, "out of range 0.5 to 5"),
    ({"rating": -1e9}, DatasetError, "out of range"),
    ({"rating": 0.4}, DatasetError, "out of range"),
    ({"rating": "4"}, DatasetError, "rating '4' is not a number but a string"),
    ({"rating": True}, DatasetError, "rating 'True' is a bool, not a number"),
    ({"rating": math.nan}, DatasetError, "field 'rating'.*nan"),
    ({"rating": math.inf}, DatasetError, "nan and infinities are refused"),
    ({"rating": [4.0]}, DatasetError, "is a list, not a number"),
    ({"user_id": "  u5  "}, DatasetError, "user_id '  u5  ' begins or ends with whitespace.*'u5'"),
    ({"user_id": "u5\t"}, DatasetError, "whitespace"),
    ({"item_id": " 1"}, DatasetError, "item_id ' 1' begins or ends with whitespace"),
    ({"user_id": ""}, DatasetError, "field 'user_id'.*is missing"),
    ({"user_id": "   "}, DatasetError, "is missing"),
    ({"user_id": None}, DatasetError, "is missing"),
    ({"user_id": True}, DatasetError, "is a bool, not an id"),
    ({"user_id": [1, 2]}, DatasetError, "is a list, not an id"),
    ({"user_id": {"id": 1}}, DatasetError, "is a dict, not an id"),
    ({"user_id": 1.5}, DatasetError, "is not an id"),
    ({"user_id": "u\x00x"}, DatasetError, "NUL character"),
    ({"user_id": "u" * 2000}, DatasetError, "MAX_KEY_BYTES"),
    ({"item_id": "nope"}, UnknownIdError, "unknown item 'nope'"),
    ({"ts": -5}, DatasetError, "field 'ts'.*whole unix seconds"),
    ({"ts": 1.5}, DatasetError, "whole unix seconds"),
    ({"ts": "100"}, DatasetError, "ts '100' is not a number but a string"),
    ({"ts": True}, DatasetError, "is a bool"),
    ({"ts": math.nan}, DatasetError, "ts nan"),
    ({"ts": NOW + 10 * 86_400}, DatasetError, "more than a day in the future"),
    ({"ts": NOW * 1000}, DatasetError, "milliseconds"),
    ({"ts": 2**70}, DatasetError, "future"),
    ({"kind": ""}, DatasetError, "field 'kind'"),
    ({"kind": "a b"}, DatasetError, "is not a kind"),
    ({"kind": 5}, DatasetError, "is not a kind"),
    ({"kind": "rating", "rating": None}, DatasetError, "kind 'rating' needs a rating"),
    ({"weight": -1.0}, DatasetError, "weight '-1.0' is out of range 0 to"),
    ({"weight": -1e308}, DatasetError, "out of range"),
    ({"weight": 1e7}, DatasetError, "out of range"),
    ({"weight": math.inf}, DatasetError, "nan and infinities"),
    ({"weight": math.nan}, DatasetError, "weight nan"),
    ({"weight": "2"}, DatasetError, "not a number but a string"),
]

#: (record_interactions argument, error, message pattern)
FRAME_CASES = [
    ([1, 2], InvalidParameter, "a DataFrame, a list of dicts or a dict of columns, not a list"),
    ("u1,1", InvalidParameter, "not a str"),
    (42, InvalidParameter, "not a int"),
    (
        [
            {"user_id": "1", "item_id": "1", "rating": 3.0},
            {"user_id": "1", "item_id": "2", "rating": 9.0},
        ],
        DatasetError,
        "row 1: rating '9.0' is out of range",
    ),
    (
        {"user_id": ["1", "new"], "item_id": ["2", "1"], "rating": [2.0, "x"]},
        DatasetError,
        "row 1: rating 'x'",
    ),
    ({"user_id": ["1", "  2"], "item_id": ["2", "1"]}, DatasetError, "row 1: user_id"),
    ({"user_id": ["1"], "item_id": ["2"], "weight": [-1e308]}, DatasetError, "weight"),
    (
        {"user_id": ["1"], "item_id": ["2"], "colour": ["red"]},
        InvalidParameter,
        "unknown column 'colour'",
    ),
    ({"user_id": ["1"]}, InvalidParameter, "lack the column 'item_id'"),
]

#: (keyword arguments of add_item, error, message pattern)
ITEM_CASES = [
    ({"item_id": " x "}, DatasetError, "item_id ' x ' begins or ends with whitespace"),
    ({"item_id": ""}, DatasetError, "is missing"),
    ({"item_id": True}, DatasetError, "is a bool"),
    ({"item_id": ["x"]}, DatasetError, "is a list"),
    ({"title": ""}, DatasetError, "field 'title'.*is empty"),
    ({"title": None}, DatasetError, "field 'title'"),
    ({"title": 5}, DatasetError, "title '5' is a int, not text"),
    ({"title": "A\x00B"}, DatasetError, "NUL"),
    ({"title": "t" * 70_000}, DatasetError, "MAX_TEXT_BYTES"),
    ({"text": 5.0}, DatasetError, "field 'text'"),
    ({"text": "d\x00"}, DatasetError, "NUL"),
    ({"tags": [5]}, DatasetError, "field 'tags'.*is a int, not a tag name"),
    ({"tags": ["ok", " "]}, DatasetError, "is an empty tag"),
    ({"tags": ["x" * 2000]}, DatasetError, "MAX_KEY_BYTES"),
    ({"tags": {"a": 1}}, DatasetError, "is a dict"),
    ({"tags": 7}, DatasetError, "is a int"),
]


@pytest.fixture
def ml_store(store, tmp_path, embedder):
    """``store`` holding a small MovieLens folder (rating scale 0.5 to 5)."""
    ingest(read_movielens(movielens_folder(tmp_path / "ml")), store, embedder)
    return store


def _refused(store, call, error, match) -> None:
    before = snapshot(store)
    with pytest.raises(error, match=match):
        call()
    assert snapshot(store) == before, "a refused write changed the store"


def test_ingest_stores_the_rating_scale_and_writes_are_held_to_it(ml_store, tmp_path, embedder):
    assert stored_rating_range(ml_store) == (0.5, 5.0)
    report = ingest(read_movielens(tmp_path / "ml"), ml_store, embedder)
    assert report.nodes_changed == report.relationships_changed == 0  # idempotent
    assert stored_rating_range(ml_store) == (0.5, 5.0)
    _refused(
        ml_store,
        lambda: record_interaction(ml_store, "1", "1", 5.5, now=NOW),
        DatasetError,
        "out of range 0.5 to 5",
    )
    # a narrower range given by the caller applies too; a wider one does not widen the store's
    _refused(
        ml_store,
        lambda: record_interactions(
            ml_store,
            [{"user_id": "9", "item_id": "1", "rating": 4.5}],
            rating_range=(1, 4),
            now=NOW,
        ),
        DatasetError,
        "out of range 1 to 4",
    )
    _refused(
        ml_store,
        lambda: record_interactions(
            ml_store,
            [{"user_id": "9", "item_id": "1", "rating": 7.0}],
            rating_range=(0, 10),
            now=NOW,
        ),
        DatasetError,
        "out of range 0.5 to 5",
    )
    # a table read without --rating-range allows any finite rating: the store's scale widens
    (tmp_path / "t.csv").write_text("user,item,stars\nt1,1,10\n")
    table = read_table(
        tmp_path / "t.csv", {"user_id": "user", "item_id": "item", "rating": "stars"}
    )
    ingest(table, ml_store, embedder)
    assert stored_rating_range(ml_store) == (-math.inf, math.inf)
    out = record_interaction(ml_store, "1", "1", 50.0, ts=NOW, now=NOW)
    assert out["updated"] == 1 and rating_of(ml_store, "1", "1") == (50.0, NOW)


def test_a_table_with_a_rating_range_widens_the_scale_to_cover_it(store, tmp_path, embedder):
    assert stored_rating_range(store) == (-math.inf, math.inf)  # nothing ingested: any
    (tmp_path / "t.csv").write_text("user,item,stars\nt1,a,4\n")
    mapping = {"user_id": "user", "item_id": "item", "rating": "stars"}
    ingest(read_table(tmp_path / "t.csv", mapping, rating_range=(1, 5)), store, embedder)
    assert stored_rating_range(store) == (1.0, 5.0)
    ingest(read_table(tmp_path / "t.csv", mapping, rating_range=(0, 10)), store, embedder)
    assert stored_rating_range(store) == (0.0, 10.0)
    implicit = read_table(tmp_path / "t.csv", {"user_id": "user", "item_id": "item"})
    ingest(implicit, store, embedder)  # no ratings: the scale stays
    assert stored_rating_range(store) == (0.0, 10.0)


def test_every_bad_write_is_refused_and_changes_nothing(ml_store, embedder):
    tried = 0
    for extra, error, match in INTERACTION_CASES:
        kwargs = {"user_id": "1", "item_id": "2", "rating": 3.0, "ts": NOW - 5, **extra}
        _refused(
            ml_store, lambda kw=kwargs: record_interaction(ml_store, now=NOW, **kw), error, match
        )
        tried += 1
    for frame, error, match in FRAME_CASES:
        _refused(ml_store, lambda f=frame: record_interactions(ml_store, f, now=NOW), error, match)
        tried += 1
    for extra, error, match in ITEM_CASES:
        kwargs = {"item_id": "new", "title": "New", "text": None, "tags": (), **extra}
        _refused(
            ml_store, lambda kw=kwargs: add_item(ml_store, embedder, now=NOW, **kw), error, match
        )
        tried += 1
    assert tried == len(INTERACTION_CASES) + len(FRAME_CASES) + len(ITEM_CASES) >= 60
    assert not ml_store.run("MATCH (u:User) WHERE u.id <> trim(u.id) RETURN u.id AS id")


def test_good_writes_take_the_forms_ingestion_takes(ml_store, embedder):
    seq = change_sequence(ml_store)
    rows = [{"user_id": 7, "item_id": 1.0, "rating": np.float32(4.5), "ts": np.int64(NOW - 9)}]
    out = record_interactions(ml_store, rows, now=NOW)  # ids as ingestion makes them: '7', '1'
    assert (out["created"], out["seq"]) == (1, seq + 1)
    assert rating_of(ml_store, "7", "1") == (4.5, NOW - 9)
    weight = ml_store.run("MATCH (:User {id: '7'})-[e:INTERACTED]->() RETURN e.weight AS w")
    assert weight == [{"w": 4.5}]  # the weight of a rating is the rating, as ingestion sets it
    implicit = record_interaction(ml_store, "7", "2", now=NOW)
    assert implicit["created"] == 1 and rating_of(ml_store, "7", "2") == (None, NOW)
    out = add_item(ml_store, embedder, "new", "New Film", tags="Sci-Fi  Horror", now=NOW)
    assert out["created"]
    tags = ml_store.run("MATCH (:Item {id: 'new'})-[:HAS_TAG]->(t:Tag) RETURN t.name AS t")
    assert tags == [{"t": "sci-fi horror"}]  # a string is one tag
    assert not ml_store.run("MATCH (t:Tag) WHERE size(t.name) = 1 RETURN t.name AS t")


def test_the_latest_timestamp_wins_for_every_writer(ml_store, tmp_path, embedder):
    assert rating_of(ml_store, "1", "1") == (4.0, 964982703)
    # re-ingest of an older row: kept
    older = movielens_folder(
        tmp_path / "older", "userId,movieId,rating,timestamp\n1,1,1.0,964900000\n"
    )
    report = ingest(read_movielens(older), ml_store, embedder)
    assert report.relationships_changed == 0
    assert rating_of(ml_store, "1", "1") == (4.0, 964982703)
    # a live write with an older ts: kept, said so, and the counter does not move
    seq = change_sequence(ml_store)
    out = record_interaction(ml_store, "1", "1", 2.0, ts=50, now=NOW)
    assert (out["created"], out["updated"], out["kept_newer"], out["seq"]) == (0, 0, 1, seq)
    assert rating_of(ml_store, "1", "1") == (4.0, 964982703)
    assert ml_store.run(
        "MATCH (:User {id: '1'})-[e:INTERACTED]->(:Item {id: '1'}) RETURN e.recorded AS r"
    ) == [{"r": None}]
    # a live write with an equal or newer ts: replaces it
    out = record_interaction(ml_store, "1", "1", 2.5, ts=NEWEST + 100, now=NOW)
    assert out["updated"] == 1 and rating_of(ml_store, "1", "1") == (2.5, NEWEST + 100)
    # re-ingesting the original file does not revert the newer live rating
    report = ingest(read_movielens(tmp_path / "ml"), ml_store, embedder)
    assert report.relationships_changed == 0
    assert rating_of(ml_store, "1", "1") == (2.5, NEWEST + 100)
    # a newer ingested row replaces it
    newer = movielens_folder(
        tmp_path / "newer", f"userId,movieId,rating,timestamp\n1,1,3.0,{NEWEST + 200}\n"
    )
    ingest(read_movielens(newer), ml_store, embedder)
    assert rating_of(ml_store, "1", "1") == (3.0, NEWEST + 200)
    # within one call too: the latest row wins whatever the order
    rows = [
        {"user_id": "2", "item_id": "2", "rating": 5.0, "ts": NOW - 1},
        {"user_id": "2", "item_id": "2", "rating": 1.0, "ts": NOW - 9},
    ]
    record_interactions(ml_store, rows, now=NOW)
    assert rating_of(ml_store, "2", "2") == (5.0, NOW - 1)


def _ratings(ts: int, rating: float, users: int = 40, items: int = 5) -> Dataset:
    pairs = [(f"c{u}", f"ci{i}") for u in range(users) for i in range(items)]
    ds = Dataset(name="concurrent", rating_range=(0.5, 5.0))
    ds.users = pd.DataFrame({"id": [f"c{u}" for u in range(users)]}, dtype=object)
    ds.items = pd.DataFrame(
        {"id": [f"ci{i}" for i in range(items)], "title": None, "description": None}, dtype=object
    )
    ds.interactions = pd.DataFrame(
        {
            "user_id": [p[0] for p in pairs],
            "item_id": [p[1] for p in pairs],
            "kind": "rating",
            "rating": rating,
            "weight": rating,
            "ts": np.int64(ts),
            "split": "",
        }
    )
    return ds


def test_concurrent_ingests_keep_the_newest_rating(store, backend, embedder):
    old, new = _ratings(1_000, 1.0), _ratings(2_000, 5.0)
    ingest(new, store, embedder)  # newest first, then the older one: nothing reverts
    ingest(old, store, embedder)
    stored = store.run("MATCH (:User)-[e:INTERACTED]->() RETURN DISTINCT e.rating AS r")
    assert stored == [{"r": 5.0}]
    store.write("MATCH (u:User) DETACH DELETE u")
    graph = getattr(store, "graph_name", "kgrec")
    errors: list[BaseException] = []

    def run(ds: Dataset, delay: float) -> None:
        try:
            time.sleep(delay)
            with open_store(store.uri, graph=graph) as other:
                ingest(ds, other, TextEmbedder(cache_dir=None))  # no texts: nothing embedded
        except BaseException as exc:  # reported below
            errors.append(exc)

    for delays in ((0.0, 0.0), (0.0, 0.05), (0.05, 0.0)):
        threads = [
            threading.Thread(target=run, args=(ds, d))
            for ds, d in zip((old, new), delays, strict=True)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=300)
        assert not errors, errors
        rows = store.run(
            "MATCH (:User)-[e:INTERACTED]->() RETURN e.rating AS r, e.ts AS ts, count(*) AS n"
        )
        assert rows == [{"r": 5.0, "ts": 2_000, "n": 200}], (backend, delays, rows)
        store.write("MATCH (u:User) DETACH DELETE u")


def test_an_added_item_with_a_foreign_text_vector_is_placed_by_its_tags(
    writable_world, embedder, caplog
):
    from kgrec import Recommender

    uri, graph, store, models, dataset = writable_world
    tag = dataset.tags["name"].iloc[0]
    add_item(store, embedder, "odd", "Odd Film", tags=[tag])
    store.write(
        f"MATCH (i:Item {{id: 'odd'}}) SET i.embedding = {store.dialect.vector('$v')}",
        {"v": [0.5] * 10},
    )  # as another embedding model would have made it
    with caplog.at_level("WARNING", logger="kgrec.app.live"):
        with Recommender.open(uri, models, graph=graph) as rec:
            assert "odd" in rec.item_ids  # LightGCN folds it in over its tag
            assert np.isfinite(rec.item_emb[rec.item_ids.index("odd")]).all()
    assert "added item 'odd' has a text vector of 10 values where the model reads" in caplog.text
