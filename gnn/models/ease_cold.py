"""The cold-user aggregator of a history model (:class:`ColdUserModel`).

A model whose user vector is a weighted sum over the user's history
(:class:`~kgrec.gnn.models.ease.EASE`) may serve users with few items by a learned
aggregator instead (:class:`~kgrec.gnn.inductive.aggregator.HistoryAggregator`): fitted by the
model's post-fit hook, saved beside its weights in its own file (:data:`AGGREGATOR_FILE`) and
loaded back over the model's factors.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch

from kgrec.gnn.models.model import AfterFit, EmbeddingModel

if TYPE_CHECKING:
    from kgrec.gnn.data import GraphTensors
    from kgrec.gnn.inductive.aggregator import HistoryAggregator

#: The file of a saved version holding the cold-user aggregator's learned state
#: (:meth:`EASE.saved_extras`); a version without it serves the history vector.
AGGREGATOR_FILE = "aggregator.pt"


class ColdUserModel(EmbeddingModel):
    """An :class:`~kgrec.gnn.models.model.EmbeddingModel` with an optional cold-user
    aggregator, kept outside its weights (``_cold_users``: empty or the aggregator; a
    subclass sets it in its ``__init__``)."""

    _cold_users: tuple[HistoryAggregator, ...] = ()

    @property
    def cold_users(self) -> HistoryAggregator | None:
        """The cold-user aggregator over the model's factors, or None (none was fitted, it
        did not beat the history vector, or the version predates it)."""
        return self._cold_users[0] if self._cold_users else None

    def use_cold_users(self, aggregator: HistoryAggregator | None) -> None:
        """Serve users with at most ``aggregator.max_n`` items by ``aggregator`` (None: by
        the history vector). Kept outside the model's weights (its own file in a version,
        :meth:`saved_extras`), so the weights are the same with it or without."""
        self._cold_users = () if aggregator is None else (aggregator,)

    def after_fit(
        self, tensors: GraphTensors, train_idx: torch.Tensor, seed: int, epochs: int
    ) -> AfterFit | None:
        """Fit the cold-user aggregator on the model's factors and serve it where it beats
        the history vector on users held out of a second fit
        (:func:`~kgrec.gnn.inductive.aggregator_fit.fit_aggregator`)."""
        from kgrec.gnn.inductive.aggregator_fit import cold_user_step

        step = cold_user_step(self, tensors, train_idx, seed, epochs)
        if step is None:
            return None
        aggregator, metrics, config = step
        self.use_cold_users(aggregator)
        return AfterFit(metrics, config)

    def saved_extras(self) -> dict[str, Any]:
        """The cold-user aggregator's learned state (:data:`AGGREGATOR_FILE`), where there
        is one; the factors it reads are the model's."""
        cold = self.cold_users
        return {} if cold is None else {AGGREGATOR_FILE: {"state": cold.learned_state()}}

    def load_extra(self, name: str, blob: Any) -> None:
        """The cold-user aggregator of :data:`AGGREGATOR_FILE` over the model's factors."""
        from kgrec.gnn.inductive.aggregator import HistoryAggregator, model_factors

        if name != AGGREGATOR_FILE:
            return
        state = blob.get("state") if isinstance(blob, dict) else None
        if not isinstance(state, dict):
            raise ValueError("expected a dict with 'state'")
        try:
            history, items = model_factors(self)
            aggregator = HistoryAggregator.from_learned(history, items, state).eval()
        except (KeyError, ValueError, TypeError) as e:
            detail = " ".join(str(e).split())
            detail = detail if len(detail) <= 160 else detail[:157] + "..."
            raise ValueError(f"it does not fit the model ({type(e).__name__}: {detail})") from None
        self.use_cold_users(aggregator)
