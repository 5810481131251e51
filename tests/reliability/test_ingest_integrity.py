"""Adding data never loses data: catalogue properties the input lacks are kept, changed texts
really change the stored vectors, and datasets that share ids are announced. Every backend."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from kgrec.app.ingest import ingest
from kgrec.core.dataset import Dataset
from kgrec.kg.vector import similar_items
from kgrec.loaders import generate_synthetic

ITEM_STATE = "MATCH (i:Item) RETURN i.id AS id, i.title AS title, i.text AS text ORDER BY id"


def _world() -> Dataset:
    return generate_synthetic(num_users=20, num_items=40, num_tags=8, num_interactions=300, seed=11)


def _behaviour_only(user: str, item: str, name: str = "csv") -> Dataset:
    """What ``kgrec ingest csv`` without ``--items`` reads: an item known by its id alone."""
    ds = Dataset(name=name)
    ds.users = pd.DataFrame({"id": [user]}, dtype=object)
    ds.items = pd.DataFrame({"id": [item], "title": [None], "description": [None]}, dtype=object)
    ds.interactions = pd.DataFrame(
        {
            "user_id": [user],
            "item_id": [item],
            "kind": ["rating"],
            "rating": [4.0],
            "weight": [4.0],
            "ts": [1_500_000_000],
            "split": [""],
        }
    )
    return ds


def _vector(store, item_id: str) -> np.ndarray:
    row = store.run("MATCH (i:Item {id: $id}) RETURN i.embedding AS v", {"id": item_id})[0]
    return np.asarray(row["v"], dtype=np.float32)


def test_behaviour_without_a_catalogue_keeps_titles_and_texts(store, embedder):
    world = _world()
    ingest(world, store, embedder)
    before = store.run(ITEM_STATE)
    item = world.items["id"].iloc[0]
    vector = _vector(store, item)

    report = ingest(_behaviour_only("new-user", item), store, embedder)

    assert store.run(ITEM_STATE) == before
    assert report.texts_embedded == 0 and report.embeddings_written == 0
    np.testing.assert_array_equal(_vector(store, item), vector)
    rated = store.run(
        "MATCH (:User {id: 'new-user'})-[r:INTERACTED]->(i:Item) RETURN i.id AS id, r.rating AS r"
    )
    assert rated == [{"id": item, "r": 4.0}]


def test_an_item_known_only_by_id_gets_no_made_up_text(store, embedder):
    ingest(_behaviour_only("u", "brand-new"), store, embedder)
    row = store.run(
        "MATCH (i:Item {id: 'brand-new'}) RETURN i.title AS title, i.text AS text, i.embedding AS v"
    )
    assert row == [{"title": None, "text": None, "v": None}]


def test_a_changed_text_changes_the_vector_and_the_neighbours(store, embedder):
    world = _world()
    ingest(world, store, embedder)
    items = world.items.reset_index(drop=True)
    target, twin = items["id"].iloc[0], items["id"].iloc[1]
    old = _vector(store, target)

    renamed = world
    renamed.items = items.copy()
    renamed.items.loc[0, ["title", "description"]] = items.loc[1, ["title", "description"]]
    renamed.item_tags = pd.concat(
        [
            world.item_tags[world.item_tags["item_id"] != target],
            world.item_tags[world.item_tags["item_id"] == twin].assign(item_id=target),
        ]
    )
    report = ingest(renamed, store, embedder)  # the target now reads exactly as its twin

    assert report.embeddings_written == 1
    text = store.run("MATCH (i:Item {id: $id}) RETURN i.text AS t", {"id": target})[0]["t"]
    assert items.loc[1, "title"] in text
    new = _vector(store, target)
    assert not np.allclose(new, old)
    np.testing.assert_allclose(new, embedder.embed([text])[0], atol=1e-5)
    stored = store.run(
        "MATCH (i:Item) WHERE i.id <> $id RETURN i.id AS id, i.embedding AS v", {"id": target}
    )
    cosines = {r["id"]: float(np.dot(r["v"], new)) for r in stored}
    exact = sorted(cosines, key=lambda i: (-cosines[i], i))[:5]
    neighbours = similar_items(store, target, 5)
    assert [n["id"] for n in neighbours] == exact
    assert neighbours[0]["id"] == twin


def test_a_dataset_on_another_datasets_ids_keeps_titles_and_says_so(store, embedder, caplog):
    world = _world()
    ingest(world, store, embedder)
    before = store.run(ITEM_STATE)
    item = world.items["id"].iloc[3]

    with caplog.at_level(logging.WARNING, logger="kgrec.app.ingest"):
        ingest(_behaviour_only("lg-user", item, name="lightgcn"), store, embedder)

    assert store.run(ITEM_STATE) == before
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(
        "already exist" in w and "'synthetic'" in w and "--id-prefix" in w for w in warnings
    ), warnings
