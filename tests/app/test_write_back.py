"""The write-back writes what differs from the store only, and the store then holds the live
model: every vector within the tolerance (item vectors on ItemVector nodes, none on the
items), each user's top-k as RECOMMENDED edges, an item vector index that answers k
neighbours. Both stores, real models on small synthetic data."""

from __future__ import annotations

import numpy as np
import pytest

from kgrec.app.ingest import ingest
from kgrec.app.training import load_tensors, write_back, write_back_status
from kgrec.app.write_back import DEFAULT_TOLERANCE, RECORD_DIR
from kgrec.gnn.training.job import run_job
from kgrec.gnn.versions import load_live, load_version
from kgrec.kg.schema import RETIRED_VECTOR_INDEXES, vector_index
from kgrec.kg.vector import similar_items, vector_search
from kgrec.loaders import generate_synthetic

WORLD = {"num_users": 40, "num_items": 60, "num_tags": 8, "num_interactions": 900, "seed": 5}
FAST = {"batch_size": 256, "lr": 5e-3, "patience": 100, "eval_every": 1, "device": "cpu"}
K = 5


@pytest.fixture
def trained(store, embedder, tmp_path):
    """A store with a small world and a promoted (not yet written back) model."""
    ingest(generate_synthetic(**WORLD), store, embedder)
    model_dir = tmp_path / "models"
    tensors = load_tensors(store)
    assert run_job(tensors, model_dir, "mf", epochs=1, seed=0, **FAST).promoted
    return model_dir, tensors


def _stored(store, label: str) -> dict[str, tuple[np.ndarray | None, str | None]]:
    rows = store.run(
        f"MATCH (n:{label}) RETURN n.id AS id, n.gnn_embedding AS v, n.model_version AS version"
    )
    return {r["id"]: (None if r["v"] is None else np.asarray(r["v"]), r["version"]) for r in rows}


def _assert_store_holds_the_live_model(store, model_dir, tensors) -> None:
    """Every vector within the tolerance of the live model's; each user's RECOMMENDED edges
    are their k best unseen items by the live model's scores, ranked."""
    live = load_live(model_dir)
    users, items = live.user_embeddings.numpy(), live.item_embeddings.numpy()
    for label, ids, values in (
        ("User", live.id_maps["users"], users),
        ("ItemVector", live.id_maps["items"], items),
    ):
        stored = _stored(store, label)
        for node_id, vector in zip(ids, values, strict=True):
            held = stored[node_id][0]
            assert held is not None, (label, node_id)
            gap = np.linalg.norm(held - vector)
            assert gap <= 2 * DEFAULT_TOLERANCE * np.linalg.norm(vector) + 1e-6, (label, node_id)
    on_items = "MATCH (i:Item) WHERE i.gnn_embedding IS NOT NULL RETURN count(i) AS n"
    assert store.run(on_items) == [{"n": 0}]  # item vectors live on ItemVector nodes
    item_pos = {i: j for j, i in enumerate(live.id_maps["items"])}
    seen: dict[str, set[int]] = {}
    edges = tensors.edge_index.numpy()
    for u, i in zip(edges[0], edges[1], strict=True):
        seen.setdefault(tensors.user_ids[u], set()).add(item_pos[tensors.item_ids[i]])
    rows = store.run(
        "MATCH (u:User)-[r:RECOMMENDED]->(i:Item) RETURN u.id AS user, i.id AS item, r.rank AS rank"
    )
    lists: dict[str, dict[int, str]] = {}
    for r in rows:
        lists.setdefault(r["user"], {})[r["rank"]] = r["item"]
    assert set(lists) == set(live.id_maps["users"])
    for u, user_id in enumerate(live.id_maps["users"]):
        ranked = [item_pos[lists[user_id][r]] for r in sorted(lists[user_id])]
        assert sorted(lists[user_id]) == list(range(1, K + 1))
        scores = items @ users[u]
        assert not set(ranked) & seen.get(user_id, set())
        assert np.all(np.diff(scores[ranked]) <= 1e-4)  # best first
        rest = [j for j in range(len(items)) if j not in ranked and j not in seen.get(user_id, ())]
        assert scores[ranked].min() >= scores[rest].max() - 1e-4  # nothing better was left out


def _item_index_answers_k(store, model_dir) -> None:
    live = load_live(model_dir)
    item = live.id_maps["items"][0]
    assert len(similar_items(store, item, K, prop="gnn_embedding")) == K
    hits = vector_search(
        store,
        live.item_embeddings[3].tolist(),
        len(live.id_maps["items"]),
        label="ItemVector",
        prop="gnn_embedding",
    )
    assert sorted(h["id"] for h in hits) == sorted(live.id_maps["items"])
    rows = store.run("MATCH (i:Item) RETURN i.id AS id, i.title AS title")
    titles = {r["id"]: r["title"] for r in rows}
    assert all(h["title"] == titles[h["id"]] for h in hits)


