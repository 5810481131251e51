"""The train job's cold-user aggregator: its exact parts, its validation and decision, and a
version that saves it and loads it again (and versions without one)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from kgrec.core.errors import ModelCorrupt
from kgrec.gnn.inductive.aggregator import HistoryAggregator
from kgrec.gnn.inductive.aggregator_fit import REPORT_KEYS, cold_validation_users, fit_aggregator
from kgrec.gnn.inductive.tasks import first_items, ranking_metrics, user_sequences
from kgrec.gnn.models.ease import AGGREGATOR_FILE, EASE
from kgrec.gnn.versions import load_version, save_version, verify_version

HISTORIES = ([3], [7, 1, 40], [5, 6, 7, 8, 9], [11, 12, 13, 14, 15, 16, 17])


@pytest.fixture()
def trained_aggregator(solved_ease):
    """An aggregator over the solved EASE's factors, moved away from its start by a few
    epochs of fitting (no validation: the last epoch is kept)."""
    tensors, split, model = solved_ease
    pop = torch.bincount(tensors.edge_index[1, split.train], minlength=tensors.num_items)
    agg = HistoryAggregator(model.history_factors, model.item_factors, pop, 5, decay=0.8)
    seqs = user_sequences(tensors.edge_index[:, split.train], tensors.ts[split.train])
    agg.fit(seqs, epochs=3, lr=0.05, seed=0)
    assert float(agg.prior.detach().norm()) > 0  # it learned something of its own
    return agg


def test_the_parts_of_the_vector_sum_to_it(trained_aggregator, solved_ease):
    _, _, model = solved_ease
    factors = model.history_factors.double().numpy()
    for items in HISTORIES:
        own, weights = trained_aggregator.parts(np.array(items))
        assert weights.shape == (len(items),) and (weights > 0).all()
        vector, own2, _ = trained_aggregator.exact_vector(np.array(items))
        np.testing.assert_allclose(own + weights @ factors[items], vector, rtol=1e-12)
        np.testing.assert_allclose(own2, own)
        np.testing.assert_allclose(
            trained_aggregator.user_vector(np.array(items)), vector, rtol=1e-4, atol=1e-5
        )


def test_a_saved_version_reproduces_the_aggregator(trained_aggregator, solved_ease, tmp_path):
    tensors, _, model = solved_ease
    maps = tensors.id_maps()
    served = EASE.from_state(model.config(), model.state_dict())
    served.use_cold_users(trained_aggregator)
    with_agg = save_version(tmp_path, served, "ease", config={}, id_maps=maps, metrics={})
    without = save_version(tmp_path, model, "ease", config={}, id_maps=maps, metrics={})
    assert (with_agg / AGGREGATOR_FILE).stat().st_mode & 0o077 == 0  # private like the rest
    loaded = verify_version(with_agg).model().cold_users
    assert loaded is not None and loaded.max_n == trained_aggregator.max_n
    for items in HISTORIES:
        np.testing.assert_allclose(
            loaded.exact_vector(np.array(items))[0],
            trained_aggregator.exact_vector(np.array(items))[0],
            rtol=1e-12,
        )
    assert not (without / AGGREGATOR_FILE).exists()
    assert load_version(without).model().cold_users is None  # as a version without one
    (with_agg / AGGREGATOR_FILE).write_bytes(b"not a tensor file")
    with pytest.raises(ModelCorrupt, match=AGGREGATOR_FILE):
        verify_version(with_agg)


def test_fit_aggregator_validates_on_held_out_users_and_decides(solved_ease):
    tensors, split, model = solved_ease
    fitted = fit_aggregator(model, tensors, split.train, seed=0, epochs=4)
    r = fitted.report
    assert set(r) == set(REPORT_KEYS)
    users = len(torch.unique(tensors.edge_index[0, split.train]))
    assert r["aggregator/val_users"] == round(0.2 * users)
    assert r["aggregator/val_recall@20_best"] >= r["aggregator/val_recall@20_start"]
    served = (
        r["aggregator/val_recall@20_best"] > r["aggregator/val_recall@20_start"]
        and r["aggregator/val_recall@20_best"] > r["aggregator/val_recall@20_history"]
    )
    assert r["aggregator/served"] == float(served)
    assert (fitted.aggregator is not None) == served
    assert r["aggregator/lr"] in (0.003, 0.01) and 0 <= r["aggregator/best_epoch"] <= 4
    assert "Recall@20" in fitted.reason
    again = fit_aggregator(model, tensors, split.train, seed=0, epochs=4)
    assert again.report["aggregator/val_recall@20_best"] == r["aggregator/val_recall@20_best"]


def _served_history_recall(model, tensors, idx, users, max_n=5):
    """Mean over n = 1..max_n of the Recall@20 of ``model``'s served history vector for
    ``users`` known by their first n interactions among ``idx`` (the rest to be found)."""
    edges = tensors.edge_index[:, idx]
    by_user = user_sequences(torch.stack([edges[0], torch.arange(len(idx))]), tensors.ts[idx])
    items, ts, rating = edges[1].numpy(), tensors.ts[idx].numpy(), tensors.rating[idx].numpy()
    per_n = []
    for n in range(1, max_n + 1):
        support, query = first_items(by_user, users.tolist(), n)
        vectors = np.stack([model.history_vector(items[e], ts[e], rating[e])[0] for e in support])
        got = ranking_metrics(
            vectors, model.item_factors, [items[e] for e in support], [items[e] for e in query]
        )
        per_n.append(got["recall@20"].mean())
    return float(np.mean(per_n))


def test_the_decision_is_made_on_users_held_out_of_a_second_fit(solved_ease):
    tensors, split, model = solved_ease
    generator_state = torch.random.get_rng_state()
    fitted = fit_aggregator(model, tensors, split.train, seed=0, epochs=4)
    assert torch.equal(torch.random.get_rng_state(), generator_state)  # left as it was
    users = tensors.edge_index[0, split.train].numpy()
    val_users = cold_validation_users(users, seed=0)
    held = torch.from_numpy(np.isin(users, val_users))
    decision = EASE.from_config(model.config())
    torch.manual_seed(0)
    decision.solve(tensors, split.train[~held])  # the validation users never seen
    assert set(decision.history_index[0].tolist()).isdisjoint(val_users.tolist())
    expected = _served_history_recall(decision, tensors, split.train, val_users)
    in_sample = _served_history_recall(model, tensors, split.train, val_users)
    assert in_sample != pytest.approx(expected, abs=1e-3)  # the two can be told apart
    assert fitted.report["aggregator/val_recall@20_history"] == pytest.approx(expected)


def test_the_served_aggregator_is_refitted_on_the_served_model(solved_ease):
    tensors, split, model = solved_ease
    fitted = fit_aggregator(model, tensors, split.train, seed=0, epochs=4)
    assert fitted.report["aggregator/served"] == 1.0  # it wins on this world's held-out users
    agg = fitted.aggregator
    assert torch.equal(agg.history_factors, model.history_factors.float())
    assert torch.equal(agg.item_factors, model.item_factors.float())
    counts = torch.bincount(tensors.edge_index[1, split.train], minlength=tensors.num_items)
    torch.testing.assert_close(torch.expm1(agg.log_popularity), counts.float())  # every user
    assert float(agg.prior.detach().norm()) > 0
    epochs = int(fitted.report["aggregator/best_epoch"])
    assert f"refitted on every user for {epochs} epoch" in fitted.reason


def test_too_few_users_fit_no_aggregator(solved_ease):
    tensors, split, model = solved_ease
    users = tensors.edge_index[0, split.train]
    few = split.train[users < 2]  # two users: nobody left to validate on
    fitted = fit_aggregator(model, tensors, few, seed=0, epochs=2)
    assert fitted.aggregator is None and fitted.report["aggregator/served"] == 0.0
    assert "too few users" in fitted.reason


def test_the_job_saves_the_aggregator_it_serves_and_reports_it(tensors, tmp_path):
    from kgrec.gnn.training.job import run_job

    result = run_job(
        tensors,
        tmp_path / "a",
        "ease",
        seed=0,
        device="cpu",
        model_options={"lam": 50.0, "rank": 64},
        aggregator_epochs=3,
    )
    m = result.metrics
    assert {"aggregator/served", "aggregator/val_recall@20_best"} <= set(m)
    assert (result.version_dir / AGGREGATOR_FILE).exists() == bool(m["aggregator/served"])
    stored = load_version(result.version_dir)
    assert stored.metrics["aggregator/val_recall@20_start"] == m["aggregator/val_recall@20_start"]
    assert "decision" in stored.config["aggregator"]
    none = run_job(
        tensors,
        tmp_path / "b",
        "ease",
        seed=0,
        device="cpu",
        model_options={"lam": 50.0, "rank": 64},
        aggregator_epochs=0,
    )
    assert not any(k.startswith("aggregator/") for k in none.metrics)
    assert not (none.version_dir / AGGREGATOR_FILE).exists()
