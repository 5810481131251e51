"""One Cypher meaning on both stores: the analyst library and a corpus of ad-hoc questions
(adhoc_corpus.cypher) give the same rows on the embedded store and on Neo4j, over the tiny
graph of conftest.py, when run as an analyst runs them.

Values are compared with their types (an integer sum is 802 on both, never 802.0 on one);
floats to 9 significant digits (the engines add in different orders).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from kgrec.queries.runner import ANALYST, describe_query, run_own, run_query

from .conftest import load_tiny

CORPUS = Path(__file__).with_name("adhoc_corpus.cypher")
SAMPLE_PARAMS = {"item_id": "i1", "user_id": "u1", "tag": "scifi", "min_ratings": 2}


def corpus() -> list[dict]:
    """The corpus entries: name, text, params, warns (a notice fragment or None)."""
    entries: list[dict] = []
    for block in re.split(r"\n(?=// name: )", CORPUS.read_text(encoding="utf-8")):
        if not block.startswith("// name: "):
            continue
        meta = dict(re.findall(r"^// (name|params|warns): (.*)$", block, re.M))
        entries.append(
            {
                "name": meta["name"].strip(),
                "text": block,
                "params": json.loads(meta.get("params", "{}")),
                "warns": meta.get("warns"),
            }
        )
    return entries


def typed(value):
    """``value`` with every number tagged by its type; floats to 9 significant digits."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return ("int", value)
    if isinstance(value, float):
        return ("float", float(f"{value:.9g}"))
    if isinstance(value, list):
        return [typed(v) for v in value]
    if isinstance(value, dict):
        return {k: typed(v) for k, v in value.items()}
    return value


def comparable(text: str, rows: list[dict]):
    """Rows in order where the statement orders them, else as a sorted multiset."""
    rows = [typed(r) for r in rows]
    if re.search(r"\bORDER\s+BY\b", text[text.upper().rfind("RETURN") :], re.I):
        return rows
    return sorted(json.dumps(r, sort_keys=True) for r in rows)


@pytest.fixture(scope="module")
def both(store_pool, embedder):
    """The tiny graph in the embedded store and in Neo4j: ``(embedded, neo4j)``."""
    if not os.environ.get("KGREC_TEST_NEO4J_URI"):
        if os.environ.get("KGREC_REQUIRE_NEO4J", "") not in ("", "0", "false"):
            pytest.fail("KGREC_REQUIRE_NEO4J is set but KGREC_TEST_NEO4J_URI names no server")
        pytest.skip("no Neo4j: KGREC_TEST_NEO4J_URI is not set")
    _, emb, _ = store_pool.loaded("embedded", "tiny", lambda s, _: load_tiny(s, embedder))
    _, neo, _ = store_pool.loaded("neo4j", "tiny", lambda s, _: load_tiny(s, embedder))
    return emb, neo


def test_the_corpus_covers_the_patterns_analysts_use():
    entries = corpus()
    assert len(entries) >= 20
    assert len({e["name"] for e in entries}) == len(entries)
    text = "\n".join(e["text"] for e in entries).upper()
    for pattern in (
        "OPTIONAL MATCH",
        "SUM(",
        "AVG(",
        "COUNT(DISTINCT",
        "COLLECT(",
        "UNWIND",
        "CASE WHEN",
        "DISTINCT",
        "WITH ",
        "ALLSHORTESTPATHS",
        "TOLOWER(",
        "SUBSTRING(",
        "ORDER BY",
        "[R1:HAS_TAG]",
        "*2..2",
    ):
        assert pattern in text, pattern


@pytest.mark.neo4j
@pytest.mark.parametrize("entry", corpus(), ids=lambda e: e["name"])
def test_each_corpus_question_gives_the_same_rows_on_both_stores(both, entry):
    emb, neo = both
    on_emb = run_own(emb, entry["text"], entry["params"], name=entry["name"])
    on_neo = run_own(neo, entry["text"], entry["params"], name=entry["name"])
    assert comparable(entry["text"], on_emb.rows) == comparable(entry["text"], on_neo.rows)
    assert on_neo.notices == []  # Neo4j needs no rewrite
    if entry["warns"]:
        assert any(entry["warns"] in n for n in on_emb.notices), on_emb.notices
    else:
        assert on_emb.notices == []
    assert on_emb.rows or entry["name"] in ("integer_sum_of_nothing",), (
        "an empty answer proves little"
    )


@pytest.mark.neo4j
def test_every_library_query_gives_the_same_rows_on_both_stores(both):
    emb, neo = both
    for query in map(describe_query, ANALYST.all()):
        params = {
            p["name"]: SAMPLE_PARAMS[p["name"]]
            for p in query["params"]
            if p["name"] in SAMPLE_PARAMS
        }
        rows_emb = run_query(emb, query["name"], params)
        rows_neo = run_query(neo, query["name"], params)
        assert typed(rows_emb) == typed(rows_neo), query["name"]


@pytest.mark.neo4j
def test_without_the_rewrite_the_stores_disagree(both):
    """Why the rewrites exist: sent as typed, FalkorDB pairs a tag with itself through one
    relationship and sums integers to a float."""
    emb, neo = both
    cotag = (
        "MATCH (t:Tag {name: 'scifi'})<-[r1:HAS_TAG]-(:Item)-[r2:HAS_TAG]->(t2:Tag) "
        "RETURN t2.name AS tag, count(*) AS items"
    )
    assert "scifi" in {r["tag"] for r in emb.run(cotag)}
    assert "scifi" not in {r["tag"] for r in neo.run(cotag)}
    total = "MATCH (:Item)-[h:HAS_TAG]->(:Tag) RETURN sum(h.count) AS n"
    assert typed(emb.run(total)) != typed(neo.run(total))
    assert typed(run_own(emb, total).rows) == typed(neo.run(total))


def test_library_queries_need_no_rewrite():
    """Every library query already says which relationships differ (r1 <> r2), so the
    embedded store answers it as Neo4j does without a rewrite."""
    from kgrec.queries.rewrites import unique_relationships
    from kgrec.queries.tokens import tokens

    for query in ANALYST.all():
        text, notices = unique_relationships(query.body, tokens(query.body))
        assert notices == [] and text == query.body, query.name
