"""Stored text reaches a terminal escaped in every command's plain output (explain, recommend
--explain, similar), while --json carries it unchanged: a title cannot recolour, ring, or
reverse the terminal of whoever reads it."""

from __future__ import annotations

import json
import re

import pytest

#: An escape sequence, a bell, a right-to-left override and a carriage return.
EVIL = "\x1b[31mred\x07bell\u202eevil\r"
RAW = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


@pytest.fixture(scope="module")
def evil_world(tmp_path_factory, cache_dir, kgrec):
    from kgrec.kg import open_store

    root = tmp_path_factory.mktemp("escapes")
    where = ["--store", str(root / "store"), "--model-dir", str(root / "models")]
    made = kgrec(
        *where,
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
        "2",
    )
    assert made.returncode == 0, made.stderr
    with open_store(str(root / "store")) as store:  # stored text as any writer could leave it
        store.write("MATCH (i:Item) SET i.title = i.id + $evil", {"evil": EVIL})
        store.write("MATCH (t:Tag) SET t.name = t.name + $evil", {"evil": EVIL})
    trained = kgrec(*where, "--quiet", "train", "--epochs", "1", "--device", "cpu")
    assert trained.returncode == 0, trained.stderr
    users = [f"u{n}" for n in range(1, 11)]
    answers = json.loads(kgrec(*where, "--json", "recommend", *users, "--k", "3").stdout)
    user = next(u for u in users if answers[u].get("recommendations"))  # one with items left
    return where, user


def _shown_escaped(out) -> None:
    assert out.returncode == 0, out.stderr
    assert not RAW.search(out.stdout + out.stderr), repr(out.stdout[:400])
    assert "\\x1b[31mred\\x07bell\\u202eevil\\r" in out.stdout


@pytest.mark.parametrize(
    "command",
    [
        ["recommend", "USER", "--k", "5", "--explain"],
        ["recommend", "USER", "u2", "u3", "--k", "3"],
        ["similar", "i1", "--k", "5"],
        ["similar", "i1", "--k", "5", "--by", "model"],
    ],
)
def test_plain_output_escapes_stored_controls(evil_world, kgrec, command):
    where, user = evil_world
    _shown_escaped(kgrec(*where, *[user if arg == "USER" else arg for arg in command]))


def test_explain_escapes_stored_controls_and_json_keeps_them(evil_world, kgrec):
    where, user = evil_world
    recs = json.loads(kgrec(*where, "--json", "recommend", user, "--k", "3").stdout)
    first = recs["recommendations"][0]
    assert first["title"].endswith(EVIL)  # the data itself is unchanged
    _shown_escaped(kgrec(*where, "explain", user, first["item_id"]))
    as_json = kgrec(*where, "--json", "explain", user, first["item_id"])
    assert json.loads(as_json.stdout)["title"].endswith(EVIL)


def test_an_error_naming_stored_text_is_one_escaped_line(evil_world, kgrec, error_line):
    where, user = evil_world
    line = error_line(kgrec(*where, "recommend", user, "--tag", "no\x1b]0;title\x07"))
    assert not RAW.search(line) and "\\x1b]0;title\\x07" in line
