"""What the graph models share: final embeddings cached between training phases."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import nn

if TYPE_CHECKING:
    from kgrec.gnn.paths import PathScorer


class EmbeddingModel(nn.Module):
    """A model whose ``forward()`` returns ``(users, items, users0, items0)``.

    :meth:`final_embeddings` runs the full forward once and keeps the result until the next
    ``train()`` or device move; subclasses with more device caches extend
    :meth:`_drop_caches`.
    """

    def __init__(self) -> None:
        super().__init__()
        self._final: tuple[torch.Tensor, torch.Tensor] | None = None

    def _drop_caches(self) -> None:
        self._final = None

    def train(self, mode: bool = True):
        self._final = None
        return super().train(mode)

    def _apply(self, fn, *args, **kwargs):  # .to() / .cpu() / .cuda(): drop device caches
        self._drop_caches()
        return super()._apply(fn, *args, **kwargs)

    @torch.no_grad()
    def final_embeddings(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Final user and item embeddings (cached until the next ``train()``)."""
        if self._final is None or self.training:
            users, items, _, _ = self.forward()
            self._final = (users, items)
        return self._final

    def path_scorer(self) -> PathScorer | None:
        """The exact share of each graph path in a score, where the model has one (None)."""
        return None

    @torch.no_grad()
    def score_users(self, users: torch.Tensor) -> torch.Tensor:
        """Scores of every item for ``users`` (``[n] -> [n, I]``)."""
        u, i = self.final_embeddings()
        return u[users.to(u.device)] @ i.T
