"""`kgrec cypher` / `kgrec query --file` on both stores: EXPLAIN and PROFILE, counters under
--write, input from a file or stdin, timeouts, size limits, one-line refusals."""

from __future__ import annotations

import json

import pytest
from cli_runner import run_in_process

from kgrec.core.errors import QueryRefused, QueryTimeout, WriteInReadMode
from kgrec.kg.store import Mode
from kgrec.queries.runner import run_own

#: 400 million rows: many seconds on either store, warm or cold, so a 50 ms limit stops it.
HEAVY_READ = "UNWIND range(1, 20000) AS x UNWIND range(1, 20000) AS y RETURN count(*) AS n"
HEAVY_WRITE = (
    "UNWIND range(1, 20000) AS x UNWIND range(1, 20000) AS y WITH x, y "
    "WHERE x + y = -1 CREATE (:Probe) RETURN count(*) AS n"
)
PROBES = "MATCH (p:Probe) RETURN count(p) AS n"


def kgrec(store, *args, stdin: str | None = None, env: dict[str, str] | None = None):
    """``kgrec --store S --graph G ARGS`` naming the fixture's store; ``stdin`` its input."""
    return run_in_process(
        "--store",
        store.uri,
        "--graph",
        getattr(store, "graph_name", "kgrec"),
        *args,
        input=stdin,
        env=env,
    )


def test_explain_shows_the_plan_and_runs_nothing(store):
    result = kgrec(store, "cypher", "EXPLAIN CREATE (:Probe {x: 1})", "--write")
    assert result.returncode == 0, result.stderr
    assert "Create" in result.stdout
    assert store.run(PROBES) == [{"n": 0}]
    plan = json.loads(
        kgrec(store, "cypher", "EXPLAIN MATCH (p:Probe) RETURN p.x AS x", "-f", "json").stdout
    )
    assert plan["rows"] == [] and plan["plan"]["operator"] and plan["plan"]["children"]


def test_profile_runs_the_statement_and_shows_the_plan(store):
    store.write("UNWIND range(1, 5) AS x CREATE (:Probe {x: x})")
    result = json.loads(
        kgrec(
            store,
            "cypher",
            "PROFILE MATCH (p:Probe) WHERE p.x > 2 RETURN count(p) AS n",
            "-f",
            "json",
        ).stdout
    )
    assert result["rows"] == [{"n": 3}]

    def produced(node):
        return [node.get("rows")] + [r for c in node["children"] for r in produced(c)]

    assert 5 in produced(result["plan"])  # the scan read the five probes
    table = kgrec(store, "cypher", "PROFILE MATCH (p:Probe) RETURN count(p) AS n").stdout
    assert table.splitlines()[2].strip() == "5" and "rows" in table


