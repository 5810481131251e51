"""`kgrec train / recommend / explain / bench explain / query` as an operator and an
application run them, on a small synthetic world in a real embedded store."""

from __future__ import annotations

import json
import os
import shutil

import pytest

from kgrec.loaders import generate_synthetic


def at(root) -> list[str]:
    """The global options naming the store and model directory under ``root``."""
    return ["--store", str(root / "store"), "--model-dir", str(root / "models")]


@pytest.fixture(scope="module")
def trained(tmp_path_factory, cache_dir, kgrec):
    root = tmp_path_factory.mktemp("cli-model")
    ingest = kgrec(
        *at(root),
        "--quiet",
        "ingest",
        "synthetic",
        "--users",
        "60",
        "--items",
        "90",
        "--tags",
        "12",
        "--interactions",
        "1500",
        "--seed",
        "3",
    )
    assert ingest.returncode == 0, ingest.stderr
    train = kgrec(*at(root), "--json", "train", "--epochs", "6", "--device", "cpu")
    assert train.returncode == 0, train.stderr
    return root, json.loads(train.stdout)


def test_train_json_reports_test_metrics_and_promotes(trained, kgrec):
    root, result = trained
    assert result["promoted"] is True and result["exit_code"] == 0
    for key in ("recall@20", "ndcg@20", "recall@10", "precision@20", "val/recall@20"):
        assert 0.0 <= result[key] <= 1.0, key
    assert (root / "models" / "live").resolve().name == result["version"]
    [row] = json.loads(kgrec(*at(root), "--json", "query", "recommendation_coverage").stdout)
    assert row["model_versions"] == [result["version"]]
    dataset = generate_synthetic(60, 90, 12, 1500, seed=3)  # what `ingest synthetic` stored
    per_user = dataset.interactions.groupby("user_id")["item_id"].nunique()
    assert row["users_with_recommendations"] == int((per_user < 90).sum())  # some saw all


def test_train_with_bad_arguments_exits_2_and_keeps_live(trained, kgrec):
    root, result = trained
    bad = kgrec(*at(root), "--json", "train", "--model", "transformer")
    assert bad.returncode == 2
    assert (root / "models" / "live").resolve().name == result["version"]


def test_recommend_json_and_explain_html(trained, tmp_path, kgrec):
    root, result = trained
    out = kgrec(*at(root), "--json", "recommend", "u1", "--k", "5")
    assert out.returncode == 0, out.stderr
    answer = json.loads(out.stdout)
    assert answer["user_id"] == "u1" and answer["model_version"] == result["version"]
    recs = answer["recommendations"]
    assert [r["rank"] for r in recs] == [1, 2, 3, 4, 5]
    item = recs[0]["item_id"]
    page = tmp_path / "why.html"
    ex = kgrec(*at(root), "--json", "explain", "u1", item, "--html", str(page))
    assert ex.returncode == 0, ex.stderr
    explanation = json.loads(ex.stdout)
    assert explanation["item_id"] == item
    html = page.read_text(encoding="utf-8")
    for path in explanation["paths"]:
        for node in path["nodes"]:
            assert f'data-id="{node["kind"]}:{node["id"]}"' in html


def test_recommend_for_several_users_in_one_call(trained, kgrec):
    root, result = trained
    out = kgrec("recommend", "u3", "u1", "u2", "--k", "3", "--json", *at(root))
    assert out.returncode == 0, out.stderr
    answers = json.loads(out.stdout)
    assert list(answers) == ["u3", "u1", "u2"]
    for user, answer in answers.items():
        assert answer["user_id"] == user and answer["model_version"] == result["version"]
        assert [r["rank"] for r in answer["recommendations"]] == [1, 2, 3]
    alone = json.loads(kgrec(*at(root), "--json", "recommend", "u1", "--k", "3").stdout)
    together = answers["u1"]["recommendations"]
    assert [r["item_id"] for r in together] == [r["item_id"] for r in alone["recommendations"]]
    # one float32 product for three users or for one: equal up to rounding
    assert [r["score"] for r in together] == pytest.approx(
        [r["score"] for r in alone["recommendations"]], rel=1e-5
    )
    text = kgrec(*at(root), "recommend", "u1", "u2", "--k", "3")
    assert text.returncode == 0, text.stderr
    version = result["version"]
    assert f"user u1 (model {version})" in text.stdout
    assert f"user u2 (model {version})" in text.stdout


def test_unknown_user_is_one_line(trained, kgrec):
    root, _ = trained
    out = kgrec(*at(root), "recommend", "nobody")
    assert out.returncode == 1
    assert out.stderr.startswith("error: unknown user 'nobody'")
    assert len(out.stderr.strip().splitlines()) == 1


