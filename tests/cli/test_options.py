"""Global options typed before or after the command mean the same; errors are one line with
the documented exit code."""

from __future__ import annotations

import json

import pytest

from kgrec.cli.options import hoist_options

FLAGS = {"--json", "--quiet", "-q"}
VALUED = {"--store", "--graph"}


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["stats", "--json"], ["--json", "stats"]),
        (["similar", "1", "--k", "10", "--json"], ["--json", "similar", "1", "--k", "10"]),
        (["recommend", "u1", "--store", "D"], ["--store", "D", "recommend", "u1"]),
        (
            ["ingest", "csv", "a", "--store=D", "b", "-q"],
            ["--store=D", "-q", "ingest", "csv", "a", "b"],
        ),
        (["--json", "stats", "--store", "D"], ["--json", "--store", "D", "stats"]),
        (["query", "q", "--", "--json"], ["query", "q", "--", "--json"]),
        (["query", "q", "-p", "k=--json"], ["query", "q", "-p", "k=--json"]),
    ],
)
def test_hoist_moves_global_options_to_the_front(args, expected):
    assert hoist_options(args, FLAGS, VALUED) == expected


def test_a_trailing_valued_option_without_value_is_left_for_the_parser():
    assert hoist_options(["stats", "--store"], FLAGS, VALUED) == ["stats", "--store"]


@pytest.fixture(scope="module")
def small_store(tmp_path_factory, cache_dir, kgrec):
    """An embedded store holding a small synthetic world."""
    store = tmp_path_factory.mktemp("options") / "store"
    result = kgrec(
        "ingest",
        "synthetic",
        "--users",
        "12",
        "--items",
        "20",
        "--tags",
        "6",
        "--interactions",
        "60",
        "--store",
        str(store),
        "--quiet",
    )
    assert result.returncode == 0, result.stderr
    return str(store)


@pytest.mark.parametrize(
    "command",
    [
        ["stats"],
        ["query", "--list"],
        ["similar", "i1", "--k", "3"],
        ["query", "popular_items", "-p", "k=3"],
    ],
    ids=["stats", "query-list", "similar", "query"],
)
def test_global_options_after_the_command_equal_those_before(small_store, kgrec, command):
    before = kgrec("--json", "--store", small_store, *command)
    after = kgrec(*command, "--store", small_store, "--json")
    assert before.returncode == 0, before.stderr
    assert after.returncode == 0, after.stderr
    assert json.loads(after.stdout) == json.loads(before.stdout)


def test_store_after_the_command_is_the_store_used(small_store, kgrec, tmp_path):
    counts = json.loads(kgrec("stats", "--json", "--store", small_store).stdout)
    assert counts["users"] == 12 and counts["items"] == 20
    missing = tmp_path / "elsewhere"
    result = kgrec("--store", small_store, "stats", "--store", str(missing))  # last one wins
    assert result.returncode == 1 and f"no kgrec store at {missing}" in result.stderr


def test_usage_error_is_one_line_exit_2_and_json_object_on_stdout(kgrec, error_line, tmp_path):
    args = ["ingest", "synthetic", "--users", "10", "--items", "2", "--store", str(tmp_path / "s")]
    line = error_line(kgrec(*args), 2)
    assert "num_items must be at least 3" in line
    as_json = kgrec(*args, "--json")
    assert as_json.returncode == 2
    assert json.loads(as_json.stdout)["error"]["type"] == "InvalidParameter"
    assert not (tmp_path / "s").exists()


def test_debug_after_the_command_shows_the_traceback(kgrec, tmp_path):
    args = ["stats", "--store", str(tmp_path / "missing")]
    assert "Traceback" not in kgrec(*args).stderr
    debug = kgrec(*args, "--debug")
    assert debug.returncode == 1 and "StoreUnavailable" in debug.stderr
    assert "Traceback" in debug.stderr


def test_unknown_option_is_a_usage_error(kgrec):
    result = kgrec("stats", "--no-such-option")
    assert result.returncode == 2 and "--no-such-option" in result.stderr
