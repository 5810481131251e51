"""The analyst query library on the tiny hand-made graph (see conftest.py for the graph).

Expected rows are derived from the fixture's own data in Python (an independent oracle),
not copied from a run.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from statistics import mean

import networkx as nx
import pytest

from kgrec.core.errors import QueryNotFound, QueryParameterError
from kgrec.queries.runner import list_queries, run_query

from .conftest import ENTITIES, ITEMS, RATINGS, RECOMMENDED, TRIPLES, USER_TAGS

REQUIRED = (
    "also_liked",
    "top_items_for_tag",
    "tag_cooccurrence",
    "shortest_paths",
    "cold_items",
    "recommendation_coverage",
    "user_profile",
)


def ratings_by_item():
    out = defaultdict(dict)
    for u, i, r in RATINGS:
        out[i][u] = r
    return out


def test_library_has_the_required_queries_with_docs():
    listed = {q["name"]: q for q in list_queries()}
    for name in REQUIRED:
        assert name in listed, name
        assert listed[name]["summary"]
        assert listed[name]["returns"]
        assert listed[name]["mode"] == "read"


def test_also_liked(tiny_store):
    liked = {(u, i) for u, i, r in RATINGS if r >= 4.0}
    fans = {u for u, i in liked if i == "i1"}
    users, scores = Counter(), defaultdict(list)
    for u, i, r in RATINGS:
        if u in fans and i != "i1" and r >= 4.0:
            users[i] += 1
            scores[i].append(r)
    expected = sorted(users, key=lambda i: (-users[i], -mean(scores[i]), i))
    rows = run_query(tiny_store, "also_liked", {"item_id": "i1"})
    assert [r["item_id"] for r in rows] == expected
    assert [r["users"] for r in rows] == [users[i] for i in expected]
    assert rows[0]["mean_rating"] == pytest.approx(mean(scores[expected[0]]))
    assert len(run_query(tiny_store, "also_liked", {"item_id": "i1", "k": "1"})) == 1


def test_top_items_for_tag_matches_case_and_spaces(tiny_store):
    by_item = ratings_by_item()
    tagged = [i for i, (_, tags) in ITEMS.items() if "scifi" in tags]
    expected = sorted(tagged, key=lambda i: (-len(by_item[i]), -mean(by_item[i].values()), i))
    rows = run_query(tiny_store, "top_items_for_tag", {"tag": " SciFi "})
    assert [r["item_id"] for r in rows] == expected
    assert [r["interactions"] for r in rows] == [len(by_item[i]) for i in expected]


def test_tag_cooccurrence(tiny_store):
    pairs = Counter()
    for _, tags in ITEMS.values():
        for a in tags:
            for b in tags:
                if a < b:
                    pairs[(a, b)] += 1
    expected = sorted(pairs, key=lambda p: (-pairs[p], p))
    rows = run_query(tiny_store, "tag_cooccurrence", {})
    assert [(r["tag_a"], r["tag_b"]) for r in rows] == expected
    assert [r["items"] for r in rows] == [pairs[p] for p in expected]
    partners = run_query(tiny_store, "tag_cooccurrence", {"tag": "space"})
    assert {r["tag_b"] for r in partners} == {
        b for _, tags in ITEMS.values() if "space" in tags for b in tags if b != "space"
    }


def graph_of_fixture() -> nx.Graph:
    g = nx.Graph()
    for u, i, _ in RATINGS:
        g.add_edge(f"user:{u}", f"item:{i}")
    for i, (_, tags) in ITEMS.items():
        g.add_node(f"item:{i}")
        for t in tags:
            g.add_edge(f"item:{i}", f"tag:{t}")
    for u, _, t in USER_TAGS:
        g.add_edge(f"user:{u}", f"tag:{t}")
    for i, _, e in TRIPLES:
        g.add_edge(f"item:{i}", f"entity:{e}")
    return g


@pytest.mark.parametrize(("user", "item"), [("u1", "i4"), ("u4", "i1"), ("u1", "i5")])
def test_shortest_paths_agree_with_networkx(tiny_store, user, item):
    titles = {i: t for i, (t, _) in ITEMS.items()}
    names = {e: n for e, n, _ in ENTITIES}
    expected = set()
    for path in nx.all_shortest_paths(graph_of_fixture(), f"user:{user}", f"item:{item}"):
        labels = []
        for node in path:
            kind, key = node.split(":", 1)
            labels.append({"item": titles.get(key), "entity": names.get(key)}.get(kind, key))
        expected.add(tuple(labels))
    rows = run_query(tiny_store, "shortest_paths", {"user_id": user, "item_id": item, "k": 50})
    assert {tuple(r["nodes"]) for r in rows} == expected
    assert {r["hops"] for r in rows} == {len(next(iter(expected))) - 1}


def test_shortest_paths_none_for_a_user_without_edges(tiny_store):
    assert run_query(tiny_store, "shortest_paths", {"user_id": "u5", "item_id": "i1"}) == []


def test_cold_items(tiny_store):
    rated = {i for _, i, _ in RATINGS}
    rows = run_query(tiny_store, "cold_items", {})
    assert [r["item_id"] for r in rows] == sorted(set(ITEMS) - rated)
    assert sorted(rows[0]["tags"]) == sorted(ITEMS[rows[0]["item_id"]][1])


def test_recommendation_coverage(tiny_store):
    [row] = run_query(tiny_store, "recommendation_coverage", {})
    recommended = {i for _, i, _, _ in RECOMMENDED}
    assert row["items"] == len(ITEMS)
    assert row["recommended_items"] == len(recommended)
    assert row["coverage"] == pytest.approx(len(recommended) / len(ITEMS))
    assert row["users_with_recommendations"] == len({u for u, *_ in RECOMMENDED})
    assert row["recommendations"] == len(RECOMMENDED)
    assert row["model_versions"] == ["v1"]


def test_user_profile(tiny_store):
    mine = [(i, r) for u, i, r in RATINGS if u == "u1"]
    counts = Counter(t for i, _ in mine for t in ITEMS[i][1])
    top = sorted(counts, key=lambda t: (-counts[t], t))[:2]
    [row] = run_query(tiny_store, "user_profile", {"user_id": "u1", "k": 2})
    assert row["interactions"] == len(mine)
    assert row["mean_rating"] == pytest.approx(mean(r for _, r in mine))
    assert row["top_tags"] == top
    assert row["own_tags"] == sorted({t for u, _, t in USER_TAGS if u == "u1"})


def test_user_profile_of_a_user_without_interactions(tiny_store):
    [row] = run_query(tiny_store, "user_profile", {"user_id": "u5"})
    assert row["interactions"] == 0
    assert row["mean_rating"] is None
    assert row["top_tags"] == [] and row["own_tags"] == []


def test_values_travel_as_parameters(tiny_store):
    hostile = "x' OR 1=1 RETURN 1 //"
    assert run_query(tiny_store, "top_items_for_tag", {"tag": hostile}) == []
    [row] = run_query(tiny_store, "item_details", {"item_ids": ["i1"]})
    assert row["title"] == ITEMS["i1"][0]


def test_parameter_errors_are_clear(tiny_store):
    with pytest.raises(QueryParameterError, match=r"missing parameter \$item_id"):
        run_query(tiny_store, "also_liked", {})
    with pytest.raises(QueryParameterError, match=r"\$k expects INTEGER, got 'ten'"):
        run_query(tiny_store, "also_liked", {"item_id": "i1", "k": "ten"})
    with pytest.raises(QueryParameterError, match=r"unknown parameter \$limit"):
        run_query(tiny_store, "also_liked", {"item_id": "i1", "limit": 3})
    with pytest.raises(QueryNotFound, match="also_liked"):
        run_query(tiny_store, "also_likes", {})


def test_popular_top_rated_and_user_items(tiny_store):
    by_item = ratings_by_item()
    popular = sorted(by_item, key=lambda i: (-len(by_item[i]), -mean(by_item[i].values()), i))
    rows = run_query(tiny_store, "popular_items", {"k": 3})
    assert [r["item_id"] for r in rows] == popular[:3]
    rated = [i for i in by_item if len(by_item[i]) >= 2]
    best = sorted(rated, key=lambda i: (-mean(by_item[i].values()), -len(by_item[i]), i))
    rows = run_query(tiny_store, "top_rated_items", {"min_ratings": 2})
    assert [r["item_id"] for r in rows] == best
    mine = [(n, i, r) for n, (u, i, r) in enumerate(RATINGS) if u == "u2"]
    rows = run_query(tiny_store, "user_items", {"user_id": "u2"})
    assert [r["item_id"] for r in rows] == [i for _, i, _ in sorted(mine, reverse=True)]
    assert [r["rating"] for r in rows] == [r for *_, r in sorted(mine, reverse=True)]


SAMPLE_PARAMS = {
    "item_id": "i1",
    "user_id": "u1",
    "tag": "scifi",
    "tags": ["scifi"],
    "item_ids": ["i4"],
    "rows": [
        {
            "item_id": "i4",
            "via_id": "i1",
            "tag": "scifi",
            "other_id": "u2",
            "entity_id": "e1",
            "co_users": 1,
        }
    ],
}


def test_every_query_in_the_library_runs(tiny_store):
    """Each file runs on the embedded store with only its required parameters given."""
    for q in list_queries():
        required = {p["name"] for p in q["params"] if p["required"]}
        missing = required - set(SAMPLE_PARAMS) - {"limit", "k"}
        assert not missing, f"{q['name']}: add sample values for {missing}"
        params = {name: SAMPLE_PARAMS.get(name, 10) for name in required}
        rows = run_query(tiny_store, q["name"], params)
        assert isinstance(rows, list), q["name"]
        if q["name"].startswith(("path_", "explain_")) and q["name"] != "explain_user_tags":
            assert rows, f"{q['name']} finds the u1 -> i1 -> ... -> i4 path"


def test_internal_statements_are_run_by_name_but_not_listed(tiny_store):
    from kgrec.queries.runner import INTERNAL

    listed = {q["name"] for q in list_queries()}
    assert not listed & set(INTERNAL.names())
    for name in (
        "item_popularity",
        "user_items",
        "item_details",
        "items_with_tags",
        "explain_co_users",
        "path_co_users",
        "user_exists",
        "item_exists",
    ):
        assert name in INTERNAL, name
    assert run_query(tiny_store, "user_exists", {"id": "u5"}) == [{"id": "u5"}]
    assert run_query(tiny_store, "user_exists", {"id": "i1"}) == []
    assert run_query(tiny_store, "item_exists", {"id": "i6"}) == [{"id": "i6"}]
    assert run_query(tiny_store, "item_exists", {"id": "u1"}) == []


def test_a_query_runs_in_the_mode_its_header_declares(store):
    from kgrec.core.errors import WriteInReadMode
    from kgrec.kg.catalogue import parse
    from kgrec.queries.runner import _run, run_cypher

    header = "// name: q\n// summary: s\n// mode: {mode}\n// params:\n//   $id  STRING  id\n"
    body = "CREATE (u:User {id: $id}) RETURN u.id AS id"
    with pytest.raises(WriteInReadMode):
        _run(store, parse("q", header.format(mode="read") + body), {"id": "a"})
    assert _run(store, parse("q", header.format(mode="write") + body), {"id": "a"}) == [{"id": "a"}]
    with pytest.raises(WriteInReadMode):
        run_cypher(store, body, {"id": "b"})
    assert run_cypher(store, body, {"id": "b"}, write=True) == [{"id": "b"}]
    assert run_cypher(store, "MATCH (u:User) RETURN u.id AS id ORDER BY id") == [
        {"id": "a"},
        {"id": "b"},
    ]
    with pytest.raises(QueryParameterError, match=r"missing parameter \$id"):
        run_cypher(store, body)
    with pytest.raises(QueryParameterError, match="unknown parameter"):
        run_cypher(store, "RETURN 1 AS one", {"x": "1"})


def test_unknown_names_get_close_suggestions():
    with pytest.raises(QueryNotFound, match="did you mean 'top_items_for_tag'"):
        run_query(None, "top_item_for_tag")
