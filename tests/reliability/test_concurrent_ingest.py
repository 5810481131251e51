"""Two `kgrec ingest` runs into one embedded store at once, with a reader polling `stats`.

Both finish (exit 0, no traceback) and the graph holds what the same two runs made one
after the other. Before compaction tolerated a rewrite already in progress, the second
ingest to finish died in ``FalkorStore.compact()`` (BGREWRITEAOF: "Background append only
file rewriting already in progress").
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

from cli_runner import run_in_process

from kgrec.kg import embedded

WORLD = ["--users", "200", "--items", "300", "--tags", "12", "--interactions", "3000"]
SEEDS = (1, 2)


def kgrec(*args: str, env: dict) -> list[str]:
    return [sys.executable, "-m", "kgrec.cli.main", "--quiet", *args]


def ingest_args(store: Path, seed: int) -> list[str]:
    """The arguments of one quiet ``kgrec ingest synthetic`` of the world with ``seed``."""
    return ["--quiet", "--store", str(store), "ingest", "synthetic", *WORLD, "--seed", str(seed)]


def ingest_cmd(store: Path, seed: int, env: dict) -> list[str]:
    return kgrec(*ingest_args(store, seed)[1:], env=env)


def counts(store: Path, env: dict) -> dict:
    out = subprocess.run(
        kgrec("--json", "--store", str(store), "stats", env=env),
        capture_output=True,
        text=True,
        env=env,
    )
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    result.pop("indexes")
    return result


def test_concurrent_ingests_and_a_reader_all_succeed(tmp_path, cache_dir):
    env = {**os.environ, "KGREC_CACHE_DIR": str(cache_dir)}  # texts embedded once, then cached
    env.pop("KGREC_KEEP_SERVER", None)

    reference = tmp_path / "sequential"
    for seed in SEEDS:  # one after the other, in this process
        done = run_in_process(*ingest_args(reference, seed))
        assert done.returncode == 0, done.stderr
    expected = counts(reference, env)

    shared = tmp_path / "shared"
    writers = [
        subprocess.Popen(
            ingest_cmd(shared, seed, env),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for seed in SEEDS
    ]
    reads: list[subprocess.CompletedProcess] = []

    def reader() -> None:
        while not embedded.holds_store(shared) and any(w.poll() is None for w in writers):
            time.sleep(0.05)
        while any(w.poll() is None for w in writers):
            reads.append(
                subprocess.run(
                    kgrec("--json", "--store", str(shared), "stats", env=env),
                    capture_output=True,
                    text=True,
                    env=env,
                )
            )

    thread = threading.Thread(target=reader)
    thread.start()
    outputs = [w.communicate(timeout=300) for w in writers]
    thread.join(timeout=120)

    for w, (_, err) in zip(writers, outputs, strict=True):
        assert w.returncode == 0, err
        assert "Traceback" not in err, err
    assert reads, "the reader never ran while the writers did"
    for r in reads:
        assert r.returncode == 0, r.stderr
        json.loads(r.stdout)
    from kgrec.kg import open_store

    with open_store(str(shared)) as store:
        duplicates = {
            kind: store.run(
                f"MATCH (a)-[r:{kind}]->(b) WITH a, b, r.{key} AS key, count(r) AS n "
                "WHERE n > 1 RETURN count(*) AS pairs"
            )[0]["pairs"]
            for kind, key in (("INTERACTED", "kind"), ("HAS_TAG", "source"))
        }
    assert duplicates == {"INTERACTED": 0, "HAS_TAG": 0}, "concurrent MERGEs duplicated edges"
    assert counts(shared, env) == expected
    pid = embedded.read_pid(shared)
    assert pid is None or not embedded.pid_alive(pid), "the last client out stops the server"


def test_compact_waits_for_a_rewrite_already_in_progress(tmp_path):
    """compact() while another client's BGREWRITEAOF runs: it waits, then rewrites again."""
    from kgrec.kg import open_store

    with (
        open_store(str(tmp_path / "s"), create=True) as store,
        open_store(str(tmp_path / "s")) as other,
    ):
        store.write("UNWIND range(1, 50) AS i CREATE (:User {id: toString(i)})")
        admin = other._db.connection
        # Serialising each key now takes 0.5 s, so the other client's rewrite is still
        # running when compact() asks for one.
        admin.config_set("rdb-key-save-delay", 500_000)
        admin.execute_command("BGREWRITEAOF")
        assert admin.info("persistence")["aof_rewrite_in_progress"]
        rewrites = admin.info("persistence")["aof_rewrites"]  # counted when one starts
        store.write("CREATE (:User {id: 'late'})")
        assert store.compact() is True
        admin.config_set("rdb-key-save-delay", 0)
        assert admin.info("persistence")["aof_rewrites"] == rewrites + 1, "no rewrite of its own"
        assert store.run("MATCH (u:User) RETURN count(u) AS n") == [{"n": 51}]
