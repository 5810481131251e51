"""The model directory and what it writes into the store stay whole and private.

- A write-back killed half-way (a real SIGKILL of a real process) is detected, and repaired
  by ``repair`` and by the next ``kgrec train``; afterwards every user, item and RECOMMENDED
  edge carries the live version.
- Two jobs never write one model directory at once (``.train.lock``).
- Damaged model files stop ``kgrec recommend`` with one line naming the file and the fix.
- The model directory is private (0700 / 0600) whatever the umask.

Real stores (both backends through the ``store`` fixture), real models, small synthetic data.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import textwrap
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
import torch
from cli_runner import run_in_process

from kgrec.core.errors import ModelDirLocked
from kgrec.gnn.versions import LOCK_FILE, model_dir_lock
from kgrec.loaders import generate_synthetic

FAST = {"batch_size": 256, "lr": 5e-3, "patience": 100, "eval_every": 1}
WORLD = {"num_users": 40, "num_items": 60, "num_tags": 8, "num_interactions": 900, "seed": 5}


def store_args(store) -> list[str]:
    """``--store`` / ``--graph`` naming the fixture's store for a CLI process."""
    return ["--store", store.uri, "--graph", getattr(store, "graph_name", "kgrec")]


def kgrec(*args: str) -> subprocess.CompletedProcess:
    """The command, run in this process (see tests/support/cli_runner.py)."""
    return run_in_process(*args)


def one_error_line(out: subprocess.CompletedProcess) -> str:
    lines = out.stderr.strip().splitlines()
    assert out.returncode == 1, (out.returncode, out.stderr)
    assert len(lines) == 1, out.stderr
    assert lines[0].startswith("error: "), out.stderr
    return lines[0]


def versions_in_store(store) -> dict[str, set]:
    return {
        "users": {r["v"] for r in store.run("MATCH (u:User) RETURN u.model_version AS v")},
        "items": {r["v"] for r in store.run("MATCH (v:ItemVector) RETURN v.model_version AS v")},
        "recommended": {
            r["v"] for r in store.run("MATCH ()-[r:RECOMMENDED]->() RETURN r.model_version AS v")
        },
    }


@pytest.fixture
def world(store, embedder, tmp_path):
    """The store with a small synthetic world, v1 trained and written back, and v2 promoted
    without a write-back (a job killed right after promotion)."""
    from kgrec.app.ingest import ingest
    from kgrec.app.training import load_tensors, train
    from kgrec.gnn.training.job import run_job

    ingest(generate_synthetic(**WORLD), store, embedder)
    model_dir = tmp_path / "models"
    first, written = train(store, model_dir, epochs=2, device="cpu", **FAST)
    assert first.promoted and written["recommendations"] > 0
    # another model, so every vector differs from v1's and the write-back has work to do
    second = run_job(
        load_tensors(store), model_dir, "mf", epochs=2, tolerance=1.0, device="cpu", **FAST
    )
    assert second.promoted
    return model_dir, first.version_dir.name, second.version_dir.name


_WRITE_BACK_CHILD = textwrap.dedent("""
    import pathlib, sys, time
    from kgrec.kg import open_store
    from kgrec.app.training import load_tensors, write_back

    marker = pathlib.Path({marker!r})
    store = open_store({uri!r}, {graph!r})
    tensors = load_tensors(store)

    def progress(step, done, total):
        if step == "set_item_gnn_embeddings" and done >= 20:
            marker.write_text(step)   # items half written: the parent kills us here
            time.sleep(600)

    write_back(store, pathlib.Path({model_dir!r}), tensors, 20, progress=progress, batch_size=10)
""")


