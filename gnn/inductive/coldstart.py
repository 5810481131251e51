"""The cold-user aggregator's former single module, kept as an import path: the names live in
:mod:`kgrec.gnn.inductive.tasks` (tasks and ranking metrics),
:mod:`kgrec.gnn.inductive.aggregator` (:class:`HistoryAggregator`) and
:mod:`kgrec.gnn.inductive.aggregator_fit` (the training job's step); import them from there."""

from __future__ import annotations

from kgrec.gnn.inductive.aggregator import MAX_N, HistoryAggregator, model_factors
from kgrec.gnn.inductive.aggregator_fit import (
    EPOCHS,
    LRS,
    MAX_TASKS,
    MAX_VAL_USERS,
    PATIENCE,
    REPORT_KEYS,
    VAL_SHARE,
    AggregatorFit,
    cold_user_step,
    cold_validation_users,
    fit_aggregator,
)
from kgrec.gnn.inductive.tasks import (
    SCORE_CHUNK_ELEMENTS,
    first_items,
    ranking_metrics,
    ranking_of_scores,
    sample_tasks,
    user_sequences,
)

__all__ = [
    "EPOCHS",
    "LRS",
    "MAX_N",
    "MAX_TASKS",
    "MAX_VAL_USERS",
    "PATIENCE",
    "REPORT_KEYS",
    "SCORE_CHUNK_ELEMENTS",
    "VAL_SHARE",
    "AggregatorFit",
    "HistoryAggregator",
    "cold_user_step",
    "cold_validation_users",
    "first_items",
    "fit_aggregator",
    "model_factors",
    "ranking_metrics",
    "ranking_of_scores",
    "sample_tasks",
    "user_sequences",
]
