"""`kgrec query` as an analyst runs it: --list, the three formats, one-line errors."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys

from kgrec.queries.runner import list_queries, run_query


def kgrec(store, *args):
    return subprocess.run(
        [sys.executable, "-m", "kgrec.cli.main", "--store", str(store.data_dir),
         "--graph", store.graph_name, *args],
        capture_output=True, text=True, env={**os.environ},
    )  # fmt: skip


def test_list_names_every_query_with_its_parameters(tiny_store):
    result = kgrec(tiny_store, "query", "--list")
    assert result.returncode == 0, result.stderr
    for q in list_queries():
        assert f"{q['name']}: {q['summary']}" in result.stdout
        for p in q["params"]:
            assert p["signature"] in result.stdout


def test_formats_carry_the_same_rows(tiny_store):
    expected = run_query(tiny_store, "also_liked", {"item_id": "i1"})
    args = ("query", "also_liked", "--param", "item_id=i1")
    as_json = kgrec(tiny_store, *args, "--format", "json")
    assert as_json.returncode == 0, as_json.stderr
    assert json.loads(as_json.stdout) == expected
    as_csv = kgrec(tiny_store, *args, "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    assert [r["item_id"] for r in rows] == [r["item_id"] for r in expected]
    as_table = kgrec(tiny_store, *args)
    lines = as_table.stdout.splitlines()
    assert lines[0].split() == list(expected[0])
    assert len(lines) == 2 + len(expected)


def test_bad_parameters_fail_with_one_line(tiny_store):
    missing = kgrec(tiny_store, "query", "also_liked")
    assert missing.returncode == 1
    assert len(missing.stderr.strip().splitlines()) == 1
    assert "missing parameter $item_id" in missing.stderr
    wrong = kgrec(tiny_store, "query", "also_liked", "-p", "item_id=i1", "-p", "k=many")
    assert wrong.returncode == 1 and "$k expects INTEGER, got 'many'" in wrong.stderr
    malformed = kgrec(tiny_store, "query", "also_liked", "-p", "item_id")
    assert malformed.returncode == 1 and "expected KEY=VALUE" in malformed.stderr
    unknown = kgrec(tiny_store, "query", "no_such_query")
    assert unknown.returncode == 1 and "also_liked" in unknown.stderr
