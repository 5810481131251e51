"""Measurements an operator runs on the store's data: models against baselines, and the
quality of the live model's explanations."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kgrec.app.recommender import Recommender
from kgrec.app.training import load_tensors
from kgrec.core.settings import Settings
from kgrec.kg.store import GraphStore


def compare_models(
    store: GraphStore,
    split: str,
    epochs: int,
    seeds: Sequence[int],
    device: str,
    show_progress: bool,
    refit: bool = True,
) -> tuple[list[dict[str, Any]], str]:
    """Baselines and models on one split of the store's graph
    (:func:`kgrec.gnn.training.bench.compare`): one row per method and seed, and a table of the
    means and spreads over seeds."""
    from kgrec.gnn.training.bench import compare, format_table, summarise

    frame = compare(
        load_tensors(store),
        split=split,
        epochs=epochs,
        seeds=seeds,
        device=device,
        refit=refit,
        show_progress=show_progress,
    )
    rows = frame.astype(object).where(frame.notna(), None).to_dict(orient="records")
    return rows, format_table(summarise(frame))


def explanation_quality(
    settings: Settings, users: int, k: int, seed: int, show_progress: bool
) -> dict[str, Any]:
    """Coverage, path length and faithfulness of the live model's explanations
    (:func:`kgrec.explain.quality.explanation_quality`)."""
    from kgrec.explain.quality import explanation_quality as measure

    with Recommender.open(settings.store, settings.model_dir, settings.graph) as rec:
        report = measure(rec, num_users=users, k=k, seed=seed, show_progress=show_progress)
    return {**report.as_dict(), "targets": report.targets(k)}
