"""Versioned checkpoints, atomic promotion, regression gate and a SIGKILL mid-training."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from kgrec.errors import ModelNotTrained
from kgrec.gnn.checkpoint import clean_partial, load_live, promote
from kgrec.gnn.job import EXIT_PROMOTED, EXIT_REGRESSED, EXIT_USAGE, run_job

FAST = {"batch_size": 512, "lr": 5e-3, "patience": 100, "eval_every": 1}
HERE = Path(__file__).resolve().parent

_CHILD = """
import pathlib, sys
sys.path.insert(0, {here!r})
from conftest import make_world
from kgrec.gnn.job import run_job

marker = pathlib.Path({marker!r})
tensors = make_world()[2]

def callback(epoch, loss, val):
    marker.write_text(str(epoch))

run_job(tensors, {model_dir!r}, epochs=100000, callback=callback,
        train_kwargs={{"batch_size": 512, "patience": 10**9}})
"""


def test_load_live_without_model(tmp_path):
    with pytest.raises(ModelNotTrained, match="no live model"):
        load_live(tmp_path / "models")


@pytest.fixture(scope="module")
def trained(tensors, tmp_path_factory):
    model_dir = tmp_path_factory.mktemp("models")
    result = run_job(tensors, model_dir, epochs=8, train_kwargs=FAST)
    return model_dir, result


def test_first_job_promotes_complete_version(trained, tensors):
    model_dir, result = trained
    assert result.exit_code == EXIT_PROMOTED and result.promoted
    assert result.live_metrics is None
    assert {"recall@20", "ndcg@20", "val/recall@20", "coverage@20"} <= set(result.metrics)
    assert (model_dir / "live").is_symlink()
    assert result.version_dir.parent == model_dir / "versions"
    assert result.version_dir.name.endswith("-lightgcn")
    live = load_live(model_dir)
    assert live.version_dir == result.version_dir.resolve()
    assert live.id_maps["users"] == tensors.user_ids
    assert live.user_embeddings.shape == (tensors.num_users, 64)
    assert live.metrics["val/recall@20"] == pytest.approx(result.metrics["val/recall@20"])
    model = live.model()
    scores = model.score_users(torch.arange(3))
    assert torch.allclose(scores, live.user_embeddings[:3] @ live.item_embeddings.T, atol=1e-5)


def test_regression_keeps_previous_live(trained, tensors):
    model_dir, first = trained
    # lr=0: the new model is its random initialisation, far worse on validation
    result = run_job(tensors, model_dir, epochs=1, tolerance=0.0,
                     train_kwargs={**FAST, "lr": 0.0})
    assert result.exit_code == EXIT_REGRESSED and not result.promoted
    assert result.version_dir.is_dir()  # written, kept for inspection
    assert result.live_metrics["val/recall@20"] > result.metrics["val/recall@20"]
    assert load_live(model_dir).version_dir == first.version_dir.resolve()


def test_bad_arguments_exit_2(tensors, tmp_path):
    assert run_job(tensors, tmp_path, model="nope").exit_code == EXIT_USAGE
    assert run_job(tensors, tmp_path, split="nope").exit_code == EXIT_USAGE
    assert not (tmp_path / "live").exists()


def test_sigkill_mid_training_leaves_live_intact(trained, tmp_path):
    model_dir, first = trained
    marker = tmp_path / "epoch"
    code = _CHILD.format(here=str(HERE), marker=str(marker), model_dir=str(model_dir))
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    child = subprocess.Popen([sys.executable, "-c", code], env=env)
    try:
        deadline = time.monotonic() + 120
        while not marker.exists() and child.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert marker.exists(), "the child never finished an epoch"
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    assert child.returncode == -signal.SIGKILL
    live = load_live(model_dir)
    assert live.version_dir == first.version_dir.resolve()
    assert live.model().score_users(torch.tensor([0])).shape[1] == live.item_embeddings.size(0)


def test_graphsage_job_round_trip(tensors, tmp_path):
    result = run_job(tensors, tmp_path, model="graphsage", epochs=2, train_kwargs=FAST)
    assert result.exit_code == EXIT_PROMOTED, result.error
    live = load_live(tmp_path)
    assert live.name == "graphsage" and live.version_dir.name.endswith("-graphsage")
    scores = live.model().score_users(torch.arange(2))
    assert torch.allclose(scores, live.user_embeddings[:2] @ live.item_embeddings.T, atol=1e-4)


def test_crash_while_writing_or_before_promotion_keeps_live(trained, tmp_path):
    model_dir, first = trained
    # a process killed while writing a version leaves only a .tmp directory
    partial = model_dir / "versions" / ".tmp-20990101T000000000000Z-lightgcn-999999999"
    partial.mkdir()
    (partial / "model.pt").write_bytes(b"half a model")
    assert load_live(model_dir).version_dir == first.version_dir.resolve()
    assert clean_partial(model_dir) == 1 and not partial.exists()
    # a live link to an incomplete directory is never loaded
    broken = tmp_path / "broken"
    (broken / "versions" / "v").mkdir(parents=True)
    promote(broken, broken / "versions" / "v")
    with pytest.raises(ModelNotTrained):
        load_live(broken)
