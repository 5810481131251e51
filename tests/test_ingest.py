"""Ingestion into the real embedded store: ml-latest-small end to end, idempotency, resume."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time

import pytest
from cli_runner import run_in_process
from dataset_cut import first_users

from kgrec.app.ingest import ingest
from kgrec.kg import open_store
from kgrec.kg.writer import READS

FINGERPRINT = """
MATCH (u:User)-[e:INTERACTED]->(i:Item)
RETURN u.id AS u, i.id AS i, e.kind AS kind, e.rating AS rating, e.weight AS weight, e.ts AS ts
ORDER BY u, i
"""


def counts(store) -> dict[str, int]:
    return store.run(READS.get("count_graph").text)[0]


def fingerprint(store) -> str:
    rows = store.run(FINGERPRINT)
    items = store.run(
        "MATCH (i:Item) RETURN i.id AS id, i.text_hash AS h, i.embedding_hash AS e ORDER BY id"
    )
    tags = store.run(
        "MATCH (i:Item)-[r:HAS_TAG]->(t:Tag) RETURN i.id AS i, t.name AS t, "
        "r.source AS s, r.count AS c ORDER BY i, t, s"
    )
    return hashlib.sha256(repr((rows, items, tags, counts(store))).encode()).hexdigest()


@pytest.fixture
def movielens(movielens_world):
    """The world's part of ml-latest-small, as read from its files."""
    return movielens_world.dataset


@pytest.fixture
def movielens_store(backend, movielens_world):
    """The world's part of ml-latest-small ingested once per backend (with a trained model
    written back): ``(store, report of the first ingest)``."""
    _, store, report = movielens_world.shared(backend)
    return store, report


def test_movielens_end_to_end_counts(movielens_store, movielens):
    store, report = movielens_store
    c = counts(store)
    frames = movielens.interactions, movielens.user_tags, movielens.item_tags
    pairs = len(frames[0].drop_duplicates(["user_id", "item_id"]))
    assert (c["users"], c["items"], c["interactions"]) == (
        len(movielens.users),
        len(movielens.items),
        pairs,
    )
    assert pairs == len(frames[0])  # ml-latest-small rates each film once per user
    assert c["user_tags"] == len(frames[1].drop_duplicates(["user_id", "item_id", "tag"]))
    genres = store.run(
        "MATCH (:Item)-[:HAS_TAG {source: 'genre'}]->(t:Tag) RETURN count(DISTINCT t) AS n"
    )[0]["n"]
    assert genres == frames[2].loc[frames[2]["source"] == "genre", "tag"].nunique()
    assert report.steps["merge_interactions"].created == pairs
    missing = store.run("MATCH (i:Item) WHERE i.embedding IS NULL RETURN count(i) AS n")[0]["n"]
    assert missing == 0


def test_items_carry_their_text(movielens_store):
    store, _ = movielens_store
    row = store.run("MATCH (i:Item {id: '1'}) RETURN i.title AS title, i.text AS text")[0]
    assert row["title"] == "Toy Story (1995)"
    assert row["text"].startswith("Toy Story (1995). Genres: ")
    assert "animation" in row["text"]


def test_reingest_of_unchanged_data_changes_nothing(movielens_store, movielens, embedder):
    store, _ = movielens_store
    before = fingerprint(store)
    report = ingest(movielens, store, embedder)
    assert report.texts_embedded == 0
    assert report.embeddings_written == 0
    assert report.relationships_changed == 0
    assert report.nodes_changed == 0
    assert fingerprint(store) == before


def test_a_changed_rating_and_title_are_updated_in_place(store, movielens, embedder):
    small = first_users(movielens, 40)
    ingest(small, store, embedder)
    before = counts(store)
    small.interactions.loc[small.interactions.index[0], "rating"] = 0.5
    small.items.loc[small.items.index[0], "title"] = "Renamed (1999)"
    report = ingest(small, store, embedder)
    assert report.steps["merge_interactions"].updated == 1
    assert report.steps["merge_items"].updated == 1
    assert report.embeddings_written == 1
    assert counts(store) == before


