"""Reading an analyst's statement before it is sent (kgrec.queries.statement): the limits
that keep a store up, EXPLAIN/PROFILE prefixes, one statement per run, and the rewrites
that make FalkorDB answer as Neo4j does. No store is needed: these are checks on text."""

from __future__ import annotations

import pytest

from kgrec.core.errors import QueryRefused
from kgrec.kg.dialect import FALKORDB, NEO4J
from kgrec.queries.statement import (
    MAX_NESTING,
    MAX_OPERATORS,
    MAX_TEXT_BYTES,
    PlanRequest,
    check_limits,
    prepare,
)


def on(dialect, text):
    return prepare(
        text,
        dialect.unique_relationships,
        dialect.integer_sum,
        dialect.unsupported,
        dialect.store_name,
    )


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("RETURN " + "[" * 26 + "1" + "]" * 26 + " AS x", "nested 26 levels"),
        ("RETURN " + "(" * 20 + "1" + ")" * 20 + " AS x", "nested 20 levels"),
        ("RETURN " + "-" * 30_000 + "1 AS x", "nested 30000 levels"),
        ("RETURN " + "NOT " * 13 + "true AS x", "nested 13 levels"),
        ("RETURN " + "+".join(["1"] * 3_000) + " AS x", "2,999 operators"),
        ("RETURN [1]" + "[0]" * 3_000 + " AS x", "operators"),
        ("RETURN " + "+".join(["1"] * 50_000) + " AS x", "bytes"),
        ("MATCH (n) RETURN n; MATCH (m) RETURN m", "2 statements"),
    ],
)
def test_what_could_take_the_store_down_is_refused_before_it_is_sent(text, reason):
    with pytest.raises(QueryRefused, match=reason) as e:
        check_limits(text)
    assert "\n" not in str(e.value)


def test_the_limits_leave_room_for_real_questions():
    nested = "RETURN " + "[" * MAX_NESTING + "1" + "]" * MAX_NESTING + " AS x"
    check_limits(nested)
    check_limits("RETURN " + "+".join(["1"] * MAX_OPERATORS) + " AS x")
    check_limits("RETURN 1 - -2 AS x, -3 AS y, NOT true AS z;")
    assert len(("RETURN 1 // " + "x" * (MAX_TEXT_BYTES - 20)).encode()) < MAX_TEXT_BYTES
    check_limits("RETURN 1 // " + "x" * (MAX_TEXT_BYTES - 20))
    check_limits("RETURN 'a;b' AS s // c;d")  # ; inside text and comments


@pytest.mark.parametrize("dialect", [FALKORDB, NEO4J], ids=lambda d: d.name)
def test_explain_and_profile_prefixes_are_read(dialect):
    s = on(dialect, "  explain MATCH (n) RETURN n;")
    assert s.plan is PlanRequest.EXPLAIN and s.text == "MATCH (n) RETURN n"
    assert on(dialect, "// why\nPROFILE RETURN 1 AS x").plan is PlanRequest.PROFILE
    assert on(dialect, "RETURN 'EXPLAIN' AS x").plan is PlanRequest.NONE
    with pytest.raises(QueryRefused, match="empty"):
        on(dialect, "EXPLAIN ;")


def test_regular_expressions_are_refused_on_the_embedded_store_with_what_to_use():
    with pytest.raises(QueryRefused, match="'=~' is not supported .* CONTAINS"):
        on(FALKORDB, "MATCH (i:Item) WHERE i.title =~ 'Star.*' RETURN i.id")
    with pytest.raises(QueryRefused, match="'EXISTS {' is not supported"):
        on(FALKORDB, "MATCH (i:Item) WHERE EXISTS { MATCH (i)--() } RETURN i.id")
    assert on(NEO4J, "MATCH (i:Item) WHERE i.title =~ 'Star.*' RETURN i.id").notices == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "MATCH (t:Tag)<-[r1:HAS_TAG]-(i)-[r2:HAS_TAG]->(t2) RETURN t2",
            "MATCH (t:Tag)<-[r1:HAS_TAG]-(i)-[r2:HAS_TAG]->(t2) WHERE r1 <> r2 RETURN t2",
        ),
        (
            "MATCH (a)<-[:T]-(i)-[:T]->(b) WHERE a.x = 1 OR b.x = 2 RETURN a",
            "MATCH (a)<-[_r1:T]-(i)-[_r2:T]->(b) WHERE _r1 <> _r2 AND ( a.x = 1 OR b.x = 2) "
            "RETURN a",
        ),
        (
            "OPTIONAL MATCH (u)-[r1:I]->(i)<-[r2:I]-(v) WITH u, v RETURN u",
            "OPTIONAL MATCH (u)-[r1:I]->(i)<-[r2:I]-(v) WHERE r1 <> r2 WITH u, v RETURN u",
        ),
        (
            "MATCH (u)-[r1:I]->(i), (v)-[r2:I]->(j) RETURN u",
            "MATCH (u)-[r1:I]->(i), (v)-[r2:I]->(j) WHERE r1 <> r2 RETURN u",
        ),
    ],
)
def test_relationship_uniqueness_is_added_on_the_embedded_store(text, expected):
    s = on(FALKORDB, text)
    assert s.text == expected
    assert len(s.notices) == 1 and "<>" in s.notices[0]
    assert on(NEO4J, text).text == text  # Neo4j never binds one relationship twice


@pytest.mark.parametrize(
    "text",
    [
        "MATCH (u)-[r1:I]->(i)-[r2:H]->(t) RETURN u",  # types differ
        "MATCH (u)-[r1:I]->(i)-[r2:I]->(t) RETURN u",  # a directed chain: no self-loops
        "MATCH (a)<-[r1:H]-(i)-[r2:H]->(b) WHERE r2 <> r1 RETURN a",  # already said
        "MATCH (a)<-[r:H]-(i) MATCH (i)-[s:H]->(b) RETURN a",  # two clauses: as Neo4j
        "MATCH p = allShortestPaths((u)-[:I*..4]-(i)) RETURN p",
    ],
)
def test_patterns_that_cannot_bind_one_relationship_twice_are_left_alone(text):
    s = on(FALKORDB, text)
    assert s.text == text and s.notices == []


def test_what_cannot_be_rewritten_gets_a_warning_with_the_fix():
    star = on(FALKORDB, "MATCH (a)<-[:H]-(i)-[:H]->(b) RETURN *")
    assert star.text == "MATCH (a)<-[:H]-(i)-[:H]->(b) RETURN *"
    assert "add WHERE" in star.notices[0] and "not rewritten" in star.notices[0]
    bare = on(FALKORDB, "MATCH (a)--(b)--(c) RETURN count(*) AS n")
    assert "not rewritten" in bare.notices[0]
    walk = on(FALKORDB, "MATCH (a:Tag)-[:HAS_TAG*2..2]-(b:Tag) RETURN b.name")
    assert "variable-length" in walk.notices[0] and "relationships(p)" in walk.notices[0]


def test_integer_sums_stay_integers_on_the_embedded_store():
    s = on(FALKORDB, "MATCH (n) RETURN sum(n.x) AS s, sum(DISTINCT n.y) AS t, n.sum(1) AS u")
    assert s.text.count("toInteger(sum(n.x))") == 1
    assert "toInteger(sum(DISTINCT n.y))" in s.text and "typeOf(n.y)" in s.text
    assert "n.sum(1)" in s.text
    assert on(NEO4J, "RETURN sum(1) AS s").text == "RETURN sum(1) AS s"
