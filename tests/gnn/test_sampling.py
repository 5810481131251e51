from __future__ import annotations

import torch

from kgrec.gnn.sampling import NegativeSampler, iterate_batches


def test_negatives_avoid_positives_and_are_vectorised():
    gen = torch.Generator().manual_seed(0)
    users = torch.arange(50).repeat_interleave(8)
    items = torch.stack([torch.randperm(10, generator=gen)[:8] for _ in range(50)]).flatten()
    sampler = NegativeSampler(torch.stack([users, items]), 10, max_retries=50, generator=gen)
    neg = sampler.sample(users)
    assert neg.shape == users.shape
    assert not sampler.is_positive(users, neg).any()
    assert sampler.is_positive(users, items).all()


def test_iterate_batches_covers_all():
    batches = list(iterate_batches(10, 3, "cpu", torch.Generator().manual_seed(1)))
    assert [len(b) for b in batches] == [3, 3, 3, 1]
    assert sorted(torch.cat(batches).tolist()) == list(range(10))