def test_bench_explain_json(trained, kgrec):
    root, _ = trained
    out = kgrec(*at(root), "--json", "bench", "explain", "--users", "8", "--k", "5")
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["users"] == 8 and report["recommendations"] == 40
    assert 0.0 < report["coverage"] <= 1.0
    assert 1.0 <= report["mean_path_length"] <= 3.0


def _store_versions(root) -> dict:
    from kgrec.kg import open_store

    with open_store(str(root / "store")) as store:
        return {
            "users": {r["v"] for r in store.run("MATCH (u:User) RETURN u.model_version AS v")},
            "items": {
                r["v"] for r in store.run("MATCH (v:ItemVector) RETURN v.model_version AS v")
            },
            "recommended": {
                r["v"]
                for r in store.run("MATCH ()-[r:RECOMMENDED]->() RETURN r.model_version AS v")
            },
        }


def test_model_status_and_repair_of_an_unfinished_write_back(trained, kgrec):
    from kgrec.kg import open_store

    root, result = trained
    version = result["version"]
    status = json.loads(kgrec(*at(root), "--json", "model", "status").stdout)
    assert status["live_version"] == version and status["write_back"]["in_sync"] is True
    # what a job killed mid write-back leaves: the state node says started, not complete
    with open_store(str(root / "store")) as store:
        store.write("MATCH (s:ModelState {key: 'write_back'}) SET s.complete = false")
    text = kgrec(*at(root), "model", "status")
    assert text.returncode == 0, text.stderr
    assert "write-back  INCOMPLETE: started" in text.stdout and "kgrec model repair" in text.stdout
    repaired = kgrec(*at(root), "--quiet", "model", "repair")
    assert repaired.returncode == 0, repaired.stderr
    assert repaired.stdout.startswith(f"wrote back {version}: 60 users, 90 items")
    again = kgrec(*at(root), "model", "repair")
    assert again.returncode == 0 and again.stdout.startswith("nothing to repair")
    status = json.loads(kgrec(*at(root), "--json", "model", "status").stdout)
    assert status["write_back"]["in_sync"] is True
    assert _store_versions(root) == {
        "users": {version},
        "items": {version},
        "recommended": {version},
    }


def test_model_promote_checks_files_and_writes_back(trained, kgrec, error_line):
    root, result = trained
    first = result["version"]
    # a second version that the gate refuses (--tolerance -1): stored, not live
    second = kgrec(
        *at(root), "--json", "train", "--epochs", "1", "--device", "cpu", "--tolerance", "-1"
    )
    assert second.returncode == 3, second.stderr
    other = json.loads(second.stdout)["version"]
    listing = json.loads(kgrec(*at(root), "model", "list", "--json").stdout)
    assert [(v["version"], v["live"]) for v in listing][-2:] == [(first, True), (other, False)]
    text = kgrec(*at(root), "model", "list")
    assert text.returncode == 0, text.stderr
    rows = {
        line.split()[1] if line.startswith("*") else line.split()[0]: line
        for line in text.stdout.splitlines()[2:]
    }
    for version in (first, other):
        entry = next(v for v in listing if v["version"] == version)
        assert entry["created"] in rows[version] and entry["model"] in rows[version]
        assert f"{entry['recall@20']:.4f}" in rows[version]
    assert rows[first].rstrip().endswith(" live")
    assert "rejected (" in rows[other]  # the gate refused it, and the row says why
    assert rows[first].startswith("*") and not rows[other].startswith("*")
    try:
        out = kgrec(*at(root), "--quiet", "model", "promote", other)
        assert out.returncode == 0, out.stderr
        assert out.stdout.startswith(f"promoted {other} (was {first}); wrote back 60 users")
        assert (root / "models" / "live").resolve().name == other
        status = json.loads(kgrec(*at(root), "--json", "model", "status").stdout)
        assert status["live_version"] == other and status["write_back"]["in_sync"] is True
        # a node keeps the version that wrote its vector when the new one did not move it
        held = _store_versions(root)
        assert held["users"] and held["items"] and held["recommended"]
        assert set().union(*held.values()) <= {first, other}
        unknown = error_line(kgrec(*at(root), "model", "promote", "19990101"))
        assert "no version '19990101'" in unknown and "kgrec model list" in unknown
        damaged = root / "models" / "versions" / first / "embeddings.pt"
        saved = damaged.read_bytes()
        damaged.write_bytes(b"")
        try:
            line = error_line(kgrec(*at(root), "model", "promote", first))
            assert f"model file {damaged} is corrupt" in line
            assert (root / "models" / "live").resolve().name == other  # unchanged
        finally:
            damaged.write_bytes(saved)
    finally:
        back = kgrec(*at(root), "--quiet", "model", "promote", first.rsplit("-", 1)[0])  # a prefix
        assert back.returncode == 0, back.stderr
    assert (root / "models" / "live").resolve().name == first
    assert _store_versions(root)["recommended"] <= {first, other}