def test_killed_write_back_is_detected_and_repaired(world, store, tmp_path):
    from kgrec.app.training import repair, write_back_status

    model_dir, v1, v2 = world
    status = write_back_status(store, model_dir)
    assert (status["live_version"], status["stored_version"]) == (v2, v1)
    assert status["complete"] and not status["in_sync"] and status["needs_repair"]

    marker = tmp_path / "marker"
    code = _WRITE_BACK_CHILD.format(
        marker=str(marker),
        uri=store.uri,
        graph=getattr(store, "graph_name", "kgrec"),
        model_dir=str(model_dir),
    )
    child = subprocess.Popen(
        [sys.executable, "-c", code], env={**os.environ, "OMP_NUM_THREADS": "1"}
    )
    try:
        deadline = time.monotonic() + 180
        while not marker.exists() and child.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert marker.exists(), f"the write-back never got half-way (exit {child.poll()})"
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    assert child.returncode == -signal.SIGKILL

    mixed = versions_in_store(store)  # what a kill after promotion leaves
    assert mixed["users"] == {v2}
    assert mixed["items"] == {v1, v2}
    assert mixed["recommended"] == {v1}
    status = write_back_status(store, model_dir)
    assert status["stored_version"] == v2 and status["live_version"] == v2
    assert not status["complete"] and status["needs_repair"]

    out = repair(store, model_dir)
    assert out["status"]["needs_repair"] and out["written"]["version"] == v2
    status = write_back_status(store, model_dir)
    assert status["in_sync"] and status["complete"] and not status["needs_repair"]
    assert versions_in_store(store) == {"users": {v2}, "items": {v2}, "recommended": {v2}}
    assert status["recommendations"] == out["written"]["recommendations"] > 0
    assert repair(store, model_dir)["written"] is None  # nothing left to do
    # the vector index over the rewritten embeddings holds every item once, no stale entry
    from kgrec.gnn.versions import load_live
    from kgrec.kg.vector import vector_search

    live = load_live(model_dir)
    found = vector_search(
        store, live.item_embeddings[0].tolist(), 60, label="ItemVector", prop="gnn_embedding"
    )
    assert sorted(r["id"] for r in found) == sorted(live.id_maps["items"])


def test_next_train_finishes_the_write_back_first(world, store):
    model_dir, v1, v2 = world
    before = kgrec(*store_args(store), "--model-dir", str(model_dir), "model", "status")
    assert before.returncode == 0, before.stderr
    assert f"of version {v1} (complete), not of the live version" in before.stdout
    # --tolerance -1: the new version is never promoted, so only the repair writes v2
    out = kgrec(
        *store_args(store),
        "--model-dir",
        str(model_dir),
        "--quiet",
        "train",
        "--epochs",
        "1",
        "--device",
        "cpu",
        "--tolerance",
        "-1",
    )
    assert out.returncode == 3, out.stderr
    assert "finished the interrupted write-back of the live model" in out.stderr
    assert versions_in_store(store) == {"users": {v2}, "items": {v2}, "recommended": {v2}}
    after = kgrec(*store_args(store), "--model-dir", str(model_dir), "--json", "model", "status")
    assert json.loads(after.stdout)["write_back"]["in_sync"] is True


# --- one job at a time ------------------------------------------------------------------


_LOCK_HOLDER = textwrap.dedent("""
    import pathlib, sys, time
    from kgrec.gnn.versions import model_dir_lock
    with model_dir_lock({model_dir!r}, "kgrec train"):
        pathlib.Path({marker!r}).write_text("held")
        time.sleep(600)
""")


@pytest.fixture
def empty_store_dir(tmp_path):
    """An embedded store that holds nothing."""
    from kgrec.kg import open_store

    path = tmp_path / "store"
    try:
        store = open_store(str(path), create=True)
    except TypeError:  # a store that opening creates
        store = open_store(str(path))
    store.close()
    return path


def test_a_second_train_exits_1_naming_the_lock_and_its_pid(empty_store_dir, tmp_path):
    model_dir = tmp_path / "models"
    marker = tmp_path / "held"
    holder = subprocess.Popen(
        [sys.executable, "-c", _LOCK_HOLDER.format(model_dir=str(model_dir), marker=str(marker))]
    )
    try:
        deadline = time.monotonic() + 60
        while not marker.exists() and holder.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert marker.exists()
        lock = model_dir / LOCK_FILE
        for args in (["train", "--epochs", "1"], ["model", "repair"]):
            out = kgrec("--store", str(empty_store_dir), "--model-dir", str(model_dir), *args)
            line = one_error_line(out)
            assert line.startswith(
                f"error: another kgrec train holds {lock} (pid {holder.pid}); wait for it"
            ), line
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    # the kernel dropped the killed holder's lock: no stale lock to clean up
    with model_dir_lock(model_dir, "test"):
        with pytest.raises(ModelDirLocked, match=rf"another test holds .* \(pid {os.getpid()}\)"):
            with model_dir_lock(model_dir, "second"):
                pass


def test_lock_held_in_this_process_stops_a_train(empty_store_dir, tmp_path):
    model_dir = tmp_path / "models"
    with model_dir_lock(model_dir):
        out = kgrec(
            "--store",
            str(empty_store_dir),
            "--model-dir",
            str(model_dir),
            "--json",
            "train",
            "--epochs",
            "1",
        )
    assert out.returncode == 1
    error = json.loads(out.stdout)["error"]
    assert error["type"] == "ModelDirLocked" and f"(pid {os.getpid()})" in error["message"]
    assert out.stderr == ""  # with --json the error is the JSON document alone


# --- damaged model files ------------------------------------------------------------------


