"""What a command writes where: results on stdout, timestamped logs and progress on stderr,
nothing at all under --quiet (the embedding model's own bars included)."""

from __future__ import annotations

import json
import re

SMALL_WORLD = ["ingest", "synthetic", "--users", "8", "--items", "12", "--tags", "4",
               "--interactions", "30"]  # fmt: skip
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


def test_json_stdout_stays_json_while_warnings_go_to_stderr_with_a_time(tmp_path, kgrec):
    store = str(tmp_path / "s")
    assert kgrec(*SMALL_WORLD, "--store", store, "--quiet").returncode == 0
    ratings = tmp_path / "r.csv"
    ratings.write_text("user_id,item_id\nx,i1\nx,i2\n")
    items = tmp_path / "items.csv"
    items.write_text("id,title\ni1,Same id as a synthetic item\ni2,Another\n")
    # the items name items the synthetic dataset created: ingest warns (a log line)
    out = kgrec("ingest", "csv", str(ratings), "--items", str(items), "--store", store, "--json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["dataset"] == "csv"
    warnings = [line for line in out.stderr.splitlines() if "already exist" in line]
    assert len(warnings) == 1 and LOG_LINE.match(warnings[0]), out.stderr
