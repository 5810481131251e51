"""Every .cypher file: a header whose params equal the body's $tokens; its mode matches what
it does; the store's statements split into reads and writes."""

from __future__ import annotations

import pytest

from kgrec.core.errors import QueryNotFound
from kgrec.kg.catalogue import READS, WRITES, parse, statement
from kgrec.kg.store import Mode
from kgrec.queries.runner import ANALYST, INTERNAL

CATALOGUES = [READS, WRITES, ANALYST, INTERNAL]
ALL = [(c, n) for c in CATALOGUES for n in c.names()]


@pytest.mark.parametrize(("catalogue", "name"), ALL, ids=[f"{c.folder}:{n}" for c, n in ALL])
def test_header_matches_body(catalogue, name):
    query = catalogue.get(name)
    assert query.summary
    assert query.param_names == query.body_tokens(), name
    assert query.writes() == (query.mode is Mode.WRITE), f"{name} is declared {query.mode}"


def test_store_statements_split_by_mode():
    assert len(WRITES.names()) >= 10 and len(READS.names()) >= 5
    assert not set(READS.names()) & set(WRITES.names())
    assert {q.mode for q in READS.all()} == {Mode.READ}
    assert {q.mode for q in WRITES.all()} == {Mode.WRITE}
    assert "count_graph" in READS and "merge_users" in WRITES
    assert statement("count_graph").mode is Mode.READ
    assert statement("merge_users").mode is Mode.WRITE


def test_a_statement_asked_of_the_other_mode_is_refused_with_the_way_to_get_it():
    with pytest.raises(QueryNotFound, match="read statement, not a write one"):
        WRITES.get("count_graph")
    with pytest.raises(QueryNotFound, match="write statement, not a read one"):
        READS.get("merge_users")


def test_unknown_name_lists_the_available_ones():
    with pytest.raises(QueryNotFound) as err:
        WRITES.get("merge_userz")
    assert "merge_users" in str(err.value)
    with pytest.raises(QueryNotFound) as err:
        statement("count_grap")
    assert "count_graph" in str(err.value) and "merge_users" in str(err.value)


def test_header_checks():
    good = "// name: q\n// summary: s\n// mode: read\n// params:\n//   $x  STRING  x\nRETURN $x"
    assert parse("q", good).param_names == {"x"}
    assert parse("q", good).mode is Mode.READ
    with pytest.raises(ValueError):
        parse("q", good.replace("// mode: read\n", ""))
    with pytest.raises(ValueError):
        parse("other", good)
    query = parse("q", good.replace("RETURN $x", "MATCH (n) SET n.x = $x"))
    assert query.writes()
    assert parse("q", good.replace("RETURN $x", "RETURN '$y' AS s, $x")).body_tokens() == {"x"}