def _kgrec(*args, env=None):
    return [sys.executable, "-m", "kgrec.cli.main", *args]


INTERACTIONS = 60_000
SYNTHETIC = [
    "ingest",
    "synthetic",
    "--users",
    "400",
    "--items",
    "500",
    "--interactions",
    str(INTERACTIONS),
]


@pytest.fixture(scope="module")
def uninterrupted_ingest(tmp_path_factory, cache_dir):
    """The embedded store of one uninterrupted ``kgrec ingest synthetic`` run (SYNTHETIC)."""
    reference = tmp_path_factory.mktemp("uninterrupted") / "store"
    done = run_in_process("--quiet", "--store", str(reference), *SYNTHETIC)
    assert done.returncode == 0, done.stderr
    return reference


def test_killed_ingest_then_rerun_equals_an_uninterrupted_one(
    cache_dir, store_uri, uninterrupted_ingest
):
    """The reference is an uninterrupted run on the embedded store; the killed and rerun
    ingest goes to the backend under test, so on Neo4j this also checks parity."""
    args, reference = SYNTHETIC, uninterrupted_ingest
    env = {**os.environ, "KGREC_CACHE_DIR": str(cache_dir)}

    proc = subprocess.Popen(
        _kgrec("--store", store_uri, *args),
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    # Kill it once interactions are being written (the progress bar names the step).
    deadline = time.monotonic() + 120
    seen = ""
    while time.monotonic() < deadline and "merge_interactions" not in seen:
        seen += proc.stderr.read(64)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert "merge_interactions" in seen, "ingest never reached the interaction writes"
    with open_store(store_uri) as store:
        partial = counts(store)["interactions"]
    assert partial < INTERACTIONS, "the kill came too late to interrupt anything"

    rerun = run_in_process("--quiet", "--store", store_uri, *args)
    assert rerun.returncode == 0, rerun.stderr
    with open_store(store_uri) as a, open_store(str(reference)) as b:
        assert counts(a) == counts(b)
        assert fingerprint(a) == fingerprint(b)


def test_ingest_dataset_writes_the_rejects_then_the_rows(tmp_path, cache_dir, store_uri):
    from kgrec.app.ingest import ingest_dataset, read_movielens, rejects_file
    from kgrec.core.settings import Settings

    source = tmp_path / "ml"
    source.mkdir()
    (source / "movies.csv").write_text("movieId,title,genres\n1,One (1990),Drama\n2,Two,Comedy\n")
    (source / "ratings.csv").write_text(
        "userId,movieId,rating,timestamp\n1,1,4.0,10\n1,2,bad,11\n2,2,3.0,12\n"
    )
    target = rejects_file(tmp_path / "rejects.csv", source, skip_bad=True)
    dataset = read_movielens(source, skip_bad=True)
    settings = Settings.resolve(store=store_uri, cache_dir=cache_dir)
    summary = ingest_dataset(settings, dataset, target)
    assert summary["store"] == settings.store and summary["rejects_file"] == str(target)
    assert summary["rejects"] == len(dataset.rejects) == 1
    assert len(target.read_text().splitlines()) == 1 + len(dataset.rejects)
    with open_store(settings.store) as store:
        assert counts(store)["interactions"] == len(dataset.interactions) == 2


def test_rejects_file_is_checked_before_reading(tmp_path, monkeypatch):
    from kgrec.app.ingest import rejects_file
    from kgrec.core.errors import InvalidParameter

    source = tmp_path / "ratings.csv"
    assert rejects_file(None, source, skip_bad=False) is None
    monkeypatch.chdir(tmp_path)
    assert rejects_file(None, source, skip_bad=True) == tmp_path / "ratings.csv.rejects.csv"
    with pytest.raises(InvalidParameter, match="does not exist"):
        rejects_file(tmp_path / "nope" / "r.csv", source, skip_bad=True)
    with pytest.raises(InvalidParameter, match="names a folder"):
        rejects_file(tmp_path, source, skip_bad=True)
