"""Cold users served by the live version's cold-user aggregator: a history of at most
``max_n`` items the model knows gets the aggregator's vector, explained exactly (its prior
is the user's own part of the score); a longer one, or a version without an aggregator,
gets the model's history vector."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from kgrec import Recommender
from kgrec.gnn.inductive.aggregator import HistoryAggregator
from kgrec.gnn.inductive.tasks import user_sequences
from kgrec.gnn.versions import load_live, promote, save_version


def _promote_with_aggregator(models):
    """The live ease version again, with an aggregator fitted on its histories (a few
    epochs, no validation: far enough from its start to differ from the history vector)."""
    live = load_live(models)
    model = live.model()
    edges = model.history_index
    pop = torch.bincount(edges[1], minlength=model.num_items)
    agg = HistoryAggregator(model.history_factors, model.item_factors, pop, 5, decay=model.decay)
    agg.fit(user_sequences(edges, torch.arange(edges.size(1))), epochs=5, lr=0.05, seed=0)
    config = {k: v for k, v in live.config.items() if k not in ("model", "model_config")}
    model.use_cold_users(agg)
    version = save_version(
        models, model, live.name, config=config, id_maps=live.id_maps, metrics=live.metrics
    )
    promote(models, version)
    return agg, live.version_dir


def _open(world):
    uri, graph, _, models, _ = world
    return Recommender.open(uri, models, graph=graph)


def _served(rec, user):
    return {r.item_id: r.score for r in rec.recommend(user, k=10_000, explain=False)}


def _history_scores(rec, items, ts, ratings):
    vector, _ = rec.model.history_vector(np.array(items), np.array(ts), np.array(ratings))
    return {rec.item_ids[j]: float(s) for j, s in enumerate(rec.item_emb @ vector)}


def test_a_new_user_with_few_interactions_gets_the_aggregators_vector(history_world):
    _, _, _, models, dataset = history_world
    agg, without = _promote_with_aggregator(models)
    picked = dataset.items["id"].iloc[[10, 20, 30, 40, 50, 60]].tolist()
    times = [3_000, 1_000, 2_000, 500, 4_000, 2_500]  # recorded out of time order
    with _open(history_world) as rec:
        assert rec.model.cold_users is not None
        for n in (1, 2, 3):
            rec.record_interaction("walk-in", picked[n - 1], rating=4.0, ts=times[n - 1])
            order = np.argsort(times[:n], kind="stable")
            local = np.array([rec._cat.index[picked[k]] for k in order])
            want = rec.item_emb @ agg.user_vector(local)  # the aggregator, computed here
            served = _served(rec, "walk-in")
            for item_id, score in list(served.items())[:50]:
                assert score == pytest.approx(want[rec._cat.index[item_id]], rel=1e-4, abs=1e-6)
            plain = _history_scores(rec, local, np.sort(times[:n]), [4.0] * n)
            assert any(abs(s - plain[i]) > 1e-4 for i, s in served.items())
        own, weights = agg.parts(local)
        factors = rec.model.history_factors.double().numpy()
        recs = rec.recommend("walk-in", k=3)
        for r in recs:
            j = rec._cat.index[r.item_id]
            parts = rec.explain("walk-in", r.item_id).decomposition
            assert parts is not None and set(parts.interactions) == set(picked[:3])
            assert parts.user_own == pytest.approx(float(rec.item_emb[j] @ own), rel=1e-4)
            assert abs(parts.user_own) > 1e-6  # the prior: the user's own part
            for k, v in enumerate(local):
                item = rec.item_ids[v]
                term = weights[k] * float(factors[v] @ rec.item_emb[j])
                assert parts.interactions[item] == pytest.approx(term, rel=1e-4, abs=1e-7)
            assert parts.user_own + sum(parts.interactions.values()) == pytest.approx(
                r.score, rel=1e-5
            )
            assert parts.own_states + parts.paths + parts.unjoined == pytest.approx(r.score)
            assert "newer than the model" in r.explanation.note or not r.explanation.paths
        for n in (4, 5, 6):  # past max_n: the history vector again
            rec.record_interaction("walk-in", picked[n - 1], rating=4.0, ts=times[n - 1])
        order = np.argsort(times, kind="stable")
        local6 = [rec._cat.index[picked[k]] for k in order]
        plain = _history_scores(rec, local6, np.sort(times), [4.0] * 6)
        for item_id, score in list(_served(rec, "walk-in").items())[:50]:
            assert score == pytest.approx(plain[item_id], rel=1e-5, abs=1e-7)

    promote(models, without)  # a version without an aggregator: the history vector
    with _open(history_world) as rec:
        assert rec.model.cold_users is None
        plain = _history_scores(rec, local6, np.sort(times), [4.0] * 6)
        rec.record_interaction("walk-in2", picked[0], rating=4.0, ts=times[0])
        single = _history_scores(rec, [rec._cat.index[picked[0]]], [times[0]], [4.0])
        for item_id, score in list(_served(rec, "walk-in2").items())[:50]:
            assert score == pytest.approx(single[item_id], rel=1e-5, abs=1e-7)
        for item_id, score in list(_served(rec, "walk-in").items())[:50]:
            assert score == pytest.approx(plain[item_id], rel=1e-5, abs=1e-7)
