"""What a command writes where: results on stdout, timestamped logs and progress on stderr,
nothing at all under --quiet (the embedding model's own bars included); under --json one
JSON document on stdout whatever happens, and JSON lines on stderr."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

SMALL_WORLD = [
    "ingest",
    "synthetic",
    "--users",
    "8",
    "--items",
    "12",
    "--tags",
    "4",
    "--interactions",
    "30",
]
LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4} WARNING kgrec\.\S+: ")


def test_quiet_shows_no_bar_even_when_the_model_loads(tmp_path, kgrec):
    fresh = {"KGREC_CACHE_DIR": str(tmp_path / "cache")}  # nothing cached: texts are embedded
    quiet = kgrec(*SMALL_WORLD, "--store", str(tmp_path / "a"), "--quiet", env=fresh)
    assert quiet.returncode == 0, quiet.stderr
    assert quiet.stderr == ""
    assert "texts embedded: 16" in quiet.stdout  # 12 items and 4 tags went through the model


def test_progress_counts_rows_and_texts(tmp_path, kgrec):
    fresh = {"KGREC_CACHE_DIR": str(tmp_path / "cache")}
    shown = kgrec(*SMALL_WORLD, "--store", str(tmp_path / "b"), env=fresh)
    assert shown.returncode == 0, shown.stderr
    assert "merge_interactions" in shown.stderr and "row/s" in shown.stderr
    assert "embedding" in shown.stderr and "text/s" in shown.stderr
    assert "it/s" not in shown.stderr and "Batches" not in shown.stderr
    assert "Loading weights" not in shown.stderr


def _warning_ingest(tmp_path, store: str) -> list[str]:
    """An ingest of items that already exist (it logs one warning)."""
    ratings = tmp_path / "r.csv"
    ratings.write_text("user_id,item_id\nx,i1\nx,i2\n")
    items = tmp_path / "items.csv"
    items.write_text("id,title\ni1,Same id as a synthetic item\ni2,Another\n")
    return ["ingest", "csv", str(ratings), "--items", str(items), "--store", store]


def test_warnings_go_to_stderr_with_a_time(tmp_path, kgrec):
    store = str(tmp_path / "s")
    assert kgrec(*SMALL_WORLD, "--store", store, "--quiet").returncode == 0
    out = kgrec(*_warning_ingest(tmp_path, store))
    assert out.returncode == 0, out.stderr
    warnings = [line for line in out.stderr.splitlines() if "already exist" in line]
    assert len(warnings) == 1 and LOG_LINE.match(warnings[0]), out.stderr


def test_json_keeps_stdout_one_document_and_makes_stderr_json_lines(tmp_path, kgrec):
    store = str(tmp_path / "s")
    fresh = {"KGREC_CACHE_DIR": str(tmp_path / "cache")}
    shown = kgrec(*SMALL_WORLD, "--store", store, "--json", env=fresh)
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["dataset"] == "synthetic"
    assert "row/s" in shown.stderr  # progress stays on stderr with --json
    out = kgrec(*_warning_ingest(tmp_path, store), "--json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["dataset"] == "csv"
    [warning] = [json.loads(line) for line in out.stderr.splitlines() if "already exist" in line]
    assert warning["level"] == "warning" and warning["logger"].startswith("kgrec.")
    assert datetime.fromisoformat(warning["time"]).tzinfo is not None
    quiet = kgrec(*_warning_ingest(tmp_path, store), "--json", "--quiet")
    assert [json.loads(line)["level"] for line in quiet.stderr.splitlines()] == ["warning"]


USAGE_ERRORS = {
    ("--json", "train", "--bogus"): "No such option: --bogus",
    ("train", "--bogus", "--json"): "No such option: --bogus",
    ("--json", "--bogus", "stats"): "No such option: --bogus",
    ("--json", "model"): "Missing command.",
    ("--json",): "Missing command.",
    ("--json", "model", "prune", "--keep", "0"): "'--keep'",
    ("--json", "similar"): "Missing argument 'item'",
}


@pytest.mark.parametrize("args", list(USAGE_ERRORS))
def test_usage_errors_under_json_are_one_document_on_stdout(kgrec, args):
    out = kgrec(*args)
    assert out.returncode == 2, out.stderr
    [line] = out.stdout.splitlines()
    document = json.loads(line)
    assert set(document) == {"error", "time"} and set(document["error"]) == {"type", "message"}
    assert USAGE_ERRORS[args] in document["error"]["message"]
    assert out.stderr == ""


def test_cron_recipe_appends_valid_jsonl_on_failure_and_success(tmp_path, kgrec):
    root = tmp_path / "w"
    made = kgrec(
        "--quiet",
        "--store",
        str(root / "store"),
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
    )
    assert made.returncode == 0, made.stderr
    log = tmp_path / "kgrec-train.jsonl"
    kgrec_cmd = f"{shlex.quote(sys.executable)} -m kgrec.cli.main"

    def cron(store: Path, *options: str) -> int:
        line = (
            f"{kgrec_cmd} --quiet --json train --store {shlex.quote(str(store))} "
            f"--model-dir {shlex.quote(str(root / 'models'))} --epochs 1 --device cpu "
            f"{' '.join(options)} >> {shlex.quote(str(log))} 2>&1"
        )
        return subprocess.run(["bash", "-c", line], env=os.environ.copy()).returncode

    assert cron(root / "missing") == 1  # no store
    assert cron(root / "store") == 0  # trained and promoted
    assert cron(root / "store", "--tolerance", "-1") == 3  # refused: a warning is logged
    assert cron(root / "store", "--bogus") == 2  # usage error
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert len(lines) >= 4
    for line in lines:
        assert datetime.fromisoformat(line["time"]).tzinfo is not None
    errors = [line["error"]["type"] for line in lines if "error" in line]
    assert errors == ["StoreUnavailable", "NoSuchOption"]
    results = [line for line in lines if "promoted" in line]
    assert [r["promoted"] for r in results] == [True, False]
    assert any(
        line.get("level") == "warning" and "not promoting" in line["message"] for line in lines
    )


def test_store_status_exits_3_when_stopped(tmp_path, kgrec):
    store = str(tmp_path / "s")
    assert kgrec(*SMALL_WORLD, "--store", store, "--quiet").returncode == 0
    stopped = kgrec("--json", "store", "status", "--store", store)
    assert stopped.returncode == 3, stopped.stderr
    assert json.loads(stopped.stdout)["running"] is False
    assert kgrec("store", "start", "--store", store).returncode == 0
    try:
        running = kgrec("store", "status", "--store", store)
        assert running.returncode == 0, running.stderr
    finally:
        assert kgrec("store", "stop", "--store", store).returncode == 0
    assert kgrec("store", "status", "--store", store).returncode == 3


def test_query_file_that_is_not_utf8_is_one_line(tmp_path, kgrec, error_line):
    statement = tmp_path / "q.cypher"
    statement.write_bytes(b"MATCH (i:Item) RETURN i.title AS t // caf\xe9\n")
    line = error_line(kgrec("query", "--file", str(statement), "--store", str(tmp_path)), 2)
    assert line == (
        f"error: {statement}: not UTF-8 text (byte 0xe9 at offset 41); save the statement as UTF-8"
    )
