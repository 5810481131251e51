"""Export reads back exactly what ingestion wrote, in stable order, on every backend."""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from kgrec.app.ingest import ingest
from kgrec.core.dataset import COLUMNS
from kgrec.kg.export import export_graph
from kgrec.loaders import generate_synthetic


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.astype({c: str for c in frame.columns if frame[c].dtype == object})
    return frame.sort_values(list(frame.columns)).reset_index(drop=True)


def test_round_trip_preserves_every_frame(store, embedder):
    dataset = generate_synthetic(
        num_users=30, num_items=60, num_tags=12, num_interactions=400, seed=3
    )
    dataset.entities = pd.DataFrame(
        {"id": ["e1", "e2"], "name": ["Ridley Scott", "NASA"], "type": ["person", "org"]}
    )
    dataset.triples = pd.DataFrame(
        {
            "item_id": [dataset.items["id"][0]] * 2,
            "relation": ["directed_by", "about"],
            "entity_id": ["e1", "e2"],
        }
    )
    ingest(dataset, store, embedder)
    exported = export_graph(store, page_size=7)  # many small pages
    for name in COLUMNS:
        got, want = exported.frames[name], getattr(dataset, name)
        assert list(got.columns) == COLUMNS[name]
        pd.testing.assert_frame_equal(_sorted(got), _sorted(want), check_dtype=False)
    assert list(exported.frames["items"]["id"]) == sorted(dataset.items["id"])
    assert exported.item_embeddings.shape == (60, embedder.dim)
    norms = np.linalg.norm(exported.item_embeddings, axis=1)
    np.testing.assert_allclose(norms, 1.0, atol=1e-4)
    again = export_graph(store)
    np.testing.assert_array_equal(again.item_embeddings, exported.item_embeddings)


def test_export_equals_a_plain_read_and_the_same_tensors_each_time(store, embedder):
    """Whatever the page sizes, the export holds exactly what one plain read of each
    relationship returns, and two exports give the same tensors."""
    from kgrec.app.training import load_tensors

    ingest(
        generate_synthetic(num_users=50, num_items=40, num_tags=10, num_interactions=600, seed=4),
        store,
        embedder,
    )
    plain = store.run(
        "MATCH (u:User)-[e:INTERACTED]->(i:Item) RETURN u.id AS user_id, i.id AS item_id, "
        "e.kind AS kind, e.rating AS rating, e.weight AS weight, e.ts AS ts, e.split AS split"
    )
    want = pd.DataFrame(plain).assign(split=lambda f: f["split"].fillna(""))
    for page_size in (3, 1000):
        got = export_graph(store, page_size=page_size).frames["interactions"]
        assert len(got) == len(plain)
        pd.testing.assert_frame_equal(
            _sorted(got), _sorted(want[list(got.columns)]), check_dtype=False
        )
    first, second = load_tensors(store), load_tensors(store)
    assert first.user_ids == second.user_ids and first.item_ids == second.item_ids
    for name in ("edge_index", "item_tag_index", "item_entity_index"):
        assert torch.equal(getattr(first, name), getattr(second, name))
