from __future__ import annotations

import torch

from kgrec.gnn.training.sampling import NegativeSampler, iterate_batches


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


def _reference_negatives(users, pairs, num_items, max_retries, gen):
    """The draw rule written plainly: every round re-checks every entry against a set."""
    neg = torch.randint(num_items, users.shape, generator=gen)
    for _ in range(max_retries):
        drawn = zip(users.tolist(), neg.tolist(), strict=True)
        bad = torch.tensor([(u, i) in pairs for u, i in drawn])
        if not bad.any():
            break
        neg[bad] = torch.randint(num_items, (int(bad.sum()),), generator=gen)
    return neg


def test_negatives_equal_the_plain_rule_draw_for_draw():
    gen = torch.Generator().manual_seed(3)
    users = torch.randint(40, (600,), generator=gen)
    items = torch.randint(12, (600,), generator=gen)  # dense: collisions over several rounds
    pairs = set(zip(users.tolist(), items.tolist(), strict=True))
    batch = users[torch.randperm(600, generator=gen)[:300]]  # unsorted queries
    sampler = NegativeSampler(
        torch.stack([users, items]), 12, max_retries=3, generator=torch.Generator().manual_seed(7)
    )
    got = sampler.sample(batch)
    expected = _reference_negatives(batch, pairs, 12, 3, torch.Generator().manual_seed(7))
    assert torch.equal(got, expected)
    drawn = zip(batch.tolist(), got.tolist(), strict=True)
    truth = torch.tensor([(u, i) in pairs for u, i in drawn])
    assert torch.equal(sampler.is_positive(batch, got), truth)
    assert truth.any()  # some collisions are left after 3 rounds, so the check is exercised
