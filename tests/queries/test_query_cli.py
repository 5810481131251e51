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
        [sys.executable, "-m", "kgrec.cli.main", "--store", store.uri,
         "--graph", getattr(store, "graph_name", "kgrec"), *args],
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


def _one_line(result) -> str:
    assert result.returncode == 1, (result.returncode, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: query "), result.stderr
    return lines[0]


def test_non_finite_floats_are_refused_before_the_store(tiny_store):
    for value in ("inf", "-inf", "1e999", "nan"):
        line = _one_line(kgrec(tiny_store, "query", "also_liked", "-p", "item_id=i1",
                               "-p", f"min_rating={value}"))  # fmt: skip
        assert f"parameter $min_rating expects FLOAT, got '{value}'" in line
        assert "pass a finite number" in line


def test_row_counts_must_be_1_to_a_million(tiny_store):
    for value in ("4294967296", "-1", "0", "1000001"):
        line = _one_line(kgrec(tiny_store, "query", "popular_items", "-p", f"k={value}"))
        assert f"parameter $k expects INTEGER, got '{value}'" in line
        assert "must be 1..1,000,000" in line and "k=10" in line
    ok = kgrec(tiny_store, "query", "popular_items", "-p", "k=1000000")
    assert ok.returncode == 0, ok.stderr
    # a slice end counts too: user_profile's $k cuts collect(tag)[..$k]
    line = _one_line(kgrec(tiny_store, "query", "user_profile", "-p", "user_id=u1", "-p", "k=-2"))
    assert "must be 1..1,000,000" in line


def test_odd_values_inside_lists_and_maps_are_refused(tiny_store):
    cases = {
        '[{"a`b": 1}]': "map key 'a`b' is not a plain identifier",
        '[{"a b": 1}]': "map key 'a b' is not a plain identifier",
        "[1e999]": "not a finite number",
        "[NaN]": "not a finite number",
        "[99999999999999999999]": "beyond the signed 64-bit range",
        '["i1\\u0000"]': "NUL character",
    }
    for value, reason in cases.items():
        line = _one_line(kgrec(tiny_store, "query", "item_details", "-p", f"item_ids={value}"))
        assert "parameter $item_ids expects LIST" in line and reason in line, line


def test_row_count_params_are_read_from_the_body():
    from kgrec.queries.params import row_count_params
    from kgrec.queries.runner import get_query

    assert row_count_params(get_query("also_liked")) == {"k"}
    assert row_count_params(get_query("user_profile")) == {"k"}
    assert row_count_params(get_query("explain_co_users")) == {"limit", "max_via"}
    assert row_count_params(get_query("item_details")) == set()


def test_control_characters_in_stored_text_are_printed_escaped(store):
    store.write("CREATE (:Item {id: 'x1', title: $title})",
                {"title": "\x1b[31mred\x1b[0m\rover\x07\u202egnp.exe\nline two\ttab"})  # fmt: skip
    base = [sys.executable, "-m", "kgrec.cli.main", "--store", store.uri,
            "--graph", getattr(store, "graph_name", "kgrec"),
            "query", "item_details", "-p", "item_ids=x1"]  # fmt: skip

    def run(*args):
        out = subprocess.run([*base, *args], capture_output=True, text=True)
        assert out.returncode == 0, out.stderr
        return out.stdout

    shown = r"\x1b[31mred\x1b[0m\rover\x07\u202egnp.exe"
    as_table = run()
    assert shown + r"\nline two\ttab" in as_table
    assert "\x1b" not in as_table and "\r" not in as_table and "\u202e" not in as_table
    assert len(as_table.splitlines()) == 3  # header, rule, one row
    as_csv = run("--format", "csv")
    assert "\x1b" not in as_csv and "\x07" not in as_csv and "\r" not in as_csv
    [row] = list(csv.DictReader(io.StringIO(as_csv)))
    assert row["title"] == shown + "\nline two\ttab"  # CSV keeps quoted line breaks and tabs
    as_json = run("--format", "json")
    assert "\x1b" not in as_json
    assert json.loads(as_json)[0]["title"].startswith("\x1b[31mred")  # JSON escapes itself
