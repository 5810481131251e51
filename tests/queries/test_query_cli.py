"""`kgrec query` and `kgrec cypher` as an analyst runs them: --list, the three formats, output
for people, one-line errors (usage errors exit 2), own Cypher read-only unless --write."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime

from cli_runner import run_in_process, run_process

from kgrec.queries.runner import INTERNAL, get_query, list_queries, returned_columns, run_query


def kgrec(store, *args):
    """``kgrec --store S --graph G ARGS`` naming the fixture's store."""
    return run_in_process(
        "--store", store.uri, "--graph", getattr(store, "graph_name", "kgrec"), *args
    )


def test_list_names_every_query_with_its_parameters(tiny_store):
    result = kgrec(tiny_store, "query", "--list")
    assert result.returncode == 0, result.stderr
    for q in list_queries():
        assert f"{q['name']}: {q['summary']}" in result.stdout
        for p in q["params"]:
            assert p["signature"] in result.stdout
    listed = {line.split(":")[0] for line in result.stdout.splitlines() if line[:1].isalpha()}
    assert listed == {q["name"] for q in list_queries()}
    assert len(listed) == 9
    assert not listed & set(INTERNAL.names())
    assert not any(n.startswith(("explain_", "path_")) for n in listed)


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


def test_bad_parameters_are_usage_errors_with_one_line(tiny_store):
    missing = kgrec(tiny_store, "query", "also_liked")
    assert missing.returncode == 2
    assert len(missing.stderr.strip().splitlines()) == 1
    assert "missing parameter $item_id" in missing.stderr
    wrong = kgrec(tiny_store, "query", "also_liked", "-p", "item_id=i1", "-p", "k=many")
    assert wrong.returncode == 2 and "$k expects INTEGER, got 'many'" in wrong.stderr
    unknown_param = kgrec(tiny_store, "query", "also_liked", "-p", "item_id=i1", "-p", "kk=1")
    assert unknown_param.returncode == 2 and "unknown parameter $kk" in unknown_param.stderr
    malformed = kgrec(tiny_store, "query", "also_liked", "-p", "item_id")
    assert malformed.returncode == 2 and "expected KEY=VALUE" in malformed.stderr
    unknown = kgrec(tiny_store, "query", "no_such_query")
    assert unknown.returncode == 2 and "also_liked" in unknown.stderr
    as_json = kgrec(tiny_store, "--json", "query", "also_liked")
    assert as_json.returncode == 2
    assert json.loads(as_json.stdout)["error"]["type"] == "QueryParameterError"


def test_a_mistyped_name_gets_a_suggestion(tiny_store):
    result = kgrec(tiny_store, "query", "also_likd")
    assert result.returncode == 2
    assert "did you mean 'also_liked'" in result.stderr
    far = kgrec(tiny_store, "query", "zzzzzz")
    assert far.returncode == 2 and "did you mean" not in far.stderr


