"""Every .cypher file: a header whose params equal the body's $tokens; read files never write."""

from __future__ import annotations

import pytest

from kgrec.core.errors import QueryNotFound
from kgrec.kg.catalogue import Catalogue, parse
from kgrec.kg.writer import WRITES

CATALOGUES = [WRITES, Catalogue("kgrec.queries")]
ALL = [(c, n) for c in CATALOGUES for n in c.names()]


@pytest.mark.parametrize(("catalogue", "name"), ALL, ids=[f"{c.package}:{n}" for c, n in ALL])
def test_header_matches_body(catalogue, name):
    query = catalogue.get(name)
    assert query.summary
    assert query.param_names == query.body_tokens(), name
    if query.mode == "read":
        assert not query.writes(), f"{name} is declared read but writes"


def test_write_catalogue_is_not_empty():
    assert len(WRITES.names()) >= 10


def test_unknown_name_lists_the_available_ones():
    with pytest.raises(QueryNotFound) as err:
        WRITES.get("merge_userz")
    assert "merge_users" in str(err.value)


def test_header_checks():
    good = "// name: q\n// summary: s\n// mode: read\n// params:\n//   $x  STRING  x\nRETURN $x"
    assert parse("q", good).param_names == {"x"}
    with pytest.raises(ValueError):
        parse("q", good.replace("// mode: read\n", ""))
    with pytest.raises(ValueError):
        parse("other", good)
    query = parse("q", good.replace("RETURN $x", "MATCH (n) SET n.x = $x"))
    assert query.writes()
    assert parse("q", good.replace("RETURN $x", "RETURN '$y' AS s, $x")).body_tokens() == {"x"}
