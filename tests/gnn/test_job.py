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

from kgrec.core.errors import InvalidParameter, ModelNotTrained, TrainingDataError, UnknownModel
from kgrec.gnn.training.job import EXIT_PROMOTED, EXIT_REGRESSED, run_job
from kgrec.gnn.versions import clean_partial, load_live, promote

FAST = {"batch_size": 512, "lr": 5e-3, "patience": 100, "eval_every": 1}
HERE = Path(__file__).resolve().parent

_CHILD = """
import pathlib, sys
sys.path.insert(0, {here!r})
from conftest import make_world
from kgrec.gnn.training.job import run_job

marker = pathlib.Path({marker!r})
tensors = make_world()[2]

def callback(epoch, loss, val):
    marker.write_text(str(epoch))

run_job(tensors, {model_dir!r}, "lightgcn", epochs=100000, callback=callback, batch_size=512,
        patience=10**9)
"""


def test_load_live_without_model(tmp_path):
    with pytest.raises(ModelNotTrained, match="no live model"):
        load_live(tmp_path / "models")


@pytest.fixture(scope="module")
def trained(tensors, tmp_path_factory):
    model_dir = tmp_path_factory.mktemp("models")
    result = run_job(tensors, model_dir, "lightgcn", epochs=8, **FAST)
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
    result = run_job(tensors, model_dir, "lightgcn", epochs=1, tolerance=0.0, **{**FAST, "lr": 0.0})
    assert result.exit_code == EXIT_REGRESSED and not result.promoted
    assert result.version_dir.is_dir()  # written, kept for inspection
    assert result.live_metrics["val/recall@20"] > result.metrics["val/recall@20"]
    assert load_live(model_dir).version_dir == first.version_dir.resolve()


def test_bad_arguments_raise_typed_errors_and_write_nothing(tensors, tmp_path):
    with pytest.raises(UnknownModel, match=r"unknown model 'nope'; choose one of .*lightgcn"):
        run_job(tensors, tmp_path, model="nope")
    with pytest.raises(InvalidParameter, match=r"unknown split 'nope'"):
        run_job(tensors, tmp_path, split="nope")
    with pytest.raises(InvalidParameter, match=r"epochs must be >= 1, got 0"):
        run_job(tensors, tmp_path, epochs=0)
    with pytest.raises(InvalidParameter, match=r"unknown training setting learning_rate"):
        run_job(tensors, tmp_path, learning_rate=0.1)
    assert not (tmp_path / "live").exists() and not (tmp_path / "versions").exists()


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
    result = run_job(tensors, tmp_path, model="graphsage", epochs=2, **FAST)
    assert result.exit_code == EXIT_PROMOTED
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


def _few(tensors, per_user: int):
    """``tensors`` keeping at most ``per_user`` interactions of each user."""
    from dataclasses import replace

    users = tensors.edge_index[0]
    keep, count = [], {}
    for j, u in enumerate(users.tolist()):
        if count.get(u, 0) < per_user:
            keep.append(j)
            count[u] = count.get(u, 0) + 1
    idx = torch.tensor(keep, dtype=torch.long)
    fields = {
        name: getattr(tensors, name)[..., idx]
        if name == "edge_index"
        else getattr(tensors, name)[idx]
        for name in ("edge_index", "ts", "split", "rating", "weight")
        if hasattr(tensors, name) and getattr(tensors, name) is not None
    }
    return replace(tensors, **fields)


def test_too_few_interactions_to_split_is_one_clear_error(tensors, tmp_path):
    few = _few(tensors, 4)  # under 5 per user: the temporal split has no test set
    with pytest.raises(TrainingDataError) as err:
        run_job(few, tmp_path, epochs=1, **FAST)
    message = str(err.value)
    assert message.startswith("too few interactions to split: ")
    assert "0 test" in message and "--split random" in message
    assert "\n" not in message and not (tmp_path / "live").exists()
    empty = _few(tensors, 0)
    with pytest.raises(TrainingDataError) as err:
        run_job(empty, tmp_path, epochs=1, **FAST)
    assert str(err.value) == "the graph holds 0 interactions; ingest data first"


