"""Cold users: their tasks, the ranking metrics on them, and the learned aggregator that
starts from a model's own history vector and learns what a few items cannot say."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from kgrec.gnn.inductive.aggregator import HistoryAggregator
from kgrec.gnn.inductive.tasks import (
    first_items,
    ranking_metrics,
    ranking_of_scores,
    sample_tasks,
    user_sequences,
)


def test_sequences_follow_time_and_tasks_split_them():
    edges = np.array([[0, 1, 0, 0, 1, 2], [10, 11, 12, 13, 14, 15]])
    ts = np.array([5, 1, 3, 5, 0, 9])  # user 0: 12 (t=3), then 10 and 13 (t=5, row order)
    seqs = user_sequences(edges, ts)
    assert seqs[0].tolist() == [12, 10, 13] and seqs[1].tolist() == [14, 11]
    support, query = first_items(seqs, [0, 1, 2], 2)  # users 1 and 2 have too few
    assert [s.tolist() for s in support] == [[12, 10]] and query[0].tolist() == [13]
    support, query = sample_tasks({0: np.arange(10)}, np.random.default_rng(0), max_n=3)
    assert 1 <= len(support[0]) <= 3 and support[0][-1] + 1 == query[0][0]
    assert query[0][-1] == 9


def test_ranking_metrics_follow_the_definitions():
    items = torch.eye(6, dtype=torch.float64)
    users = torch.tensor([[0, 5, 4, 3, 2, 1.0]])  # ranks 1, 2, 3, 4, 5, 0 (0 is known)
    got = ranking_metrics(users, items, [np.array([0])], [np.array([1, 3])], k=2)
    assert got["recall@2"][0] == pytest.approx(0.5)  # top 2 = 1, 2
    assert got["ndcg@2"][0] == pytest.approx(1.0 / (1.0 + 1.0 / np.log2(3)))
    perfect = ranking_of_scores(users, [np.array([0])], [np.array([1, 2])], k=2)
    assert perfect["recall@2"][0] == 1.0 and perfect["ndcg@2"][0] == pytest.approx(1.0)


def test_the_aggregator_starts_as_the_models_own_history_vector(solved_ease):
    tensors, split, model = solved_ease
    pop = torch.bincount(tensors.edge_index[1, split.train], minlength=tensors.num_items)
    agg = HistoryAggregator(model.history_factors, model.item_factors, pop, 5, decay=0.8)
    for items in ([3], [7, 1, 40], [5, 6, 7, 8, 9]):
        want = model.user_vector(np.array(items), model.history_weights(np.arange(len(items))))
        np.testing.assert_allclose(agg.user_vector(np.array(items)), want, rtol=1e-5, atol=1e-6)
    assert repr(agg) == f"HistoryAggregator({tensors.num_items}, 64, max_n=5)"


def _world(seed: int, num_users: int = 300, num_items: int = 120, dim: int = 32):
    """Histories where the items tell nothing about what follows (random factors, random
    first items) and every user then picks from the same 15 items: only a learned prior
    can find those after one or two items."""
    rng = np.random.default_rng(seed)
    favourites = np.arange(15)
    seqs = {}
    for u in range(num_users):
        start = rng.choice(np.arange(15, num_items), size=5, replace=False)
        seqs[u] = np.r_[start, rng.permutation(favourites)[:10]]
    gen = torch.Generator().manual_seed(0)
    history = torch.randn(num_items, dim, generator=gen)
    items = torch.randn(num_items, dim, generator=gen)
    return seqs, history, items


def _recall(agg, seqs, users, items) -> float:
    values = []
    for n in (1, 2, 3):
        support, query = first_items(seqs, users, n)
        values.append(
            ranking_metrics(agg.user_vectors(support), items, support, query)["recall@20"].mean()
        )
    return float(np.mean(values))


def test_the_aggregator_learns_what_a_few_items_do_not_say():
    seqs, history, items = _world(0)
    warm = {u: s for u, s in seqs.items() if u < 200}
    held = list(range(200, 300))
    torch.manual_seed(0)
    agg = HistoryAggregator(history, items, torch.ones(len(items)), 5)
    before = _recall(agg, seqs, held, items)
    trace = agg.fit(warm, epochs=30, lr=0.05, batch_size=32, seed=0)
    after = _recall(agg, seqs, held, items)
    assert after > before + 0.3, (before, after)
    assert trace[-1] > trace[0]  # the training likelihood rose


def test_fit_keeps_the_epoch_best_on_validation():
    """With a validation that prefers the start, fitting changes nothing."""
    seqs, history, items = _world(1)
    agg = HistoryAggregator(history, items, torch.ones(len(items)), 5)
    start = agg.user_vectors([np.array([20, 21])])
    trace = agg.fit(seqs, epochs=3, lr=0.05, validate=lambda m: -float(m.prior.detach().norm()))
    assert trace[0] == 0.0 and len(trace) == 4
    torch.testing.assert_close(agg.user_vectors([np.array([20, 21])]), start)


def test_a_task_cap_samples_users_and_leaves_smaller_inputs_as_they_were():
    seqs = {u: np.arange(u, u + 8) for u in range(50)}
    plain = sample_tasks(seqs, np.random.default_rng(3), max_n=3)
    roomy = sample_tasks(seqs, np.random.default_rng(3), max_n=3, max_tasks=50)
    assert [s.tolist() for s in plain[0]] == [s.tolist() for s in roomy[0]]
    support, query = sample_tasks(seqs, np.random.default_rng(3), max_n=3, max_tasks=7)
    assert len(support) == len(query) == 7
    starts = {int(q[-1]) - 7 for q in query}  # each query ends at its user's last item
    assert len(starts) == 7  # seven different users


def test_ranking_metrics_in_chunks_equal_one_matrix(monkeypatch):
    import kgrec.gnn.inductive.tasks as tasks

    gen = torch.Generator().manual_seed(1)
    users, items = torch.randn(9, 4, generator=gen), torch.randn(30, 4, generator=gen)
    support = [np.array([i % 30]) for i in range(9)]
    query = [np.array([(3 * i + 1) % 30, (5 * i + 2) % 30]) for i in range(9)]
    whole = ranking_metrics(users, items, support, query, k=5)
    monkeypatch.setattr(tasks, "SCORE_CHUNK_ELEMENTS", 60)  # two users a chunk
    chunked = ranking_metrics(users, items, support, query, k=5)
    for key in whole:
        np.testing.assert_array_equal(whole[key], chunked[key])


def test_patience_stops_a_fit_that_no_longer_improves():
    seqs, history, items = _world(0, num_users=60)
    agg = HistoryAggregator(history, items, torch.ones(len(items)), 5)
    calls = []

    def flat(_: HistoryAggregator) -> float:
        calls.append(1)
        return 0.5  # never a new best after the start

    trace = agg.fit(seqs, epochs=20, lr=0.01, validate=flat, patience=3)
    assert len(trace) == 1 + 3 and len(calls) == 4