@pytest.fixture(scope="module")
def trained_cli(tmp_path_factory, cache_dir):
    root = tmp_path_factory.mktemp("integrity")
    base = ["--store", str(root / "store"), "--model-dir", str(root / "models")]
    ingest = kgrec(
        *base,
        "--quiet",
        "ingest",
        "synthetic",
        "--users",
        "40",
        "--items",
        "60",
        "--tags",
        "8",
        "--interactions",
        "900",
        "--seed",
        "5",
    )
    assert ingest.returncode == 0, ingest.stderr
    train = kgrec(*base, "--quiet", "train", "--epochs", "2", "--device", "cpu")
    assert train.returncode == 0, train.stderr
    assert kgrec(*base, "recommend", "u1", "--k", "3").returncode == 0
    return root


class Evil:
    def __reduce__(self):
        return (print, ("unpickled code ran",))


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _shorter_id_maps(path: Path) -> None:
    maps = json.loads(path.read_text())
    maps["items"] = maps["items"][:-1]
    path.write_text(json.dumps(maps))


DAMAGE = {
    "empty embeddings": ("embeddings.pt", lambda p: p.write_bytes(b""), "empty"),
    "truncated embeddings": ("embeddings.pt", _truncate, "cannot be read"),
    "missing embeddings": ("embeddings.pt", lambda p: p.unlink(), "missing"),
    "truncated model": ("model.pt", _truncate, "cannot be read"),
    "model that runs code": (
        "model.pt",
        lambda p: torch.save({"model": Evil()}, p),
        "weights_only",
    ),
    "malformed config": (
        "config.json",
        lambda p: p.write_text('{"model": "lightgcn",'),
        "not valid JSON",
    ),
    "config of no model": ("config.json", lambda p: p.write_text('{"model": "gpt"}'), "'gpt'"),
    "malformed metrics": ("metrics.json", lambda p: p.write_text("recall=0.3"), "not valid JSON"),
    "id maps shorter than embeddings": (
        "id_maps.json",
        _shorter_id_maps,
        "lists 59 items but embeddings.pt holds 60",
    ),
    "id maps not a map": ("id_maps.json", lambda p: p.write_text("[1, 2]"), "expected"),
}


@pytest.mark.parametrize("case", list(DAMAGE))
def test_damaged_model_file_is_one_line_naming_it(trained_cli, tmp_path, case):
    fname, damage, reason = DAMAGE[case]
    models = tmp_path / "models"
    shutil.copytree(trained_cli / "models", models, symlinks=True)
    target = (models / "live").resolve() / fname
    damage(target)
    out = kgrec(
        "--store",
        str(trained_cli / "store"),
        "--model-dir",
        str(models),
        "recommend",
        "u1",
        "--k",
        "3",
    )
    line = one_error_line(out)
    assert f"model file {target} is corrupt" in line
    assert reason in line
    assert "kgrec model promote" in line and "kgrec train" in line
    assert "unpickled code ran" not in out.stdout + out.stderr


def test_live_link_to_a_missing_version(trained_cli, tmp_path):
    models = tmp_path / "models"
    shutil.copytree(trained_cli / "models", models, symlinks=True)
    shutil.rmtree((models / "live").resolve())
    out = kgrec(
        "--store", str(trained_cli / "store"), "--model-dir", str(models), "recommend", "u1"
    )
    line = one_error_line(out)
    assert "points at" in line and "does not exist" in line and "kgrec model promote" in line


# --- private files ------------------------------------------------------------------------


@contextmanager
def umask(mask: int):
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


@pytest.mark.parametrize("mask", [0o000, 0o022])
def test_model_directory_is_private_whatever_the_umask(mask, tmp_path):
    from kgrec.gnn.data import GraphTensors
    from kgrec.gnn.training.job import run_job
    from kgrec.loaders.synthetic import generate_synthetic_world

    ds, _ = generate_synthetic_world(30, 40, 6, 400, 0)
    tensors = GraphTensors.from_dataset(ds)
    model_dir = tmp_path / "deep" / "models"
    with umask(mask):
        result = run_job(tensors, model_dir, epochs=1, device="cpu", **FAST)
        with model_dir_lock(model_dir):
            pass
    assert result.promoted

    def mode(path: Path) -> int:
        return stat.S_IMODE(path.stat().st_mode)

    assert mode(model_dir) == 0o700
    assert mode(model_dir / "versions") == 0o700
    assert mode(result.version_dir) == 0o700
    files = list(result.version_dir.iterdir())  # the weights, manifest and four others
    assert len(files) == 6 and all(mode(f) == 0o600 for f in files), {
        f.name: oct(mode(f)) for f in files
    }
    assert mode(model_dir / LOCK_FILE) == 0o600
