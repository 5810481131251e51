"""A writable world for the tests that record behaviour: a fresh store of each backend with
a small synthetic dataset and a trained live LightGCN (`history_world`: the default ease)."""

from __future__ import annotations

import pytest

from kgrec.app.ingest import ingest
from kgrec.app.training import train
from kgrec.loaders import generate_synthetic


def _writable(backend, store_pool, tmp_path, embedder, model):
    dataset = generate_synthetic(
        num_users=60, num_items=90, num_tags=15, num_interactions=1500, seed=5
    )
    uri, store = store_pool.fresh(backend, tmp_path)
    ingest(dataset, store, embedder)
    models = tmp_path / "models"
    # no cold-user aggregator: these tests check the history vector itself (test_cold_users
    # promotes a version with one)
    result, _ = train(store, models, model, epochs=6, seed=0, device="cpu", aggregator_epochs=0)
    assert result.promoted
    return uri, getattr(store, "graph_name", "kgrec"), store, models, dataset


@pytest.fixture
def history_world(backend, store_pool, tmp_path, embedder):
    """:func:`writable_world` with the default model, ``ease`` (a history model), trained
    without a cold-user aggregator: every user is served the history vector."""
    world = _writable(backend, store_pool, tmp_path, embedder, "ease")
    yield world
    if backend == "embedded":
        world[2].close()


@pytest.fixture
def writable_world(backend, store_pool, tmp_path, embedder):
    """``(store uri, graph, store, model dir, dataset)``: the store is this test's to write;
    ``Recommender.open(uri, models, graph)`` opens it again."""
    dataset = generate_synthetic(
        num_users=60, num_items=90, num_tags=15, num_interactions=1500, seed=5
    )
    uri, store = store_pool.fresh(backend, tmp_path)
    ingest(dataset, store, embedder)
    models = tmp_path / "models"
    result, _ = train(store, models, "lightgcn", epochs=6, seed=0, device="cpu")
    assert result.promoted
    yield uri, getattr(store, "graph_name", "kgrec"), store, models, dataset
    if backend == "embedded":
        store.close()
