"""The live model and the items it serves, under :class:`~kgrec.app.recommender.Recommender`.

:class:`ServedModel` loads the live model version (again after a promotion), keeps the
catalogue of served items (the model's, then the items added since, with every item's
popularity) in step with the store's change counter, records interactions and added items,
and holds the lookups and user vectors the recommender's public methods are built on.
"""

from __future__ import annotations

import difflib
import logging
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from kgrec.app.live import Catalogue, ChangePoll, build_catalogue, user_history
from kgrec.core.dataset import normalise_tag
from kgrec.core.errors import UnknownIdError, UnknownTagError
from kgrec.core.ranking import top_k
from kgrec.core.settings import DEFAULT_REFRESH_SECONDS
from kgrec.explain.weights import PathWeights
from kgrec.kg.store import GraphStore
from kgrec.queries.runner import run_query

if TYPE_CHECKING:
    import pandas as pd

    from kgrec.gnn.inductive.foldin import FoldedNode
    from kgrec.gnn.models.model import EmbeddingModel

log = logging.getLogger("kgrec.app.recommender")  # the Recommender's log, as before


class ServedModel:
    """The live model of ``model_dir`` and the items served from it over ``store``
    (module docstring); :class:`~kgrec.app.recommender.Recommender` serves from it.

    Args:
        store: an open store (closed by :meth:`close`).
        model_dir: the model root holding ``live``.
        embedding_model: text model for new users' text and for :meth:`add_item`.
        cache_dir: embedding cache.
        refresh_seconds: how often to read the store's change counter (0: every call).
    """

    def __init__(
        self,
        store: GraphStore,
        model_dir: Path,
        embedding_model: str = "all-MiniLM-L6-v2",
        cache_dir: Path | None = None,
        refresh_seconds: float = DEFAULT_REFRESH_SECONDS,
    ) -> None:
        from threadpoolctl import threadpool_limits

        from kgrec.app.behaviour import change_sequence

        # Small matrix products per request: one BLAS thread each. With torch loaded, a
        # multi-threaded OpenBLAS fights torch's OpenMP pool and a 9k x 64 product takes
        # 8 ms instead of 0.1 ms; concurrency comes from callers instead.
        self._blas_limit = threadpool_limits(1, user_api="blas")
        self.store = store
        self.model_dir = Path(model_dir)
        self._poll = ChangePoll(store, refresh_seconds, change_sequence(store))
        self._load_live()
        self._embedding_model, self._cache_dir = embedding_model, cache_dir
        self._embedder: Any = None

    def _load_live(self) -> None:
        """Load the live version and everything served from it (again after a promotion)."""
        from kgrec.gnn.versions import load_live

        live = load_live(self.model_dir)
        maps = live.id_maps
        model = cast("EmbeddingModel", live.model())
        scorer = model.path_scorer()  # None: the model has no exact path decomposition
        item_text: np.ndarray | None = None
        text = model.text_vectors()
        if scorer is not None and text is not None:  # for notes on items no path reaches
            item_text = text.detach().cpu().numpy()
        item_emb = live.item_embeddings.numpy().astype(np.float32)
        self.live, self.model, self.version = live, model, live.version_dir.name
        self.user_ids: list[str] = list(maps["users"])
        self._users = {v: j for j, v in enumerate(self.user_ids)}
        self._tags = {normalise_tag(t): t for t in maps["tags"]}
        self._tag_index = {t: j for j, t in enumerate(maps["tags"])}
        self.user_emb = live.user_embeddings.numpy().astype(np.float32)
        self.weights = PathWeights(scorer, maps) if scorer is not None else None
        self._trained = (list(maps["items"]), item_emb, item_text)
        self._cat = self._catalogue()

    # the served items -----------------------------------------------------------------
    def _catalogue(self) -> Catalogue:
        ids, emb, text = self._trained
        return build_catalogue(self.store, ids, emb, text, self.model, self._tag_index)

    def refresh(self) -> None:
        """Read the store's items added since the model and every item's popularity now
        (otherwise done at most every ``refresh_seconds`` when the change counter moved)."""
        from kgrec.app.behaviour import change_sequence

        seq = change_sequence(self.store)
        self._cat = self._catalogue()
        self._poll.seq = seq

    def _current(self) -> Catalogue:
        """The served items, refreshed first when another process changed the store; the
        live model, loaded again first when another version was promoted since (both read
        at most every ``refresh_seconds``)."""
        from kgrec.gnn.versions import live_version

        seq = self._poll.changed()
        if seq is not None:
            if live_version(self.model_dir) not in (None, self.version):
                self._load_live()
                log.info("serving the newly promoted model version %s", self.version)
            else:
                self._cat = self._catalogue()
            self._poll.seq = seq
        return self._cat

    @property
    def item_ids(self) -> list[str]:
        return self._cat.ids

    @property
    def item_emb(self) -> np.ndarray:
        """Item vectors, ``[len(item_ids), d]``."""
        return self._cat.emb

    @property
    def popularity(self) -> np.ndarray:
        """Interactions per item (``[len(item_ids)]``), as of the last refresh."""
        return self._cat.popularity

    def close(self) -> None:
        """Close the store and the text embedder; restore the BLAS thread limit."""
        self._blas_limit.restore_original_limits()
        if self._embedder is not None:
            self._embedder.close()
        self.store.close()

    # lookups ------------------------------------------------------------------------------
    def _user_history(self, user_id: str) -> list[dict[str, Any]]:
        rows = run_query(self.store, "user_items", {"user_id": str(user_id)})
        if not rows and not run_query(self.store, "user_exists", {"id": str(user_id)}):
            raise UnknownIdError(
                f"unknown user {user_id!r}: not in the store; for someone new use "
                "recommend_for_new_user(liked_item_ids=..., text=...)"
            )
        return rows

    def _titles(self, item_ids: Iterable[str]) -> dict[str, str]:
        ids = list(dict.fromkeys(item_ids))
        if not ids:
            return {}
        rows = run_query(self.store, "item_details", {"item_ids": ids})
        return {r["item_id"]: r["title"] for r in rows}

    def _item_local(self, item_id: str, cat: Catalogue) -> int:
        j = cat.index.get(str(item_id))
        if j is None:
            known = run_query(self.store, "item_exists", {"id": str(item_id)})
            where = (
                "is in the store but not in the live model (retrain with `kgrec train`)"
                if known
                else "is not in the store"
            )
            raise UnknownIdError(f"unknown item {item_id!r}: it {where}")
        return j

    # scoring ------------------------------------------------------------------------------
    def _user_vector(
        self, user_id: str, history: list[dict[str, Any]], cat: Catalogue
    ) -> tuple[np.ndarray | None, str, FoldedNode | None]:
        """The user's embedding and where it came from: ``model`` (trained), ``fold-in``
        (over their current interactions, by the model's
        :meth:`~kgrec.gnn.models.model.EmbeddingModel.fold_in_user`) or ``popular`` (no
        data: None)."""
        j = self._users.get(str(user_id))
        node = self.model.fold_in_user(user_history(cat, j, history))
        if node is not None:
            return node.vector, "fold-in", node
        if j is not None:
            return self.user_emb[j], "model", None
        return None, "popular", None

    def _weights_for(
        self, user_id: str, source: str, folded: FoldedNode | None
    ) -> PathWeights | None:
        """The exact path weights of the served score (None: there are none for it)."""
        if self.weights is None:
            return None
        if source == "model":
            return self.weights
        if folded is not None and not folded.extra:  # an added item has no node of the graph
            return self.weights.folded(str(user_id), folded)
        return None

    def _rank(self, scores: np.ndarray, k: int, banned: Iterable[int]) -> list[int]:
        top, _ = top_k(scores[None].astype(np.float64), k, [sorted(banned)])
        return [int(j) for j in top[0] if j >= 0]

    def _allowed_items(self, tags: Sequence[str], cat: Catalogue) -> np.ndarray:
        """Local indices of the items carrying at least one of ``tags``.

        Raises:
            UnknownTagError: a tag is neither known to the model nor on any item in the store.
        """
        names = [normalise_tag(t) for t in tags]
        for tag, name in zip(tags, names, strict=True):
            if name in self._tags or run_query(self.store, "items_with_tags", {"tags": [name]}):
                continue
            close = difflib.get_close_matches(name, list(self._tags), n=3)
            raise UnknownTagError(tag, [self._tags[c] for c in close])
        rows = run_query(self.store, "items_with_tags", {"tags": names})
        return np.array(
            sorted({cat.index[r["item_id"]] for r in rows if r["item_id"] in cat.index}),
            dtype=np.int64,
        )

    # recording ----------------------------------------------------------------------------
    def record_interaction(
        self,
        user_id: str,
        item_id: str,
        rating: float | None = None,
        ts: int | None = None,
        kind: str | None = None,
    ) -> dict[str, Any]:
        """Record that ``user_id`` interacted with ``item_id``; the next :meth:`recommend`
        for that user reflects it (no retraining).

        The store gets the interaction as ingestion would write it (the user is created
        when new; the item must exist; writing it again changes nothing). With LightGCN the
        user's vector is then folded in over all their current neighbours: their trained
        interactions plus every one recorded this way (:mod:`kgrec.gnn.inductive.foldin`).

        Args:
            rating: the rating (None: an implicit interaction). ts: unix seconds (default
                now). kind: default ``rating`` with a rating, else ``implicit``.

        Returns:
            ``{rows, created, updated, seq}`` (see :meth:`record_interactions`).

        Raises:
            DatasetError: a value is missing or cannot be stored (names the field and value).
            UnknownIdError: the item is not in the store.
        """
        from kgrec.app.behaviour import record_interaction

        return record_interaction(self.store, user_id, item_id, rating, ts, kind)

    def record_interactions(
        self, frame: pd.DataFrame, rating_range: tuple[float, float] | None = None
    ) -> dict[str, Any]:
        """Record many interactions at once (batched writes), as :meth:`record_interaction`.

        Args:
            frame: columns ``user_id``, ``item_id`` and optionally ``rating``, ``ts``,
                ``kind``, ``weight``; one row per interaction (for one user and item the
                latest ``ts`` wins, as in ingestion).
            rating_range: refuse ratings outside ``(low, high)``; None: any finite one.

        Returns:
            ``{rows, created, updated, seq}``: rows written, relationships created and
            changed, the store's change counter afterwards.

        Raises:
            DatasetError, InvalidParameter: a bad value or column (named in the message).
            UnknownIdError: an item is not in the store (nothing is written).
        """
        from kgrec.app.behaviour import record_interactions

        return record_interactions(self.store, frame, rating_range)

    def add_item(
        self, item_id: str, title: str, text: str | None = None, tags: Sequence[str] = ()
    ) -> dict[str, Any]:
        """Add an item to the store (or update its title, text and tags) and serve it at
        once, with a vector the live model makes from its text and tags: LightGCN's text
        projection folded in over its tags, GraphSAGE's inductive embedding. A model that
        can do neither (MF) serves the item after the next training.

        Returns:
            ``{item_id, created, changed, seq, served}`` (``served``: it can be recommended
            now).

        Raises:
            DatasetError: an empty or unstorable id, title, text or tag.
        """
        from kgrec.app.behaviour import add_item

        out = add_item(self.store, self._text_embedder(), item_id, title, text, tags)
        self.refresh()
        out["served"] = str(item_id) in self._cat.index
        return out

    def _text_embedder(self) -> Any:
        if self._embedder is None:
            from kgrec.loaders.embeddings import TextEmbedder

            self._embedder = TextEmbedder(self._embedding_model, cache_dir=self._cache_dir)
        return self._embedder
