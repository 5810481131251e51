"""The embedding cache shared between processes keeps SQLite's locks intact."""

from __future__ import annotations

import subprocess
import sys

import numpy as np

from kgrec.loaders.embeddings import EmbeddingCache


def test_a_second_cache_in_one_process_keeps_the_first_ones_locks(tmp_path):
    """Opening the same cache again in this process must not drop the first connection's
    lock: otherwise another process closing its connection believes it is the last one and
    checkpoints and deletes the write-ahead log under the first (a corrupt read later)."""
    first = EmbeddingCache(tmp_path, "m")
    first.put({"a": np.ones(4, dtype=np.float32)})
    wal = first.path.with_name(first.path.name + "-wal")
    assert wal.exists()
    second = EmbeddingCache(tmp_path, "m")
    code = (
        "import sqlite3, sys; db = sqlite3.connect(sys.argv[1]); "
        "db.execute('SELECT count(*) FROM vectors').fetchall(); db.close()"
    )
    subprocess.run([sys.executable, "-c", code, str(first.path)], check=True)
    assert wal.exists()  # the other process knew it was not the last connection
    np.testing.assert_array_equal(first.get(["a"])["a"], np.ones(4, dtype=np.float32))
    second.close()
    first.close()