def test_a_second_write_back_of_an_unchanged_model_writes_nothing(store, trained):
    model_dir, tensors = trained
    live = load_live(model_dir)
    first = write_back(store, model_dir, tensors, K)
    assert not first["compared"]
    assert (first["written_users"], first["written_items"]) == (
        len(live.id_maps["users"]),
        len(live.id_maps["items"]),
    )
    num_users = len(live.id_maps["users"])
    assert first["written_recommendations"] == first["recommendations"] == K * num_users
    second = write_back(store, model_dir, tensors, K)
    assert second["compared"]
    assert second["written_users"] == second["written_items"] == 0
    assert second["written_recommendations"] == second["cleared_recommendations"] == 0
    assert second["recommendations"] == first["recommendations"]
    status = write_back_status(store, model_dir)
    assert status["in_sync"] and status["recommendations"] == first["recommendations"]
    _assert_store_holds_the_live_model(store, model_dir, tensors)
    _item_index_answers_k(store, model_dir)


def test_a_changed_model_is_written_where_it_changed(store, trained):
    model_dir, tensors = trained
    v1 = load_live(model_dir)
    write_back(store, model_dir, tensors, K)
    assert run_job(tensors, model_dir, "mf", epochs=1, seed=1, tolerance=1.0, **FAST).promoted
    v2 = load_live(model_dir)
    out = write_back(store, model_dir, tensors, K)
    assert out["compared"] and out["version"] == v2.version_dir.name
    old, new = load_version(v1.version_dir), v2
    for kind, key in (("users", "written_users"), ("items", "written_items")):
        a = getattr(old, f"{kind[:-1]}_embeddings").numpy()
        b = getattr(new, f"{kind[:-1]}_embeddings").numpy()
        moved = np.linalg.norm(b - a, axis=1) > DEFAULT_TOLERANCE * np.linalg.norm(a, axis=1)
        assert out[key] == int(moved.sum()) > 0
    stored = _stored(store, "User")
    assert {version for _, version in stored.values()} == {v2.version_dir.name}
    _assert_store_holds_the_live_model(store, model_dir, tensors)
    _item_index_answers_k(store, model_dir)
    assert write_back_status(store, model_dir)["in_sync"]


def test_without_its_record_the_store_is_written_whole(store, trained):
    model_dir, tensors = trained
    write_back(store, model_dir, tensors, K)
    records = list((model_dir / RECORD_DIR).glob("*.npz"))
    assert len(records) == 1
    records[0].unlink()
    out = write_back(store, model_dir, tensors, K)
    assert not out["compared"]
    num_users = len(load_live(model_dir).id_maps["users"])
    assert out["written_users"] == num_users
    assert out["written_recommendations"] == K * num_users
    _assert_store_holds_the_live_model(store, model_dir, tensors)


def test_a_store_of_the_earlier_layout_moves_item_vectors_off_the_items(store, trained):
    """Earlier releases kept item vectors on the items, under an index of their own; their
    record names that layout. The next write-back writes every item vector to an
    ItemVector node, clears the items' own and drops that index."""
    model_dir, tensors = trained
    write_back(store, model_dir, tensors, K)
    dim = load_live(model_dir).item_embeddings.shape[1]
    store.write(
        "MATCH (v:ItemVector) MATCH (i:Item {id: v.id}) "
        "SET i.gnn_embedding = v.gnn_embedding, i.model_version = v.model_version DELETE v"
    )
    retired = RETIRED_VECTOR_INDEXES[("Item", "gnn_embedding")]
    store.write(
        store.dialect.vector_index.format(label="Item", prop="gnn_embedding", dim=dim, name=retired)
    )
    assert vector_index(store, "Item", "gnn_embedding") is not None
    (record,) = (model_dir / RECORD_DIR).glob("*.npz")
    record.rename(record.with_name(record.name.split(".")[0] + ".npz"))  # the old layout's name
    out = write_back(store, model_dir, tensors, K)
    assert not out["compared"] and out["written_items"] == len(
        load_live(model_dir).id_maps["items"]
    )
    left = store.run(
        "MATCH (i:Item) WHERE i.gnn_embedding IS NOT NULL OR i.model_version IS NOT NULL "
        "RETURN count(i) AS n"
    )
    assert left == [{"n": 0}]
    assert vector_index(store, "Item", "gnn_embedding") is None
    _assert_store_holds_the_live_model(store, model_dir, tensors)
    _item_index_answers_k(store, model_dir)
