"""`kgrec train / recommend / explain / bench explain / query` as an operator and an
application run them, on a small synthetic world in a real embedded store."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from kgrec.loaders import generate_synthetic


def kgrec(root, *args):
    return subprocess.run(
        [sys.executable, "-m", "kgrec.cli.main", "--store", str(root / "store"),
         "--model-dir", str(root / "models"), *args],
        capture_output=True, text=True, env={**os.environ},
    )  # fmt: skip


@pytest.fixture(scope="module")
def trained(tmp_path_factory, cache_dir):
    root = tmp_path_factory.mktemp("cli-model")
    ingest = kgrec(root, "--quiet", "ingest", "synthetic", "--users", "60", "--items", "90",
                   "--tags", "12", "--interactions", "1500", "--seed", "3")  # fmt: skip
    assert ingest.returncode == 0, ingest.stderr
    train = kgrec(root, "--json", "train", "--epochs", "6", "--device", "cpu")
    assert train.returncode == 0, train.stderr
    return root, json.loads(train.stdout)


def test_train_json_reports_test_metrics_and_promotes(trained):
    root, result = trained
    assert result["promoted"] is True and result["exit_code"] == 0
    for key in ("recall@20", "ndcg@20", "recall@10", "precision@20", "val/recall@20"):
        assert 0.0 <= result[key] <= 1.0, key
    assert (root / "models" / "live").resolve().name == result["version"]
    [row] = json.loads(kgrec(root, "--json", "query", "recommendation_coverage").stdout)
    assert row["model_versions"] == [result["version"]]
    dataset = generate_synthetic(60, 90, 12, 1500, seed=3)  # what `ingest synthetic` stored
    per_user = dataset.interactions.groupby("user_id")["item_id"].nunique()
    assert row["users_with_recommendations"] == int((per_user < 90).sum())  # some saw all


def test_train_with_bad_arguments_exits_2_and_keeps_live(trained):
    root, result = trained
    bad = kgrec(root, "--json", "train", "--model", "transformer")
    assert bad.returncode == 2
    assert (root / "models" / "live").resolve().name == result["version"]


def test_recommend_json_and_explain_html(trained, tmp_path):
    root, _ = trained
    out = kgrec(root, "--json", "recommend", "u1", "--k", "5")
    assert out.returncode == 0, out.stderr
    recs = json.loads(out.stdout)
    assert [r["rank"] for r in recs] == [1, 2, 3, 4, 5]
    item = recs[0]["item_id"]
    page = tmp_path / "why.html"
    ex = kgrec(root, "--json", "explain", "u1", item, "--html", str(page))
    assert ex.returncode == 0, ex.stderr
    explanation = json.loads(ex.stdout)
    assert explanation["item_id"] == item
    html = page.read_text(encoding="utf-8")
    for path in explanation["paths"]:
        for node in path["nodes"]:
            assert f'data-id="{node["kind"]}:{node["id"]}"' in html


def test_unknown_user_is_one_line(trained):
    root, _ = trained
    out = kgrec(root, "recommend", "nobody")
    assert out.returncode == 1
    assert out.stderr.startswith("error: unknown user 'nobody'")
    assert len(out.stderr.strip().splitlines()) == 1


def test_bench_explain_json(trained):
    root, _ = trained
    out = kgrec(root, "--json", "bench", "explain", "--users", "8", "--k", "5")
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["users"] == 8 and report["recommendations"] == 40
    assert 0.0 < report["coverage"] <= 1.0
    assert 1.0 <= report["mean_path_length"] <= 3.0