def test_train_on_an_empty_store_is_one_line(tmp_path, kgrec, error_line):
    from kgrec.kg import open_store

    try:
        open_store(str(tmp_path / "store"), create=True).close()
    except TypeError:  # a store that opening creates
        open_store(str(tmp_path / "store")).close()
    out = kgrec(*at(tmp_path), "--quiet", "train", "--epochs", "1")
    line = error_line(out)
    assert line.startswith(
        f"error: the store {tmp_path / 'store'} holds 0 interactions; ingest data first"
    )
    assert not (tmp_path / "models" / "live").exists()


def test_train_with_too_few_interactions_to_split_is_one_line(
    tmp_path, cache_dir, kgrec, error_line
):
    ratings = tmp_path / "few.csv"
    ratings.write_text("user_id,item_id,rating,ts\na,x,4,1\na,y,3,2\nb,x,5,3\nb,z,2,4\n")
    ingest = kgrec(
        *at(tmp_path),
        "--quiet",
        "ingest",
        "csv",
        str(ratings),
        "--rating-col",
        "rating",
        "--ts-col",
        "ts",
    )
    assert ingest.returncode == 0, ingest.stderr
    line = error_line(kgrec(*at(tmp_path), "--quiet", "train", "--epochs", "1"))
    assert line.startswith("error: too few interactions to split: 4 interactions of 2 users")
    assert "ingest more interactions or try --split random" in line


def test_model_prune_reports_kept_and_removed_and_rollback_is_recorded(tmp_path, kgrec):
    made = kgrec(
        *at(tmp_path),
        "--quiet",
        "ingest",
        "synthetic",
        "--users",
        "30",
        "--items",
        "40",
        "--tags",
        "6",
        "--interactions",
        "500",
        "--seed",
        "5",
    )
    assert made.returncode == 0, made.stderr
    versions = []
    for tolerance in ("1", "1", "-1"):  # promoted, promoted (live), refused
        run = kgrec(
            *at(tmp_path),
            "--quiet",
            "--json",
            "train",
            "--epochs",
            "1",
            "--device",
            "cpu",
            "--tolerance",
            tolerance,
        )
        assert run.returncode in (0, 3), run.stderr
        versions.append(json.loads(run.stdout)["version"])
    assert (tmp_path / "models" / "live").resolve().name == versions[1]
    refused = kgrec(*at(tmp_path), "model", "prune", "--keep", "0")
    assert refused.returncode == 2 and "--keep" in refused.stderr
    out = kgrec(*at(tmp_path), "--json", "model", "prune", "--keep", "2")
    assert out.returncode == 0, out.stderr
    # the older promoted version stays, the newer rejected one goes
    assert json.loads(out.stdout) == {"kept": versions[:2], "removed": [versions[2]]}
    text = kgrec(*at(tmp_path), "model", "prune", "--keep", "2")
    assert text.stdout.splitlines() == [f"kept 2: {versions[0]}, {versions[1]}", "removed 0: none"]
    back = kgrec(*at(tmp_path), "--quiet", "--json", "model", "rollback")
    assert back.returncode == 0, back.stderr
    answer = json.loads(back.stdout)
    assert (answer["version"], answer["previous"], answer["event"]) == (
        versions[0],
        versions[1],
        "rollback",
    )
    assert (tmp_path / "models" / "live").resolve().name == versions[0]
    last = json.loads((tmp_path / "models" / "history.jsonl").read_text().splitlines()[-1])
    assert (last["version"], last["event"]) == (versions[0], "rollback")
    listing = {
        v["version"]: v for v in json.loads(kgrec(*at(tmp_path), "--json", "model", "list").stdout)
    }
    assert listing[versions[0]]["event"] == "rollback" and listing[versions[0]]["live"]
    table = kgrec(*at(tmp_path), "model", "list").stdout
    assert f"live (rolled back from {versions[1]})" in table
    assert kgrec(*at(tmp_path), "--json", "model", "prune", "--keep", "1").returncode == 0
    assert json.loads(kgrec(*at(tmp_path), "--json", "model", "list").stdout)[0]["live"]
    nothing = kgrec(*at(tmp_path), "--json", "model", "rollback")
    assert nothing.returncode == 1
    assert "no version that was live before" in json.loads(nothing.stdout)["error"]["message"]