def test_damaged_files_raise_model_corrupt_naming_them(trained, tmp_path):
    import shutil

    from kgrec.core.errors import ModelCorrupt
    from kgrec.gnn.versions import MANIFEST_FILE, load_version, verify_version

    model_dir, first = trained
    saved = "when it was saved"  # the manifest's size check comes first
    cases = {  # what a version says with its manifest, and one saved without it
        "embeddings.pt": (b"", ("the file is empty", "not a PyTorch archive")),
        "model.pt": (b"PK\x03\x04 not really a zip", (saved, "not a PyTorch archive")),
        "config.json": (b"{", (saved, "not valid JSON")),
        "id_maps.json": (b'{"users": [], "items": []}', (saved, "lists 0 users")),
    }
    for fname, (content, reasons) in cases.items():
        copy = tmp_path / fname
        shutil.copytree(first.version_dir, copy)
        (copy / fname).write_bytes(content)
        for manifest, reason in zip((True, False), reasons, strict=True):
            if not manifest:
                (copy / MANIFEST_FILE).unlink()
            with pytest.raises(ModelCorrupt) as err:
                verify_version(copy)
            assert err.value.path == str(copy / fname)
            message = str(err.value)
            assert reason in message and "kgrec model promote" in message, message
            assert "\n" not in message
    verify_version(first.version_dir)  # the original is untouched and whole
    assert load_version(first.version_dir).user_embeddings.shape[0] == len(
        load_version(first.version_dir).id_maps["users"]
    )


def test_a_damaged_live_model_is_replaced_by_the_next_job(tensors, tmp_path):
    first = run_job(tensors, tmp_path, "lightgcn", epochs=1, **FAST)
    assert first.promoted
    (first.version_dir / "metrics.json").write_text("{")
    second = run_job(tensors, tmp_path, "lightgcn", epochs=1, **{**FAST, "lr": 0.0})
    assert second.exit_code == EXIT_PROMOTED and second.live_metrics is None
    assert load_live(tmp_path).version_dir == second.version_dir.resolve()


def test_model_dir_lock_is_exclusive_and_released(tmp_path):
    from kgrec.core.errors import ModelDirLocked
    from kgrec.gnn.versions import LOCK_FILE, model_dir_lock

    with model_dir_lock(tmp_path, "kgrec train") as path:
        assert path == tmp_path / LOCK_FILE
        with pytest.raises(ModelDirLocked) as err:
            with model_dir_lock(tmp_path, "kgrec model repair"):
                pass
        assert str(err.value).startswith(
            f"another kgrec train holds {path} (pid {os.getpid()}); wait for it to finish"
        )
    with model_dir_lock(tmp_path):
        pass


def test_the_tested_version_is_refitted_on_train_and_validation_and_serves_every_interaction(
    tensors, tmp_path
):
    from kgrec.gnn.models.ease import EASE
    from kgrec.gnn.training.evaluate import evaluate
    from kgrec.gnn.training.splits import temporal_split
    from kgrec.gnn.training.train import seed_everything

    result = run_job(tensors, tmp_path, model="ease", split="temporal")
    split = temporal_split(tensors)
    train_val = torch.cat([split.train, split.val]).sort().values
    seed_everything(0)
    first = EASE.from_tensors(tensors, split.train)
    first.solve(tensors, split.train, split.val)  # chooses the rank on validation
    seed_everything(0)
    refitted = EASE.from_tensors(tensors, train_val, **first.refit_options())
    refitted.solve(tensors, train_val)  # the same form and rank, on training + validation
    want = evaluate(refitted, tensors, train_val, split.test)
    assert result.metrics["recall@20"] == pytest.approx(want["recall@20"], rel=1e-4)
    saved = load_live(tmp_path).model()
    assert (saved.form, saved.rank) == (first.form, first.rank)
    assert saved.history_index.size(1) == tensors.num_interactions  # test part included
    stale = run_job(tensors, tmp_path / "no-refit", model="ease", refit=False)
    assert stale.metrics["recall@20"] != pytest.approx(result.metrics["recall@20"])
