"""Shared fixtures: the real dataset, a session-wide embedding cache, and the stores a test
runs against.

Every store-facing test runs on each backend: the embedded store always, and Neo4j 5 when
``KGREC_TEST_NEO4J_URI`` names a server (``.ci/run`` starts one with ``scripts/neo4j.sh``).
Without it the Neo4j runs are skipped and reported; with ``KGREC_REQUIRE_NEO4J=1`` (CI) a
missing server is a failure instead.

Neo4j Community holds one database, so the Neo4j runs share it: :class:`StorePool` remembers
what the database holds and loads a test's data only when it holds something else.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from cli_runner import run_in_process
from dataset_cut import most_rated

REPO = Path(__file__).resolve().parents[1]
DATASET = REPO.parent / "shared" / "datasets" / "ml-latest-small"
BACKENDS = ("embedded", "neo4j")


@pytest.fixture(autouse=True, scope="session")
def _isolated_home(tmp_path_factory):
    """Keep every test away from the user's real data directory."""
    home = tmp_path_factory.mktemp("kgrec-home")
    old = os.environ.get("KGREC_HOME")
    os.environ["KGREC_HOME"] = str(home)
    os.environ["HF_HUB_OFFLINE"] = "1"
    yield home
    if old is None:
        os.environ.pop("KGREC_HOME", None)
    else:
        os.environ["KGREC_HOME"] = old


@pytest.fixture(scope="session")
def movielens_dir() -> Path:
    """ml-latest-small; its absence is a failure, not a skip."""
    assert (DATASET / "ratings.csv").is_file(), f"dataset missing: {DATASET}"
    return DATASET


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory) -> Path:
    """One embedding cache for the whole session (each text is embedded once)."""
    path = tmp_path_factory.mktemp("embedding-cache")
    os.environ["KGREC_CACHE_DIR"] = str(path)
    return path


@pytest.fixture(scope="session")
def embedder(cache_dir):
    from kgrec.loaders.embeddings import TextEmbedder

    emb = TextEmbedder(cache_dir=cache_dir)
    yield emb
    emb.close()


def neo4j_uri() -> str | None:
    """The test server's URI, or None."""
    return os.environ.get("KGREC_TEST_NEO4J_URI") or None


def _backend_params() -> list:
    required = os.environ.get("KGREC_REQUIRE_NEO4J", "") not in ("", "0", "false")
    skip = not neo4j_uri() and not required
    return [
        "embedded",
        pytest.param(
            "neo4j",
            marks=[
                pytest.mark.neo4j,
                pytest.mark.skipif(skip, reason="no Neo4j: KGREC_TEST_NEO4J_URI is not set"),
            ],
        ),
    ]


@pytest.fixture(params=_backend_params())
def backend(request) -> str:
    """``embedded`` or ``neo4j``: each store-facing test runs once per backend."""
    if request.param == "neo4j" and not neo4j_uri():
        pytest.fail("KGREC_REQUIRE_NEO4J is set but KGREC_TEST_NEO4J_URI names no server")
    return request.param


@pytest.fixture(params=_backend_params()[1:])
def neo4j_store(request, store_pool, tmp_path):
    """The wiped Neo4j test server, for what only a server does (notifications, for one)."""
    if not neo4j_uri():
        pytest.fail("KGREC_REQUIRE_NEO4J is set but KGREC_TEST_NEO4J_URI names no server")
    _, s = store_pool.fresh(request.param, tmp_path)
    return s


Loader = Callable[[object, str], object]