def _copy_models(root, tmp_path) -> list[str]:
    """``--store`` of ``root`` and ``--model-dir`` a copy of its models (to damage)."""
    shutil.copytree(root / "models", tmp_path / "models", symlinks=True)
    return ["--store", str(root / "store"), "--model-dir", str(tmp_path / "models")]


def test_model_list_and_status_find_a_live_model_of_random_bytes(trained, kgrec, tmp_path):
    root, result = trained
    where = _copy_models(root, tmp_path)
    healthy = json.loads(kgrec(*where, "--json", "model", "list").stdout)
    assert all(v["checksums"] and v["problem"] is None for v in healthy)
    model_pt = (tmp_path / "models" / "live").resolve() / "model.pt"
    model_pt.write_bytes(os.urandom(model_pt.stat().st_size))
    listing = kgrec(*where, "--json", "model", "list")
    assert listing.returncode == 0, listing.stderr
    [live] = [v for v in json.loads(listing.stdout) if v["live"]]
    assert f"model file {model_pt} is corrupt: its sha256 differs" in live["problem"]
    assert "damaged: model file" in kgrec(*where, "model", "list").stdout
    status = kgrec(*where, "--json", "model", "status")
    assert status.returncode == 0, status.stderr
    assert "its sha256 differs" in json.loads(status.stdout)["live_problem"]
    assert "problem     model file" in kgrec(*where, "model", "status").stdout


def test_history_with_bytes_that_are_not_utf8_is_one_warning(trained, kgrec, tmp_path):
    root, result = trained
    where = _copy_models(root, tmp_path)
    with open(tmp_path / "models" / "history.jsonl", "ab") as fh:
        fh.write(b'{"version": "\xff\xfe", "event": "promoted"}\n')
    for command in (["model", "list"], ["model", "status"]):
        out = kgrec(*where, *command)
        assert out.returncode == 0, out.stderr
        assert "Traceback" not in out.stderr
        [line] = out.stderr.splitlines()
        assert "history.jsonl: skipped 1 line(s) that are not UTF-8 JSON events" in line
    listing = json.loads(kgrec(*where, "--json", "model", "list").stdout)
    assert [v["version"] for v in listing if v["live"]] == [result["version"]]


def test_recommend_many_answers_each_id_and_names_the_unknown_ones(trained, kgrec):
    from kgrec.app.recommender import Recommender
    from kgrec.core.errors import UnknownIdError

    root, result = trained
    with Recommender.open(str(root / "store"), root / "models") as rec:
        batch = rec.recommend_many(["u1", "nobody", "u2"], k=3, explain=False)
        assert list(batch) == ["u1", "u2"] and list(batch.errors) == ["nobody"]
        assert isinstance(batch.errors["nobody"], UnknownIdError)
        assert [r.item_id for r in batch["u1"]] == [
            r.item_id for r in rec.recommend("u1", k=3, explain=False)
        ]
        with pytest.raises(UnknownIdError, match="unknown user 'nobody'"):
            rec.recommend("nobody")
    out = kgrec(*at(root), "--json", "recommend", "u1", "nobody", "--k", "2")
    assert out.returncode == 1
    answer = json.loads(out.stdout)
    assert len(answer["u1"]["recommendations"]) == 2
    assert answer["nobody"]["error"]["type"] == "UnknownIdError"
    text = kgrec(*at(root), "recommend", "u1", "nobody", "--k", "2")
    assert text.returncode == 1 and "user u1 (model" in text.stdout
    assert text.stderr.startswith("error: unknown user 'nobody'")


def test_similar_items_have_one_shape_named_for_what_they_rank_by(trained, kgrec):
    from kgrec.app.recommender import Recommender

    root, _ = trained
    with Recommender.open(str(root / "store"), root / "models") as rec:
        by_model = rec.similar_items("i1", k=4)
        by_text = rec.similar_items("i1", k=4, by="text")
    assert [set(r) for r in by_model] == [{"item_id", "title", "model_similarity"}] * 4
    assert [set(r) for r in by_text] == [{"item_id", "title", "text_similarity"}] * 4
    for by, expected in (("model", by_model), ("text", by_text)):
        out = kgrec(*at(root), "--json", "similar", "i1", "--k", "4", "--by", by)
        assert out.returncode == 0, out.stderr
        rows = json.loads(out.stdout)
        assert [r["item_id"] for r in rows] == [r["item_id"] for r in expected]
        assert [r[f"{by}_similarity"] for r in rows] == pytest.approx(
            [r[f"{by}_similarity"] for r in expected], abs=1e-5
        )
    assert kgrec(*at(root), "similar", "i1", "--by", "words").returncode == 2