def _one_line(result) -> str:
    assert result.returncode == 2, (result.returncode, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: query "), result.stderr
    return lines[0]


def test_non_finite_floats_are_refused_before_the_store(tiny_store):
    for value in ("inf", "-inf", "1e999", "nan"):
        line = _one_line(
            kgrec(
                tiny_store, "query", "also_liked", "-p", "item_id=i1", "-p", f"min_rating={value}"
            )
        )
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
    assert row_count_params(get_query("explain_co_users")) == {"limit"}
    assert row_count_params(get_query("item_details")) == set()


def test_control_characters_in_stored_text_are_printed_escaped(store):
    store.write(
        "CREATE (:Item {id: 'x1', title: $title})",
        {"title": "\x1b[31mred\x1b[0m\rover\x07\u202egnp.exe\nline two\ttab"},
    )
    base = [
        "--store",
        store.uri,
        "--graph",
        getattr(store, "graph_name", "kgrec"),
        "query",
        "item_details",
        "-p",
        "item_ids=x1",
    ]

    def run(*args):  # a real process: what reaches a terminal
        out = run_process(*base, *args)
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


def test_long_cells_are_cut_in_tables_only(store):
    title = "A Very Long Title " * 10
    store.write("CREATE (:Item {id: 'long', title: $title})", {"title": title})
    args = (
        "cypher",
        "MATCH (i:Item {id: $id}) RETURN i.id AS id, i.title AS title",
        "-p",
        "id=long",
    )
    as_table = kgrec(store, *args)
    assert as_table.returncode == 0, as_table.stderr
    row = as_table.stdout.splitlines()[2]
    assert title not in as_table.stdout and title[:40] in row and row.rstrip().endswith("…")
    assert len(row.rstrip()) < len(title)
    assert json.loads(kgrec(store, *args, "-f", "json").stdout) == [{"id": "long", "title": title}]
    [as_csv] = list(csv.DictReader(io.StringIO(kgrec(store, *args, "-f", "csv").stdout)))
    assert as_csv["title"] == title


def test_timestamps_are_dates_in_tables(tiny_store):
    args = (
        "cypher",
        "MATCH (:User {id: $u})-[r:INTERACTED]->(i:Item) "
        "RETURN i.id AS item_id, r.ts AS ts ORDER BY item_id",
        "-p",
        "u=u1",
    )
    rows = json.loads(kgrec(tiny_store, *args, "-f", "json").stdout)
    assert len(rows) == 3 and all(isinstance(r["ts"], int) for r in rows)
    shown = kgrec(tiny_store, *args).stdout
    for r in rows:
        date = datetime.fromtimestamp(r["ts"], UTC).strftime("%Y-%m-%d %H:%M:%S")
        assert [r["item_id"], *date.split()] in [line.split() for line in shown.splitlines()]
        assert str(r["ts"]) not in shown


def test_an_empty_csv_result_keeps_its_header(tiny_store):
    empty = kgrec(tiny_store, "query", "top_items_for_tag", "-p", "tag=no-such-tag", "-f", "csv")
    assert empty.returncode == 0, empty.stderr
    header = empty.stdout.splitlines()
    full = run_query(tiny_store, "top_items_for_tag", {"tag": "scifi"})
    assert header == [",".join(full[0])]
    assert returned_columns(get_query("top_items_for_tag")) == list(full[0])


def test_own_cypher_is_read_only_unless_write(tiny_store, store):
    refused = kgrec(store, "cypher", "CREATE (:User {id: $id})", "-p", "id=new")
    assert refused.returncode == 1
    assert "--write" in refused.stderr and len(refused.stderr.strip().splitlines()) == 1
    count = "MATCH (u:User {id: $id}) RETURN count(u) AS n"
    assert store.run(count, {"id": "new"}) == [{"n": 0}]
    done = kgrec(
        store,
        "cypher",
        "CREATE (u:User {id: $id}) RETURN u.id AS id",
        "-p",
        "id=new",
        "--write",
        "-f",
        "json",
    )
    assert done.returncode == 0, done.stderr
    written = json.loads(done.stdout)
    assert written["rows"] == [{"id": "new"}]
    assert written["counters"]["nodes_created"] == 1
    assert written["counters"]["properties_set"] == 1
    assert store.run(count, {"id": "new"}) == [{"n": 1}]


def test_own_cypher_values_stay_parameters(tiny_store, tmp_path):
    nasty = "u1'}) DETACH DELETE n //"
    statement = "MATCH (u:User) WHERE u.id IN [$a, $b] RETURN u.id AS id ORDER BY id"
    result = kgrec(tiny_store, "cypher", statement, "-p", f"a={nasty}", "-p", "b=u2", "-f", "json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [{"id": "u2"}]
    typed = kgrec(
        tiny_store,
        "cypher",
        "MATCH (u:User) RETURN u.id AS id ORDER BY id LIMIT $k",
        "-p",
        "k:INTEGER=2",
        "-f",
        "json",
    )
    assert json.loads(typed.stdout) == [{"id": "u1"}, {"id": "u2"}]
    missing = kgrec(tiny_store, "cypher", "MATCH (u:User {id: $id}) RETURN u.id")
    assert missing.returncode == 2 and "missing parameter $id" in missing.stderr
    file = tmp_path / "mine.cypher"
    file.write_text("// my own\nMATCH (i:Item) WHERE i.id IN $ids RETURN i.id AS id ORDER BY id")
    from_file = kgrec(tiny_store, "query", "--file", str(file), "-p", "ids:LIST=i2,i1", "-f", "csv")
    assert from_file.returncode == 0, from_file.stderr
    assert from_file.stdout.splitlines() == ["id", "i1", "i2"]


def test_stats_counts_what_the_graph_holds(tiny_store):
    from tests.queries.conftest import ITEMS, RATINGS

    result = kgrec(tiny_store, "--json", "stats")
    assert result.returncode == 0, result.stderr
    stats = json.loads(result.stdout)
    assert (stats["items"], stats["users"], stats["interactions"]) == (len(ITEMS), 5, len(RATINGS))
    assert {("Item", "id"), ("User", "id")} <= {
        (i["label"], i["property"]) for i in stats["indexes"]
    }
