"""A damaged embedding-cache entry (another dimension, or values that are not finite) is
found before it is used: its text is embedded again and the entry replaced, with a warning,
so an ingest never fails half-way on it. Every backend for the ingest."""

from __future__ import annotations

import logging
import sqlite3

import numpy as np
import pytest

from kgrec.app.ingest import ingest
from kgrec.loaders import read_movielens
from kgrec.loaders.embeddings import TextEmbedder
from kgrec.loaders.text import text_hash
from tests.app.writes import movielens_folder

TEXTS = ["a quiet film about the sea", "a loud film about a city"]


def _damage(cache_path, vector: np.ndarray, hashes: list[str] | None = None) -> int:
    with sqlite3.connect(cache_path) as db:
        if hashes is None:
            hashes = [h for (h,) in db.execute("SELECT hash FROM vectors")]
        db.executemany(
            "UPDATE vectors SET vector = ? WHERE hash = ?",
            [(vector.astype(np.float32).tobytes(), h) for h in hashes],
        )
    return len(hashes)


def _sizes(cache_path) -> set[int]:
    with sqlite3.connect(cache_path) as db:
        return {len(v) // 4 for (v,) in db.execute("SELECT vector FROM vectors")}


@pytest.mark.parametrize("bad", [np.ones(10), np.full(384, np.nan)], ids=["dim10", "nan"])
def test_a_damaged_entry_is_embedded_again(tmp_path, caplog, bad):
    first = TextEmbedder(cache_dir=tmp_path)
    good = first.embed(TEXTS)
    assert first.cache is not None and first.cache.dim == good.shape[1]
    path = first.cache.path
    first.close()
    _damage(path, bad, [text_hash(TEXTS[0])])
    again = TextEmbedder(cache_dir=tmp_path)
    with caplog.at_level(logging.WARNING, logger="kgrec.loaders.embeddings"):
        out = again.embed(TEXTS)
    again.close()
    assert out.shape == good.shape and np.isfinite(out).all()
    np.testing.assert_allclose(out, good, atol=1e-5)
    assert again.num_embedded == 1  # only the damaged one
    assert "1 cached embeddings" in caplog.text and "embedding their texts again" in caplog.text
    assert _sizes(path) == {good.shape[1]}


def test_a_cache_without_a_recorded_dimension_asks_the_model(tmp_path, caplog):
    first = TextEmbedder(cache_dir=tmp_path)
    dim = first.embed(TEXTS).shape[1]
    path = first.cache.path if first.cache else None
    first.close()
    with sqlite3.connect(path) as db:
        db.execute("DROP TABLE meta")  # as a cache written before the dimension was recorded
    _damage(path, np.ones(10))  # every entry, so that they agree with each other
    again = TextEmbedder(cache_dir=tmp_path)
    with caplog.at_level(logging.WARNING, logger="kgrec.loaders.embeddings"):
        assert again.embed(TEXTS).shape == (2, dim)
    assert again.cache is not None and again.cache.dim == dim
    again.close()
    assert "2 cached embeddings" in caplog.text


def test_ingest_with_a_damaged_cache_writes_whole_vectors(store, tmp_path, caplog):
    root = movielens_folder(tmp_path / "ml")
    embedder = TextEmbedder(cache_dir=tmp_path / "cache")
    dim = embedder.dim
    ingest(read_movielens(root), store, embedder)
    assert embedder.cache is not None
    path = embedder.cache.path
    embedder.close()
    assert _damage(path, np.ones(dim + 7)) > 0
    store.write("MATCH (n) DETACH DELETE n")
    damaged = TextEmbedder(cache_dir=tmp_path / "cache")
    with caplog.at_level(logging.WARNING, logger="kgrec.loaders.embeddings"):
        report = ingest(read_movielens(root), store, damaged)
    damaged.close()
    assert report.embeddings_written > 0 and "embedding their texts again" in caplog.text
    for label in ("Item", "Tag"):
        rows = store.run(f"MATCH (n:{label}) WHERE n.embedding IS NOT NULL RETURN n.embedding AS v")
        assert rows and {len(r["v"]) for r in rows} == {dim}, label
    assert _sizes(path) == {dim}
