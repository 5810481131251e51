"""The real pipeline once: item texts -> all-MiniLM-L6-v2 -> GraphTensors -> models."""

from __future__ import annotations

import torch

from kgrec.gnn.data import GraphTensors
from kgrec.gnn.models.baselines import TextSimilarity
from kgrec.gnn.models.lightgcn import LightGCN
from kgrec.gnn.training.evaluate import evaluate
from kgrec.gnn.training.splits import temporal_split
from kgrec.gnn.training.train import fit
from kgrec.loaders.synthetic import generate_synthetic
from kgrec.loaders.text import item_texts, tag_texts


def test_real_text_embeddings_pipeline(embedder):
    ds = generate_synthetic(80, 120, 12, 2400, seed=3)
    items = embedder.embed(list(item_texts(ds.items, ds.item_tags)))
    tags = embedder.embed(list(tag_texts(ds.tags)))
    tensors = GraphTensors.from_dataset(ds, items, tags)
    assert tensors.item_text.shape == (120, 384) and tensors.tag_text.shape == (12, 384)
    split = temporal_split(tensors)

    class Random:
        def score_users(self, users):
            return torch.rand(len(users), tensors.num_items, generator=gen)

    gen = torch.Generator().manual_seed(0)
    rand = evaluate(Random(), tensors, split.train, split.test, split.val)["recall@20"]
    text = evaluate(
        TextSimilarity(tensors, split.train), tensors, split.train, split.test, split.val
    )
    assert text["recall@20"] > rand  # the descriptions name the tags users like
    assert 0 < text["diversity@20"] < 1
    torch.manual_seed(0)
    model = LightGCN.from_tensors(tensors, split.train)
    history = fit(model, tensors, split, epochs=10, batch_size=256, lr=1e-2, patience=100)
    assert history.loss[-1] < history.loss[0]
    assert evaluate(model, tensors, split.train, split.test, split.val)["recall@20"] > rand
