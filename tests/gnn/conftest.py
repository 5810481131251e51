"""Fixtures for the GNN tests: a small synthetic world with text vectors correlated with tags."""

from __future__ import annotations

import numpy as np
import pytest

from kgrec.gnn.data import GraphTensors


def text_vectors(ds, dim: int = 32, noise: float = 0.3, seed: int = 0):
    """Deterministic 'text' vectors: the sum of random per-tag vectors plus noise, normalised.

    Returns:
        ``(item_vectors [items, dim], tag_vectors [tags, dim])`` aligned with the frames.
    """
    rng = np.random.default_rng(seed)
    tag_vec = rng.normal(size=(len(ds.tags), dim)).astype(np.float32)
    tag_pos = {name: k for k, name in enumerate(ds.tags["name"])}
    item_pos = {item: k for k, item in enumerate(ds.items["id"])}
    items = noise * rng.normal(size=(len(ds.items), dim)).astype(np.float32)
    for item, tag in zip(ds.item_tags["item_id"], ds.item_tags["tag"], strict=True):
        items[item_pos[item]] += tag_vec[tag_pos[tag]]
    items /= np.linalg.norm(items, axis=1, keepdims=True)
    tag_vec /= np.linalg.norm(tag_vec, axis=1, keepdims=True)
    return items.astype(np.float32), tag_vec.astype(np.float32)


def make_world(num_users=150, num_items=200, num_tags=20, num_interactions=4000, seed=0):
    from kgrec.loaders.synthetic import generate_synthetic_world

    ds, prefs = generate_synthetic_world(num_users, num_items, num_tags, num_interactions, seed)
    items, tags = text_vectors(ds, seed=seed)
    return ds, prefs, GraphTensors.from_dataset(ds, items, tags)


@pytest.fixture(scope="session")
def world():
    """``(dataset, favourite tags by user, GraphTensors)`` of a small synthetic world."""
    return make_world()


@pytest.fixture(scope="session")
def tensors(world):
    return world[2]


@pytest.fixture(scope="module")
def solved_ease(world):
    """``(tensors, split, EASE)`` fitted on the synthetic world's temporal training part
    (lam 50, decay 0.8, rank 64); one per test module."""
    from kgrec.gnn.models.ease import EASE
    from kgrec.gnn.training.splits import temporal_split
    from kgrec.gnn.training.train import fit, seed_everything

    _, _, tensors = world
    split = temporal_split(tensors)
    seed_everything(0)
    model = EASE.from_tensors(tensors, split.train, lam=50.0, decay=0.8, rank=64)
    fit(model, tensors, split)
    return tensors, split, model