class StorePool:
    """The stores of one test session, by backend.

    Embedded stores are cheap: each key gets its own directory and server. Neo4j has one
    database; the pool wipes it (data, indexes, constraints) and loads a key's data only
    when the database holds another key's.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self._embedded: dict[str, tuple[str, object, object]] = {}
        self._neo4j = None
        self._neo4j_key: str | None = None
        self._neo4j_value: object = None

    def _server(self):
        from kgrec.kg import open_store

        if self._neo4j is None:
            self._neo4j = open_store(neo4j_uri())
        return self._neo4j

    def fresh(self, backend: str, directory: Path):
        """An empty store: ``(uri, store)``."""
        from kgrec.kg import open_store

        if backend == "embedded":
            uri = str(directory / "store")
            return uri, open_store(uri, graph=f"t{uuid.uuid4().hex[:8]}", create=True)
        store = self._server()
        store.drop()
        self._neo4j_key, self._neo4j_value = None, None
        return neo4j_uri(), store

    def loaded(self, backend: str, key: str, load: Loader):
        """A store holding ``load(store, uri)``'s data: ``(uri, store, what load returned)``.

        The store stays open for the session; tests must not write to it.
        """
        from kgrec.kg import open_store

        if backend == "embedded":
            if key not in self._embedded:
                uri = str(self.root / key / "store")
                store = open_store(uri, create=True)
                self._embedded[key] = (uri, store, load(store, uri))
            return self._embedded[key]
        store = self._server()
        if self._neo4j_key != key:
            store.drop()
            self._neo4j_key = None
            self._neo4j_value = load(store, neo4j_uri())
            self._neo4j_key = key
        return neo4j_uri(), store, self._neo4j_value

    def writable(self, backend: str, key: str, load: Loader, directory: Path):
        """A store holding ``load``'s data that the test may write to: ``(uri, store, what
        load returned)``.

        Embedded: a copy in ``directory`` (the key's store compacted to a snapshot, its
        append-only files copied; a new server loads them), closed by the caller. Neo4j: the
        loaded database itself, which the pool then forgets, so the key's next user loads
        it again.
        """
        import shutil

        from kgrec.kg import open_store
        from kgrec.kg.embedded import AOF_DIR_NAME

        uri, store, value = self.loaded(backend, key, load)
        if backend == "embedded":
            assert store.compact(), f"could not compact {uri}"
            copy = directory / "store"
            shutil.copytree(Path(uri) / AOF_DIR_NAME, copy / AOF_DIR_NAME)
            return str(copy), open_store(str(copy)), value
        self._neo4j_key, self._neo4j_value = None, None
        return uri, store, value

    def close(self) -> None:
        for _, store, _ in self._embedded.values():
            store.close()
        if self._neo4j is not None:
            self._neo4j.drop()
            self._neo4j.close()


@pytest.fixture(scope="session")
def store_pool(tmp_path_factory):
    pool = StorePool(tmp_path_factory.mktemp("stores"))
    yield pool
    pool.close()


@pytest.fixture
def recommender_world(backend, store_pool, tmp_path_factory, embedder):
    """``recommender_world(model)``: a small synthetic world (60 users, 90 items) in the
    pool's store of ``backend`` with a trained live ``model`` and one idle user, as
    ``((store uri, model dir), dataset)``. Loaded once per backend and model for every
    module that asks (the public API's tests and the served explanations')."""
    from kgrec.app.ingest import ingest
    from kgrec.app.training import train
    from kgrec.loaders import generate_synthetic

    dataset = generate_synthetic(
        num_users=60, num_items=90, num_tags=15, num_interactions=1500, seed=5
    )

    def world(model: str):
        def load(store, uri):
            models = tmp_path_factory.mktemp("rec-models")
            ingest(dataset, store, embedder)
            result, _ = train(store, models, model, epochs=6, seed=0, device="cpu")
            assert result.promoted
            store.write("MERGE (:User {id: 'idle'})")
            return models

        uri, _, models = store_pool.loaded(backend, f"recommender-world-{model}", load)
        return (uri, models), dataset

    return world


class MovieLensWorld:
    """ml-latest-small's :data:`NUM_ITEMS` most-rated films (with every user, rating and tag
    that touches them) in each backend's shared store, with one trained model written back.

    The model is trained once, on the embedded store's export (so every backend serves the
    same one); the Neo4j store gets the same data and that model's write-back.
    :meth:`shared` is read-only; :meth:`writable` is the test's to write to.
    """

    KEY = "movielens"
    #: Films in the world: most of the ratings, a fifth of the texts to embed.
    NUM_ITEMS = 2000

    def __init__(self, pool: StorePool, movielens_dir: Path, embedder, models: Path) -> None:
        self.pool, self.models, self.embedder = pool, models, embedder
        self.movielens_dir = movielens_dir
        self._dataset = None

    @property
    def dataset(self):
        if self._dataset is None:
            from kgrec.loaders.movielens import read_movielens

            self._dataset = most_rated(read_movielens(self.movielens_dir), self.NUM_ITEMS)
        return self._dataset

    def _load(self, backend: str):
        from kgrec.app.ingest import ingest
        from kgrec.app.training import load_tensors, train, write_back

        def load(store, _uri):
            if backend != "embedded":
                self.shared("embedded")  # the model comes from the embedded store's export
            report = ingest(self.dataset, store, self.embedder)
            if backend == "embedded":
                # the default model, choosing its rank among the two smallest
                result, _ = train(
                    store,
                    self.models,
                    epochs=3,
                    seed=0,
                    device="cpu",
                    refit=False,
                    aggregator_epochs=0,
                    model_options={"ranks": (64, 128)},
                )
                assert result.promoted
            else:
                write_back(store, self.models, load_tensors(store))
            return report

        return load

    def shared(self, backend: str):
        """``(uri, store, report of the first ingest)``; tests must not write to it."""
        return self.pool.loaded(backend, self.KEY, self._load(backend))

    def writable(self, backend: str, directory: Path):
        """``(uri, store, report)``: see :meth:`StorePool.writable`."""
        return self.pool.writable(backend, self.KEY, self._load(backend), directory)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The tests of the ml-latest-small world run last, its readers (those on Neo4j
    together, so the database is loaded once for them) before its writers: on Neo4j a writer
    writes into the loaded database itself, which every later reader would load again."""

    def uses(item: pytest.Item, name: str) -> bool:
        return name in getattr(item, "fixturenames", ())

    writers = [item for item in items if uses(item, "movielens_live")]
    readers = [item for item in items if uses(item, "movielens_world") and item not in writers]
    readers.sort(
        key=lambda item: (
            getattr(item, "callspec", None) is not None
            and item.callspec.params.get("backend") == "neo4j"
        )
    )
    last = set(map(id, writers + readers))
    items[:] = [item for item in items if id(item) not in last] + readers + writers


