"""`kgrec interact`, `kgrec add-item` and `kgrec train --if-stale` as an operator runs them."""

from __future__ import annotations

import json


def test_interact_add_item_and_train_if_stale(tmp_path, cache_dir, store_uri, kgrec, error_line):
    models = str(tmp_path / "models")
    base = ["--quiet", "--store", store_uri, "--model-dir", models]
    made = kgrec(
        *base,
        "ingest",
        "synthetic",
        "--users",
        "40",
        "--items",
        "60",
        "--tags",
        "8",
        "--interactions",
        "800",
        "--seed",
        "1",
    )
    assert made.returncode == 0, made.stderr
    first = kgrec(*base, "--json", "train", "--if-stale", "--epochs", "2", "--device", "cpu")
    assert first.returncode == 0, first.stderr  # no live model: stale, so it trains
    assert json.loads(first.stdout)["promoted"]
    idle = kgrec(*base, "--json", "train", "--if-stale", "--stale-count", "2")
    assert idle.returncode == 0, idle.stderr
    state = json.loads(idle.stdout)
    assert state["training"] is False and state["new"] == 0 and "stay below" in state["reason"]
    added = kgrec(*base, "--json", "add-item", "fresh", "--title", "Fresh", "--tag", "t1")
    assert added.returncode == 0, added.stderr
    assert json.loads(added.stdout)["created"]
    for item in ("fresh", "i1"):
        done = kgrec(
            *base, "--json", "interact", "newcomer", item, "--rating", "4.5", "--ts", "1700000000"
        )
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["created"] == 1
    again = kgrec(*base, "interact", "newcomer", "i1", "--rating", "4.5", "--ts", "1700000000")
    assert again.returncode == 0 and "nothing changed" in again.stdout
    bad = kgrec(*base, "interact", "newcomer", "nowhere")
    assert "unknown item 'nowhere'" in error_line(bad)
    recs = kgrec(*base, "--json", "recommend", "newcomer", "--k", "3")
    assert recs.returncode == 0, recs.stderr
    assert {"fresh", "i1"}.isdisjoint(
        r["item_id"] for r in json.loads(recs.stdout)["recommendations"]
    )
    loud = ["--store", store_uri, "--model-dir", models]
    stale = kgrec(
        *loud, "train", "--if-stale", "--stale-count", "2", "--epochs", "2", "--device", "cpu"
    )
    assert stale.returncode in (0, 3), stale.stderr
    assert "training: 2 interactions since the live model" in stale.stderr
