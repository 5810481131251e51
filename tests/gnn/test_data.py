from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from kgrec.gnn.data import GraphTensors, load_id_maps


def _frames():
    users = pd.DataFrame({"id": ["u1", "u2"]})
    items = pd.DataFrame({"id": ["a", "b", "c"], "title": ["A", "B", "C"], "description": None})
    tags = pd.DataFrame({"name": ["space", "jazz"]})
    inter = pd.DataFrame(
        {
            "user_id": ["u1", "u1", "u2", "u3", "u1"],
            "item_id": ["a", "b", "b", "c", "a"],
            "kind": "rating",
            "rating": [5.0, np.nan, 3.0, 1.0, 4.0],
            "weight": 1.0,
            "ts": [10, 20, -1, 5, 30],
            "split": ["", "train", "test", "", ""],
        }
    )
    item_tags = pd.DataFrame(
        {
            "item_id": ["a", "c", "d"],
            "tag": ["space", "jazz", "noir"],
            "source": "genre",
            "count": 1,
        }
    )
    triples = pd.DataFrame({"item_id": ["a"], "relation": ["directed_by"], "entity_id": ["e1"]})
    entities = pd.DataFrame({"id": ["e1"], "name": ["Someone"], "type": ["person"]})
    return users, items, tags, inter, item_tags, triples, entities


def test_from_frames_maps_and_edges():
    users, items, tags, inter, item_tags, triples, entities = _frames()
    emb = np.arange(9, dtype=np.float32).reshape(3, 3)
    t = GraphTensors.from_frames(
        users, items, tags, inter, item_tags, triples, entities, item_embeddings=emb
    )
    assert t.user_ids == ["u1", "u2", "u3"]  # u3 only in interactions: appended
    assert t.item_ids == ["a", "b", "c", "d"]  # d only in item_tags
    assert t.tag_names == ["space", "jazz", "noir"]
    assert t.entity_ids == ["e1"]
    assert t.num_interactions == 4  # duplicate (u1, a) dropped, first kept
    assert t.edge_index.tolist() == [[0, 0, 1, 2], [0, 1, 1, 2]]
    assert t.ts.tolist() == [10, 20, -1, 5]
    assert t.split.tolist() == [0, 1, 2, 0]
    assert torch.isnan(t.rating[1])
    assert sorted(map(tuple, t.item_tag_index.T.tolist())) == [(0, 0), (2, 1), (3, 2)]
    assert t.item_entity_index.tolist() == [[0], [0]]
    assert t.item_text.shape == (4, 3) and t.item_text[3].abs().sum() == 0
    assert torch.equal(t.item_text[:3], torch.from_numpy(emb))
    assert t.tag_text is None


def test_id_map_round_trip(tmp_path):
    t = GraphTensors.from_frames(*_frames())
    t.save_id_maps(tmp_path)
    assert load_id_maps(tmp_path) == t.id_maps()
    assert load_id_maps(tmp_path)["users"] == ["u1", "u2", "u3"]
