"""`kgrec interact` and `kgrec add-item` refuse what ingestion would refuse, in one line, and
change nothing then; an older --ts never replaces a newer interaction; option ranges are
usage errors. Every backend."""

from __future__ import annotations

import json

from kgrec.kg import open_store
from tests.app.writes import movielens_folder, snapshot


def _open(store_uri: str):
    return open_store(store_uri)


def test_interact_and_add_item_refuse_bad_values(tmp_path, store_uri, kgrec, error_line):
    base = ["--quiet", "--store", store_uri, "--model-dir", str(tmp_path / "models")]
    made = kgrec(*base, "ingest", "movielens", str(movielens_folder(tmp_path / "ml")))
    assert made.returncode == 0, made.stderr
    with _open(store_uri) as store:
        before = snapshot(store)
    refused = {
        ("interact", "  u5  ", "1", "--rating", "2"): "user_id '  u5  ' begins or ends with "
        "whitespace, which ingestion trims from ids; pass 'u5'",
        ("interact", "1", "1", "--rating", "50"): "rating '50.0' is out of range 0.5 to 5",
        ("interact", "1", "1", "--rating", "-1e9"): "is out of range 0.5 to 5",
        ("interact", "1", "1", "--rating", "nan"): "rating nan is not a number",
        ("interact", "1", "1", "--rating", "3", "--ts", "-7"): "field 'ts'",
        ("interact", "1", "1", "--kind", "rating"): "kind 'rating' needs a rating",
        ("add-item", " new ", "--title", "New"): "item_id ' new ' begins or ends with whitespace",
        ("add-item", "new", "--title", " "): "field 'title'",
    }
    for args, message in refused.items():
        line = error_line(kgrec(*base, *args))
        assert message in line, (args, line)
    with _open(store_uri) as store:
        assert snapshot(store) == before
    older = kgrec(*base, "--json", "interact", "1", "1", "--rating", "1", "--ts", "50")
    assert older.returncode == 0, older.stderr
    result = json.loads(older.stdout)
    assert (result["created"], result["updated"], result["kept_newer"]) == (0, 0, 1)
    plain = kgrec(*base, "interact", "1", "1", "--rating", "1", "--ts", "50")
    assert "is stored with a later timestamp, which wins; nothing changed" in plain.stdout
    added = kgrec(*base, "add-item", "new", "--title", "New", "--tag", "Space  Horror")
    assert added.returncode == 0, added.stderr
    with _open(store_uri) as store:
        assert snapshot(store)[2] == before[2]  # interactions: the older --ts changed nothing
        tags = store.run("MATCH (:Item {id: 'new'})-[:HAS_TAG]->(t:Tag) RETURN t.name AS t")
    assert tags == [{"t": "space horror"}]


def test_option_ranges_are_usage_errors(tmp_path, kgrec):
    base = ["--store", str(tmp_path / "none"), "--model-dir", str(tmp_path / "models")]
    for args in (
        ["train", "--if-stale", "--stale-share", "2"],
        ["train", "--if-stale", "--stale-share", "0"],
        ["recommend", "1", "--k", "0"],
        ["recommend", "1", "--k", "-1"],
    ):
        done = kgrec(*base, *args)
        assert done.returncode == 2, (args, done.stdout, done.stderr)
        assert "Traceback" not in done.stderr
        assert ("--stale-share" if "train" in args else "--k") in done.stderr
