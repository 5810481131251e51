"""Shared fixtures: the real dataset, a session-wide embedding cache, store directories, and
the backends a store test runs against (embedded always; Neo4j when KGREC_TEST_NEO4J_URI is set).
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DATASET = REPO.parent / "shared" / "datasets" / "ml-latest-small"


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


def _backends() -> list:
    neo4j_uri = os.environ.get("KGREC_TEST_NEO4J_URI")
    return [
        "embedded",
        pytest.param(
            "neo4j",
            marks=[
                pytest.mark.neo4j,
                pytest.mark.skipif(not neo4j_uri, reason="KGREC_TEST_NEO4J_URI is not set"),
            ],
        ),
    ]


@pytest.fixture(params=_backends())
def store(request, tmp_path):
    """An empty store of each backend (Neo4j: the database is wiped first and after)."""
    from kgrec.kg import open_store

    if request.param == "embedded":
        s = open_store(str(tmp_path / "store"), graph=f"t{uuid.uuid4().hex[:8]}")
        yield s
        s.close()
    else:
        s = open_store(os.environ["KGREC_TEST_NEO4J_URI"])
        s.drop()
        yield s
        s.drop()
        s.close()
