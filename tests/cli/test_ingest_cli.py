"""`kgrec ingest` as a person runs it: summaries, one-line errors, nothing lost, --skip-bad."""

from __future__ import annotations

import json

import pytest

MOVIES = (
    "movieId,title,genres\n1,Toy Story (1995),Adventure|Animation\n"
    '2,Jumanji (1995),Adventure\n3,"Heat, The (1995)",Crime\n'
)
RATINGS = (
    "userId,movieId,rating,timestamp\n1,1,4.0,964982703\n1,2,3.5,964981247\n"
    "2,1,5.0,964982224\n2,3,2.0,964983815\n"
)
TAGS = "userId,movieId,tag,timestamp\n1,1,pixar,1139045764\n"


def write_movielens(directory, movies=MOVIES, ratings=RATINGS, tags=TAGS):
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "movies.csv").write_text(movies)
    (directory / "ratings.csv").write_bytes(
        ratings if isinstance(ratings, bytes) else ratings.encode()
    )
    (directory / "tags.csv").write_text(tags)
    return directory


@pytest.fixture()
def loaded_store(tmp_path, cache_dir, store_uri, kgrec):
    """A store of each backend holding the small valid dataset."""
    store = store_uri
    result = kgrec(
        "--quiet",
        "--store",
        str(store),
        "ingest",
        "movielens",
        str(write_movielens(tmp_path / "good")),
    )
    assert result.returncode == 0, result.stderr
    return store


def stats(kgrec, store) -> dict:
    result = kgrec("--json", "--store", str(store), "stats")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


BAD_CASES = {
    "missing column": (
        dict(ratings="userId,movieId,timestamp\n1,1,964982703\n"),
        "ratings.csv",
        1,
        "rating",
    ),
    "non-numeric rating": (
        dict(ratings=RATINGS + "3,2,good,964982703\n"),
        "ratings.csv",
        6,
        "rating",
    ),
    "unknown item": (dict(ratings=RATINGS + "3,99,4.0,964982703\n"), "ratings.csv", 6, "movieId"),
    "truncated file": (dict(ratings=RATINGS + "3,2"), "ratings.csv", 6, None),
    "broken encoding": (
        dict(ratings=RATINGS.encode() + b"3,2,4.0,96498\xff\xfe703\n"),
        "ratings.csv",
        6,
        None,
    ),
}


@pytest.mark.parametrize("case", list(BAD_CASES))
def test_bad_input_stops_with_one_line_and_loses_nothing(
    case, tmp_path, loaded_store, kgrec, error_line
):
    before = stats(kgrec, loaded_store)
    files, name, line, field = BAD_CASES[case]
    bad = write_movielens(tmp_path / "bad", **files)
    result = kgrec("--store", str(loaded_store), "ingest", "movielens", str(bad))
    message = error_line(result)
    assert name in message and f"line {line}" in message, message
    if field:
        assert f"'{field}'" in message, message
    assert result.stdout == ""
    assert stats(kgrec, loaded_store) == before


def test_json_error_object(tmp_path, kgrec):
    result = kgrec(
        "--json", "--store", str(tmp_path / "s"), "ingest", "movielens", str(tmp_path / "nowhere")
    )
    assert result.returncode == 1
    payload = json.loads(result.stdout)
    assert payload["error"]["type"] == "DatasetError"
    assert "nowhere" in payload["error"]["message"]


def test_skip_bad_writes_rejects_and_keeps_good_rows(tmp_path, cache_dir, store_uri, kgrec):
    bad = write_movielens(
        tmp_path / "bad", ratings=RATINGS + "3,2,good,964982703\n3,1,4.5,964982703\n"
    )
    store = store_uri
    result = kgrec(
        "--json",
        "--quiet",
        "--store",
        str(store),
        "ingest",
        "movielens",
        str(bad),
        "--skip-bad",
        "--rejects",
        str(tmp_path / "rejects.csv"),
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["rejects"] == 1
    rejects = (tmp_path / "rejects.csv").read_text().splitlines()
    assert len(rejects) == 2 and ",6,rating," in rejects[1]
    assert stats(kgrec, store)["interactions"] == 5


def test_stats_and_similar_json(loaded_store, kgrec):
    counts = stats(kgrec, loaded_store)
    assert {k: counts[k] for k in ("users", "items", "tags", "interactions")} == {
        "users": 2,
        "items": 3,
        "tags": 4,
        "interactions": 4,
    }
    result = kgrec("--json", "--store", str(loaded_store), "similar", "1", "--k", "2")
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert isinstance(rows, list) and len(rows) == 2
    assert [set(r) for r in rows] == [{"item_id", "title", "text_similarity"}] * 2
    assert "1" not in [r["item_id"] for r in rows]


def test_similar_unknown_item_is_one_line(loaded_store, kgrec):
    result = kgrec("--store", str(loaded_store), "similar", "nope")
    assert result.returncode == 1
    assert result.stderr.strip().startswith("error: unknown item 'nope'")
