"""One contract, every backend: parameters, plain rows, counters, schema, vector search."""

from __future__ import annotations

import logging
import uuid

import numpy as np
import pytest

from kgrec.core.errors import CypherError, QueryNotFound, UnknownIdError
from kgrec.kg.schema import ensure_schema, ensure_vector_index, list_indexes, vector_index
from kgrec.kg.vector import similar_items, vector_search, write_vectors
from kgrec.kg.writer import WRITES, BatchWriter, render, run_statement


def test_values_travel_as_parameters(store):
    nasty = "x' }) DETACH DELETE n //\"\\"
    store.write("CREATE (:User {id: $id})", {"id": nasty})
    rows = store.run("MATCH (u:User {id: $id}) RETURN u.id AS id", {"id": nasty})
    assert rows == [{"id": nasty}]


def test_rows_hold_plain_values(store):
    store.write(
        "CREATE (:Item {id: 'a', title: 'Alien'})"
        "-[:HAS_TAG {source: 'genre'}]->(:Tag {name: 'horror'})"
    )
    row = store.run("MATCH p = (i:Item)-[r]->(t:Tag) RETURN i, r, p, [1, 2] AS xs")[0]
    assert row["i"] == {"labels": ["Item"], "properties": {"id": "a", "title": "Alien"}}
    assert row["r"] == {"type": "HAS_TAG", "properties": {"source": "genre"}}
    assert [n["properties"] for n in row["p"]["nodes"]] == [
        {"id": "a", "title": "Alien"},
        {"name": "horror"},
    ]
    assert row["xs"] == [1, 2]


def test_bad_cypher_is_a_project_error(store):
    with pytest.raises(CypherError):
        store.run("MATCH (n RETURN n")


def test_schema_is_idempotent_and_listed(store):
    ensure_schema(store)
    assert ensure_schema(store) == 0
    indexed = {(i["label"], i["property"]) for i in list_indexes(store)}
    assert {("User", "id"), ("Item", "id"), ("Tag", "name"), ("Entity", "id")} <= indexed


def test_batched_merge_counts_and_is_idempotent(store):
    ensure_schema(store)
    writer = BatchWriter(store)
    rows = [{"id": f"u{i}"} for i in range(2500)]
    first = writer.write("merge_users", rows, batch_size=1000)
    second = writer.write("merge_users", rows, batch_size=1000)
    assert first.created == 2500 and second.created == 0
    assert store.run("MATCH (u:User) RETURN count(u) AS n") == [{"n": 2500}]


