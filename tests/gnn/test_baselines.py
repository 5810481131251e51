from __future__ import annotations

import numpy as np
import torch

from kgrec.gnn.baselines import MFBPR, ItemKNN, MostPopular, TextSimilarity, user_item_matrix
from kgrec.gnn.evaluate import evaluate
from kgrec.gnn.splits import temporal_split
from kgrec.gnn.train import fit


def test_scorers_share_the_interface(tensors):
    split = temporal_split(tensors)
    users = torch.tensor([0, 3, 7])
    for scorer in (
        MostPopular(tensors, split.train),
        ItemKNN(tensors, split.train, k=20),
        TextSimilarity(tensors, split.train),
        MFBPR.from_tensors(tensors),
    ):
        scores = scorer.score_users(users)
        assert scores.shape == (3, tensors.num_items), scorer
        metrics = evaluate(scorer, tensors, split.train, split.test, split.val)
        assert 0 <= metrics["recall@20"] <= 1


def test_item_knn_matches_dense_cosine(tensors):
    split = temporal_split(tensors)
    knn = ItemKNN(tensors, split.train, k=10, block=64)
    x = user_item_matrix(tensors, split.train).toarray()
    norms = np.sqrt(x.sum(0))
    sim = (x.T @ x) / (np.outer(norms, norms) + 1e-9)
    np.fill_diagonal(sim, 0)
    pruned = np.zeros_like(sim)
    for i in range(len(sim)):
        top = np.argsort(-sim[i], kind="stable")[:10]
        pruned[i, top] = sim[i, top]
    got = knn.similarity.toarray()
    assert np.allclose(np.sort(got, 1), np.sort(pruned, 1), atol=1e-5)  # ties may swap
    users = torch.arange(5)
    expected = x[:5] @ got
    assert np.allclose(knn.score_users(users).numpy(), expected, atol=1e-5)


def test_most_popular_and_mf_training(tensors):
    split = temporal_split(tensors)
    pop = MostPopular(tensors, split.train)
    counts = np.bincount(tensors.edge_index[1, split.train].numpy(), minlength=tensors.num_items)
    assert int(pop.score_users(torch.tensor([0]))[0].argmax()) == int(counts.argmax())
    torch.manual_seed(0)
    mf = MFBPR.from_tensors(tensors)
    history = fit(mf, tensors, split, epochs=10, batch_size=512, lr=1e-2, patience=100)
    assert history.loss[-1] < history.loss[0]
