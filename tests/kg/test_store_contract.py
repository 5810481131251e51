"""One contract, every backend: parameters, plain rows, counters, schema, vector search."""

from __future__ import annotations

import numpy as np
import pytest

from kgrec.errors import CypherError, UnknownIdError
from kgrec.kg.schema import ensure_schema, ensure_vector_index, list_indexes
from kgrec.kg.vector import similar_items, vector_search
from kgrec.kg.writer import WRITES, BatchWriter, render


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
    )
    ensure_vector_index(store, "Item", "embedding", 16)
    writer.write(
        "set_item_embeddings",
        [
            {"id": f"i{n}", "embedding": vectors[n].tolist(), "text_hash": f"h{n}"}
            for n in range(50)
        ],
    )
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
        assert len(exact & {h["id"] for h in hits}) >= 4  # HNSW is approximate
    neighbours = similar_items(store, "i17", 4)
    assert len(neighbours) == 4 and "i17" not in [h["id"] for h in neighbours]
    with pytest.raises(UnknownIdError):
        similar_items(store, "nope", 3)


def test_vector_marker_is_rendered_per_backend(store):
    text = render(WRITES.get("set_item_embeddings"), store)
    assert "kgrec_vector" not in text
    assert ("vecf32(" in text) == (store.dialect.name == "falkordb")