def test_profile_of_a_write_needs_write(store):
    refused = kgrec(store, "cypher", "PROFILE CREATE (:Probe {x: 1})")
    assert refused.returncode == 1 and "--write" in refused.stderr
    assert store.run(PROBES) == [{"n": 0}]
    done = kgrec(store, "cypher", "PROFILE CREATE (:Probe {x: 1})", "--write", "-f", "json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["counters"]["nodes_created"] == 1
    assert store.run(PROBES) == [{"n": 1}]


def test_write_reports_what_changed(store):
    made = kgrec(store, "cypher", "UNWIND range(1, 3) AS x CREATE (:Probe {x: x, y: x})", "--write")
    assert made.returncode == 0, made.stderr
    assert "nodes created: 3, properties set: 6" in made.stdout
    gone = kgrec(store, "cypher", "MATCH (p:Probe) DETACH DELETE p", "--write", "-f", "json")
    assert json.loads(gone.stdout)["counters"]["nodes_deleted"] == 3
    same = kgrec(store, "cypher", "MATCH (p:Probe) RETURN count(p) AS n", "--write")
    assert "nothing changed" in same.stdout


def test_statements_come_from_a_file_or_stdin(store, tmp_path):
    store.write("CREATE (:Probe {x: 7})")
    text = "// mine\nMATCH (p:Probe) RETURN p.x AS x;\n"
    piped = kgrec(store, "cypher", "-", "-f", "json", stdin=text)
    assert piped.returncode == 0, piped.stderr
    assert json.loads(piped.stdout) == [{"x": 7}]
    file = tmp_path / "mine.cypher"
    file.write_text(text)
    for args in (
        ("cypher", "--file", str(file)),
        ("query", "--file", str(file)),
        ("query", "--file", "-"),
    ):
        out = kgrec(store, *args, "-f", "json", stdin=text)
        assert out.returncode == 0 and json.loads(out.stdout) == [{"x": 7}], out.stderr


def test_endless_or_long_input_is_one_line_of_error(store, tmp_path, error_line):
    endless = kgrec(store, "query", "--file", "/dev/zero")
    assert "longer than 65,536 bytes" in error_line(endless, 2)
    long = tmp_path / "long.cypher"
    long.write_text("RETURN 1 AS x // " + "x" * 70_000)
    assert "longer than 65,536 bytes" in error_line(kgrec(store, "cypher", "--file", str(long)), 2)
    deep = "RETURN " + "[" * 26 + "1" + "]" * 26 + " AS x"
    assert "nested 26 levels" in error_line(kgrec(store, "cypher", deep), 2)
    terms = "RETURN " + "+".join(["1"] * 30_000) + " AS x"
    assert "operators" in error_line(kgrec(store, "cypher", "-", stdin=terms), 2)
    two = kgrec(store, "cypher", "RETURN 1 AS a; RETURN 2 AS b")
    assert "2 statements" in error_line(two, 2)
    assert store.run("RETURN 1 AS ok") == [{"ok": 1}]  # the store is still up


def test_regular_expressions_say_what_to_use_where_unsupported(store, backend, error_line):
    store.write("CREATE (:Probe {name: 'Alien'})")
    text = "MATCH (p:Probe) WHERE p.name =~ 'Al.*' RETURN p.name AS name"
    result = kgrec(store, "cypher", text, "-f", "json")
    if backend == "embedded":
        assert "'=~' is not supported" in error_line(result, 2)
        assert "CONTAINS" in result.stderr
    else:
        assert json.loads(result.stdout) == [{"name": "Alien"}]


def test_a_read_past_its_timeout_is_stopped(store, error_line):
    with pytest.raises(QueryTimeout, match="ran longer than 0.05 s"):
        run_own(store, HEAVY_READ, timeout_s=0.05)
    with pytest.raises(QueryTimeout, match="ran longer than 0.05 s"):
        run_own(store, "PROFILE " + HEAVY_READ, timeout_s=0.05)
    line = error_line(kgrec(store, "cypher", HEAVY_READ, "--timeout", "0.05"))
    assert "ran longer than 0.05 s and was stopped" in line and "--timeout" in line


def test_a_write_past_its_timeout_changes_nothing(store):
    with pytest.raises(QueryTimeout, match="nothing was changed"):
        store.write(HEAVY_WRITE, timeout_s=0.05)
    assert store.run(PROBES) == [{"n": 0}]
    rows, counters = store.write("CREATE (:Probe) RETURN 1 AS one")  # no timeout: unbounded
    assert rows == [{"one": 1}] and counters.nodes_created == 1


def test_the_timeout_comes_from_the_environment(store, error_line):
    env_timeout = kgrec(store, "cypher", HEAVY_READ, env={"KGREC_QUERY_TIMEOUT": "0.05"})
    assert "ran longer than 0.05 s" in error_line(env_timeout)
    bad = kgrec(store, "cypher", "RETURN 1 AS x", "--timeout", "-1")
    assert "seconds >= 0" in error_line(bad, 2)


def test_profile_never_runs_a_write_in_read_mode(store):
    with pytest.raises(WriteInReadMode):
        store.profile("CREATE (:Probe)", mode=Mode.READ)
    with pytest.raises(QueryRefused):
        run_own(store, "MATCH (n) RETURN n; CREATE (:Probe)", write=True)
    assert store.run(PROBES) == [{"n": 0}]