def _unit_vectors(seed: int, num: int = 50, dim: int = 16) -> np.ndarray:
    vectors = np.random.default_rng(seed).normal(size=(num, dim)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def _vector_rows(vectors: np.ndarray) -> list[dict]:
    return [
        {"id": f"i{n}", "embedding": v.tolist(), "text_hash": f"h{n}"}
        for n, v in enumerate(vectors)
    ]


def _items(store, num: int = 50) -> None:
    rows = [{"id": f"i{n}", "title": f"T{n}", "description": None} for n in range(num)]
    BatchWriter(store).write("merge_items", rows, params={"dataset": "test"})


def test_vector_search_returns_k_with_the_item_first(store):
    ensure_schema(store)
    rng = np.random.default_rng(7)
    vectors = rng.normal(size=(50, 16)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    writer = BatchWriter(store)
    writer.write(
        "merge_items",
        [
            {
                "id": f"i{n}",
                "title": f"T{n}",
                "description": None,
                "text": f"t{n}",
                "text_hash": f"h{n}",
            }
            for n in range(50)
        ],
        params={"dataset": "test"},
    )
    write_vectors(store, "set_item_embeddings", "Item", "embedding", _vector_rows(vectors), 16)
    for probe in (0, 17, 42):
        hits = vector_search(store, vectors[probe].tolist(), 5)
        assert len(hits) == 5
        assert hits[0]["id"] == f"i{probe}"
        assert hits[0]["similarity"] == pytest.approx(1.0, abs=1e-4)
        cosines = vectors @ vectors[probe]
        for hit in hits:  # each similarity is the true cosine, in descending order
            assert hit["similarity"] == pytest.approx(cosines[int(hit["id"][1:])], abs=1e-4)
        sims = [h["similarity"] for h in hits]
        assert sims == sorted(sims, reverse=True)
        exact = {f"i{n}" for n in np.argsort(-cosines)[:5]}
        assert {h["id"] for h in hits} == exact
    neighbours = similar_items(store, "i17", 4)
    assert len(neighbours) == 4 and "i17" not in [h["id"] for h in neighbours]
    with pytest.raises(UnknownIdError):
        similar_items(store, "nope", 3)


def test_vector_marker_is_rendered_per_backend(store):
    text = render(WRITES.get("set_item_embeddings"), store)
    assert "kgrec_vector" not in text
    assert ("vecf32(" in text) == (store.dialect.name == "falkordb")


def test_overwritten_vectors_are_stored_and_searched_exactly(store):
    ensure_schema(store)
    _items(store)
    for seed in range(4):  # the first write, then three retrains' worth of overwrites
        vectors = _unit_vectors(seed)
        write_vectors(store, "set_item_embeddings", "Item", "embedding", _vector_rows(vectors), 16)
    stored = {
        r["id"]: r["v"] for r in store.run("MATCH (i:Item) RETURN i.id AS id, i.embedding AS v")
    }
    for n, v in enumerate(vectors):
        np.testing.assert_allclose(stored[f"i{n}"], v, atol=1e-6)
    for k in (5, 20, 50):
        hits = vector_search(store, vectors[3].tolist(), k)
        assert len(hits) == k
        assert len({h["id"] for h in hits}) == k
        assert hits[0]["id"] == "i3"


def test_a_vector_index_of_another_dimension_is_recreated(store):
    ensure_schema(store)
    _items(store)
    small = _unit_vectors(1, dim=8)
    write_vectors(store, "set_item_embeddings", "Item", "embedding", _vector_rows(small), 8)
    assert vector_index(store, "Item", "embedding")["dimension"] == 8
    big = _unit_vectors(2, dim=24)
    write_vectors(store, "set_item_embeddings", "Item", "embedding", _vector_rows(big), 24)
    index = vector_index(store, "Item", "embedding")
    assert (index["dimension"], index["similarity"], index["quantized"]) == (24, "cosine", False)
    assert ensure_vector_index(store, "Item", "embedding", 24) is False  # already right
    hits = vector_search(store, big[7].tolist(), 3)
    assert hits[0]["id"] == "i7"
    assert hits[0]["similarity"] == pytest.approx(1.0, abs=1e-5)


def test_index_states_share_one_vocabulary(store):
    ensure_schema(store)
    _items(store, 5)
    write_vectors(
        store, "set_item_embeddings", "Item", "embedding", _vector_rows(_unit_vectors(0, 5)), 16
    )
    states = {i["state"] for i in list_indexes(store)}
    assert states == {"online"}


def test_the_store_layer_triggers_no_server_notifications(store, embedder, caplog):
    """Neo4j reports deprecated syntax and other notifications through the driver's log; the
    project's statements cause none (the embedded store has no such log: the test holds)."""
    from kgrec.app.ingest import ingest
    from kgrec.loaders import generate_synthetic
    from kgrec.queries.runner import ANALYST, INTERNAL, describe_query, run_query

    dataset = generate_synthetic(
        num_users=10, num_items=20, num_tags=5, num_interactions=80, seed=2
    )
    user, item = dataset.users["id"].iloc[0], dataset.items["id"].iloc[0]
    samples = {"user_id": user, "item_id": item, "item_ids": [item], "tag": "x", "tags": ["x"]}
    with caplog.at_level(logging.INFO, logger="neo4j"):
        ingest(dataset, store, embedder)
        similar_items(store, item, 3)
        for query in map(describe_query, ANALYST.all() + INTERNAL.all()):
            params = {
                p["name"]: samples[p["name"]] for p in query["params"] if p["name"] in samples
            }
            if {p["name"] for p in query["params"] if p["required"]} <= set(params):
                run_query(store, query["name"], params)
        store.drop()
    notes = [r.getMessage() for r in caplog.records if r.name.startswith("neo4j.notifications")]
    assert notes == []


def test_names_no_graph_holds_yet_cause_no_server_notifications(store, caplog):
    """A fresh database knows no RECOMMENDED type until the first training run; reading it then
    is normal and must not fill the log (names unique to this run were never seen anywhere)."""
    tag = uuid.uuid4().hex[:12]
    with caplog.at_level(logging.INFO, logger="neo4j"):
        rows = store.run(
            f"MATCH (a:Unseen_{tag})-[r:UNSEEN_{tag}]->(b) WHERE r.unseen_{tag} = $v "
            "RETURN count(r) AS n",
            {"v": 1},
        )
    assert rows == [{"n": 0}]
    notes = [r.getMessage() for r in caplog.records if r.name.startswith("neo4j.notifications")]
    assert notes == []


def test_deprecated_syntax_still_reaches_the_log(neo4j_store, caplog):
    """The notice filter keeps what matters: Neo4j 5 deprecates id(), and says so."""
    with caplog.at_level(logging.INFO, logger="neo4j"):
        neo4j_store.run("OPTIONAL MATCH (n:Item) WITH n LIMIT 1 RETURN id(n) AS n")
    notes = [r.getMessage() for r in caplog.records if r.name.startswith("neo4j.notifications")]
    assert any("deprecated" in note.lower() for note in notes)


def test_run_is_read_only_on_every_backend(store):
    """A write sent through run() is refused by the store itself, with a typed error."""
    from kgrec.core.errors import WriteInReadMode
    from kgrec.kg.store import Mode

    for statement in ("CREATE (:User {id: $id})", "MERGE (u:User {id: $id}) SET u.x = 1"):
        with pytest.raises(WriteInReadMode, match="write mode"):
            store.run(statement, {"id": "sneaky"})
    assert store.run("MATCH (u:User) RETURN count(u) AS n") == [{"n": 0}]
    assert store.execute(
        "CREATE (u:User {id: $id}) RETURN u.id AS id", {"id": "a"}, Mode.WRITE
    ) == [{"id": "a"}]
    with pytest.raises(WriteInReadMode):
        store.execute("CREATE (:User {id: 'b'})", mode=Mode.READ)
    assert store.execute("MATCH (u:User) RETURN u.id AS id") == [{"id": "a"}]


def test_reads_on_a_store_nothing_was_written_to(store):
    """A fresh graph answers reads (FalkorDB has no graph key before the first write)."""
    store.drop()
    assert store.run("MATCH (n) RETURN count(n) AS n") == [{"n": 0}]
    assert list_indexes(store) == []


def test_drop_and_compact_are_part_of_the_contract(store):
    from kgrec.kg.store import GraphStore

    assert {"drop", "compact", "run", "write", "close"} <= GraphStore.__abstractmethods__
    ensure_schema(store)
    store.write("CREATE (:User {id: 'x'})")
    assert isinstance(store.compact(), bool)
    store.drop()
    assert store.run("MATCH (n) RETURN count(n) AS n") == [{"n": 0}]
    assert list_indexes(store) == []


def test_statements_run_in_their_own_mode(store):
    ensure_schema(store)
    run_statement(
        store, "write_back_started", {"key": "k", "model_version": "v9", "started": "t0", "k": 3}
    )
    [state] = run_statement(store, "write_back_state", {"key": "k"})
    assert state["version"] == "v9"
    with pytest.raises(QueryNotFound):
        BatchWriter(store).write("count_graph", [{"id": "x"}])