@pytest.fixture(scope="session")
def movielens_world(store_pool, movielens_dir, embedder, tmp_path_factory) -> MovieLensWorld:
    """ml-latest-small with a trained model, in each backend (:class:`MovieLensWorld`)."""
    return MovieLensWorld(
        store_pool, movielens_dir, embedder, tmp_path_factory.mktemp("movielens-models")
    )


@pytest.fixture
def store(backend, store_pool, tmp_path):
    """An empty store of each backend."""
    uri, s = store_pool.fresh(backend, tmp_path)
    yield s
    if backend == "embedded":
        s.close()


@pytest.fixture
def store_uri(backend, store_pool, tmp_path) -> str:
    """The URI of an empty store of each backend, for commands run as subprocesses: a new
    directory (embedded) or the wiped test server (Neo4j)."""
    if backend == "embedded":
        return str(tmp_path / "store")
    uri, _ = store_pool.fresh(backend, tmp_path)
    return uri


def _error_line(result, code: int = 1) -> str:
    """The one ``error:`` line a failed command printed on stderr (no traceback)."""
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.stderr
    return errors[0]


@pytest.fixture(scope="session")
def kgrec():
    """Runs ``kgrec`` as a user does, in this process: ``kgrec(*args, cwd=None, env=None)``
    -> a ``CompletedProcess`` (see :func:`cli_runner.run_in_process`)."""
    return run_in_process


@pytest.fixture(scope="session")
def error_line():
    """``error_line(result, code=1)``: the single ``error:`` line of a failed command."""
    return _error_line
