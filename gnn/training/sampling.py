"""Vectorised negative sampling and mini-batching on the training device."""

from __future__ import annotations

from collections.abc import Iterator

import torch


class NegativeSampler:
    """Uniform item negatives for BPR, drawn on the device with no per-sample Python loop.

    Each (user, item) training pair is encoded as the key ``user * num_items + item`` in a
    sorted tensor. A draw ``torch.randint`` over all items is checked against it with
    ``torch.searchsorted``; collisions with the user's positives are re-drawn, all of them at
    once, up to ``max_retries`` rounds (what is left after that is kept: with a sparse matrix
    it is a vanishing fraction). A round checks only the entries the previous one re-drew.

    The queries are searched in key order: consecutive binary searches then share their
    path through the keys, which stay in cache once the keys outgrow it (millions of
    training pairs; ``benchmarks/train_epoch.py --sampler`` times a draw and a check).

    Args:
        edge_index: training interactions ``(user_idx, item_idx)``.
        num_items: size of the item space.
        max_retries: re-draw rounds for collisions (0 disables the membership test).
        generator: the ``torch.Generator`` for draws (on the same device).

    Shapes:
        edge_index: ``[2, E]``; sample: ``[n] -> [n]``.
    """

    def __init__(
        self,
        edge_index: torch.Tensor,
        num_items: int,
        max_retries: int = 3,
        generator: torch.Generator | None = None,
    ) -> None:
        self.num_items = num_items
        self.max_retries = max_retries
        self.generator = generator
        self.device = edge_index.device
        self.keys = torch.sort(edge_index[0] * num_items + edge_index[1]).values

    def is_positive(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        """Whether each ``(users[k], items[k])`` is a training pair (bool ``[n]``)."""
        if self.keys.numel() == 0:
            return torch.zeros_like(users, dtype=torch.bool)
        query, order = torch.sort(users * self.num_items + items)
        pos = torch.searchsorted(self.keys, query).clamp_(max=self.keys.numel() - 1)
        found = torch.empty_like(users, dtype=torch.bool)
        found[order] = self.keys[pos] == query
        return found

    def sample(self, users: torch.Tensor) -> torch.Tensor:
        """One negative item per entry of ``users``."""
        neg = torch.randint(
            self.num_items, users.shape, device=self.device, generator=self.generator
        )
        check = torch.arange(len(users), device=self.device)  # the entries drawn last round
        for _ in range(self.max_retries):
            bad = check[self.is_positive(users[check], neg[check])]
            if bad.numel() == 0:
                break
            neg[bad] = torch.randint(
                self.num_items, (bad.numel(),), device=self.device, generator=self.generator
            )
            check = bad
        return neg


def iterate_batches(
    num: int, batch_size: int, device: torch.device | str, generator: torch.Generator | None = None
) -> Iterator[torch.Tensor]:
    """Shuffled index batches ``[b]`` covering ``range(num)`` once."""
    perm = torch.randperm(num, device=device, generator=generator)
    yield from perm.split(batch_size)
