"""The training job says what it will cost before it starts, and refuses at once when that
does not fit the memory it may use: no export, no version, the store unchanged."""

from __future__ import annotations

import json

import pytest

from kgrec.app.ingest import ingest
from kgrec.app.training import plan, train
from kgrec.core.errors import PlanDoesNotFit
from kgrec.kg.writer import run_statement
from kgrec.loaders import generate_synthetic


def _counts(store) -> dict:
    return run_statement(store, "count_graph")[0]


def test_plan_then_refusal_under_a_low_memory_limit(store, embedder, tmp_path, monkeypatch):
    dataset = generate_synthetic(
        num_users=40, num_items=60, num_tags=8, num_interactions=800, seed=2
    )
    ingest(dataset, store, embedder)
    planned = plan(store, "ease")
    assert planned.size.num_users == 40 and planned.size.num_items == 60
    assert planned.size.num_interactions == _counts(store)["interactions"] > 0
    before = _counts(store)
    monkeypatch.setenv("KGREC_MEMORY_LIMIT", "1M")
    with pytest.raises(PlanDoesNotFit) as err:
        train(store, tmp_path / "models", "ease", epochs=2, device="cpu")
    assert "KGREC_MEMORY_LIMIT" in str(err.value) and "1 MiB" in str(err.value)
    assert not (tmp_path / "models" / "versions").exists() or not any(
        (tmp_path / "models" / "versions").iterdir()
    )
    assert _counts(store) == before


def test_the_command_line_prints_one_line(kgrec, error_line, tmp_path, cache_dir):
    store = str(tmp_path / "store")
    made = kgrec(
        "--store",
        store,
        "--quiet",
        "ingest",
        "synthetic",
        "--users",
        "30",
        "--items",
        "40",
        "--interactions",
        "500",
        env={"KGREC_CACHE_DIR": str(cache_dir)},
    )
    assert made.returncode == 0, made.stderr
    refused = kgrec("--store", store, "train", env={"KGREC_MEMORY_LIMIT": "2M"})
    line = error_line(refused, 1)
    assert "needs about" in line and "KGREC_MEMORY_LIMIT" in line
    shown = kgrec("--store", store, "train", "--plan")
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.startswith("plan: ease") and "40 items" in shown.stdout
    dry = kgrec("--store", store, "--json", "train", "--plan", env={"KGREC_MEMORY_LIMIT": "2M"})
    assert dry.returncode == 1
    doc = json.loads(dry.stdout)
    assert doc["fits_memory"] is False and doc["budget_bytes"] == 2 * 2**20
    assert not (tmp_path / "store" / "models").exists() or not any(
        (tmp_path / "store" / "models").rglob("model.pt")
    )
    bad = kgrec("--store", store, "train", env={"KGREC_MEMORY_LIMIT": "lots"})
    assert "KGREC_MEMORY_LIMIT" in error_line(bad, 2)  # a usage error
