"""The contract every trainable model keeps (:class:`EmbeddingModel`) and what its forward
pass returns (:class:`Embeddings`). Training, evaluation, versions and the recommender use
only the methods below, never the model's name (its key in :mod:`.registry`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple, Self

import numpy as np
import torch
from torch import nn

from kgrec.gnn.inductive.foldin import FoldedNode

if TYPE_CHECKING:
    from kgrec.gnn.data import GraphTensors
    from kgrec.gnn.models.paths import PathScorer
    from kgrec.gnn.training.plan import FitCost, GraphSize

#: Steps of a gradient epoch the cost model assumes (``TrainConfig.max_steps``' default).
PLANNED_STEPS = 20


class Embeddings(NamedTuple):
    """Final and initial embeddings of every user and item.

    The score of ``(u, i)`` is ``users[u] @ items[i]``; BPR's regulariser weighs the
    initial ones (``users0``, ``items0``).

    Shapes:
        users, users0: ``[U, d]``; items, items0: ``[I, d]``.
    """

    users: torch.Tensor
    items: torch.Tensor
    users0: torch.Tensor
    items0: torch.Tensor


class AfterFit(NamedTuple):
    """What :meth:`EmbeddingModel.after_fit` fitted, for the version the job saves:
    ``metrics`` join its ``metrics.json``, ``config`` its ``config.json``."""

    metrics: dict[str, float]
    config: dict[str, Any]


@dataclass(frozen=True)
class History:
    """A user's current interactions as a serving model reads them
    (:meth:`EmbeddingModel.fold_in_user`): those whose item the served catalogue holds, in
    the history's order.

    Attributes:
        user: the user's local index in the model; None: a user the model never saw.
        items: each interaction's catalogue row: the model's local item index for the
            model's items (``trained``), a later row for an item placed since
            (:meth:`EmbeddingModel.place_items`).
        trained: which items are the model's.
        ts: their times (-1: none). ratings: their ratings (NaN: none).
        recorded: which interactions were recorded after training.
        changed: some interaction of the user's was recorded after training (also one of an
            item the catalogue does not hold).
        vectors: the catalogue's vectors of ``items``.
        placed: the states :meth:`EmbeddingModel.place_items` gave the placed items among
            ``items``, by catalogue row.

    Shapes:
        items, trained, ts, ratings, recorded: ``[n]``; vectors: ``[n, d]``.
    """

    user: int | None
    items: np.ndarray
    trained: np.ndarray
    ts: np.ndarray
    ratings: np.ndarray
    recorded: np.ndarray
    changed: bool
    vectors: np.ndarray
    placed: Mapping[int, FoldedNode]


def has_history_vectors(cls: type[EmbeddingModel]) -> bool:
    """Whether a model class's user vectors are a function of the history: it implements
    :meth:`EmbeddingModel.history_vector` (for questions asked before any history is at
    hand: whether a cold-user aggregator can be fitted on it)."""
    return cls.history_vector is not EmbeddingModel.history_vector


def embedded_items(
    embed: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    text: Sequence[np.ndarray | None],
    tags: Sequence[Sequence[int]],
) -> list[FoldedNode | None]:
    """:meth:`EmbeddingModel.place_items` of a model that embeds new items from their text
    vectors and ``(new_item, tag)`` edges (``embed``): every item with a text vector, as a
    one-layer node without neighbours; None for an item without one."""
    with_text = [n for n, t in enumerate(text) if t is not None]
    out: list[FoldedNode | None] = [None] * len(text)
    if not with_text:
        return out
    vectors = torch.tensor(np.stack([np.asarray(text[n], dtype=np.float32) for n in with_text]))
    pairs = [(k, int(t)) for k, n in enumerate(with_text) for t in tags[n]]
    edges = torch.tensor(pairs, dtype=torch.long).T.reshape(2, -1)
    emb = embed(vectors, edges).cpu().numpy()
    none = np.zeros(0, dtype=np.int64)
    for n, v in zip(with_text, emb, strict=True):
        out[n] = FoldedNode(v[None], none, np.zeros(0))
    return out


class EmbeddingModel(nn.Module):
    """A recommender scoring ``(u, i)`` as the dot product of learned embeddings.

    Subclasses set :attr:`name`, implement :meth:`forward`, :meth:`config` and
    :meth:`from_tensors`, and register with :func:`kgrec.gnn.models.registry.register`.
    :meth:`final_embeddings` runs the full forward once and keeps the result until the next
    ``train()`` or device move; subclasses with more device caches extend
    :meth:`_drop_caches`.

    What a model can do beyond scoring its own users and items is told by its contract
    methods alone, each answering None where the model cannot: :meth:`fold_in_user` (a
    user's vector over their current history), :meth:`place_items` (items added after
    training), :meth:`history_vector` (user vectors that are a function of the history),
    :meth:`score_without` (a score once some interactions are gone) and :meth:`path_scorer`
    (the exact share of each graph path in a score).

    Attributes:
        name: the registry name (``kgrec train --model NAME``, version directory suffix).
        needs_text: the model cannot be built without item text vectors.
        train_defaults: the fields of :class:`kgrec.gnn.training.train.TrainConfig` this model
            trains best with, where they differ from the common defaults.
        closed_form: the model is fitted by :meth:`solve`, not by gradient steps.
    """

    name: ClassVar[str] = ""
    needs_text: ClassVar[bool] = False
    train_defaults: ClassVar[dict[str, Any]] = {}
    closed_form: ClassVar[bool] = False

    def __init__(self) -> None:
        super().__init__()
        self._final: tuple[torch.Tensor, torch.Tensor] | None = None

    # construction -------------------------------------------------------------------------
    def config(self) -> dict[str, Any]:
        """Constructor arguments: ``from_config(model.config())`` builds the same shape."""
        raise NotImplementedError

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Self:
        """A fresh (untrained) model with the constructor arguments ``config``."""
        return cls(**config)

    @classmethod
    def from_tensors(
        cls, tensors: GraphTensors, train_idx: torch.Tensor | None = None, **options: Any
    ) -> Self:
        """A fresh model on ``tensors`` whose user-item edges are the interactions
        ``train_idx`` (all of them when None); ``options`` are constructor arguments."""
        raise NotImplementedError

    @classmethod
    def from_state(cls, config: dict[str, Any], state: dict[str, torch.Tensor]) -> Self:
        """The model saved as ``(model.config(), model.state_dict())``, in eval mode."""
        model = cls.from_config(config)
        model.load_state_dict(state)
        return model.eval()

    @classmethod
    def fit_cost(
        cls, size: GraphSize, options: dict[str, Any], budget_bytes: int | None = None
    ) -> FitCost:
        """What one fit costs at ``size`` with constructor ``options``
        (:mod:`kgrec.gnn.training.plan`).

        The default models a full-graph gradient model: ``embedding_dim`` (d, 64) states of
        every node through ``num_layers`` (3) sparse products per step, forward and
        backward, :data:`PLANNED_STEPS` steps an epoch, Adam's moments on every weight, and
        a full-catalogue evaluation every second epoch. A model with another cost (a
        closed form) overrides it; ``budget_bytes`` lets it choose a form that fits.
        """
        from kgrec.gnn.training.plan import FitCost

        d = int(options.get("embedding_dim", 64))
        layers = int(options.get("num_layers", 3))
        nodes, edges = size.num_nodes, 2 * (size.num_interactions + size.num_item_edges)
        weights = 4 * 4 * (nodes * d + size.text_dim * d)  # values, gradients, two moments
        states = 4 * nodes * d * (layers + 2) * 3  # layer states, forward and backward
        adjacency = 2 * edges * 8  # CSR entries, and their copy in column blocks
        peak = weights + states + adjacency + 4 * size.num_items * size.text_dim
        sparse = PLANNED_STEPS * 2 * layers * 2 * edges * d
        dense = PLANNED_STEPS * 6 * size.num_items * size.text_dim * d
        dense += size.num_users * size.num_items * d  # evaluation every second epoch
        return FitCost(
            f"full-graph {cls.__name__}",
            peak,
            dense,
            sparse,
            per_epoch=True,
            fix="train the default ease model, whose memory grows linearly "
            "with the catalogue, or a smaller embedding_dim",
        )

    def refit_options(self) -> dict[str, Any]:
        """Constructor options that fix what this fitted model chose for itself on
        validation (EASE's form and rank), so that the job's refit on training +
        validation, which has no validation left, fits the same model again. Default: none.
        """
        return {}

    def after_fit(
        self, tensors: GraphTensors, train_idx: torch.Tensor, seed: int, epochs: int
    ) -> AfterFit | None:
        """Fit what the model serves beside its weights, on the interactions ``train_idx``
        it was fitted on (the training job calls it once, after its last fit); kept by
        :meth:`saved_extras`. ``epochs``: the epoch limit of what it fits (0: nothing).
        Default: nothing to fit (None)."""
        return None

    def saved_extras(self) -> dict[str, Any]:
        """What the model keeps beside its weights (:meth:`after_fit`), by file name in a
        saved version: each value is written with ``torch.save`` and given back to
        :meth:`load_extra` when the version is loaded. Default: none."""
        return {}

    def load_extra(self, name: str, blob: Any) -> None:
        """Take back a file of :meth:`saved_extras` (``name``) as read from a version
        (tensors only). Default: the model keeps nothing beside its weights and ignores it.

        Raises:
            ValueError: ``blob`` does not fit the model (the message says how).
        """

    def use_interactions(self, tensors: GraphTensors, idx: torch.Tensor) -> None:
        """Score from the interactions ``idx`` (a graph model's propagation graph, a history
        model's histories) with the learned weights as they are: no refit. Models whose
        scores do not read the interactions (MF) keep them as they are.

        Shapes:
            idx: ``[n]`` indices into ``tensors.edge_index`` columns.
        """

    def solve(
        self, tensors: GraphTensors, train_idx: torch.Tensor, val_idx: torch.Tensor | None = None
    ) -> None:
        """Fit in closed form on the interactions ``train_idx`` (:attr:`closed_form`
        models; :func:`kgrec.gnn.fit` calls it instead of its training loop), choosing any
        setting the model chooses itself on the interactions ``val_idx``."""
        raise NotImplementedError(f"{type(self).__name__} is trained by gradient steps")

    # scoring ------------------------------------------------------------------------------
    def forward(self) -> Embeddings:
        """Final and initial embeddings of every user and item (differentiable)."""
        raise NotImplementedError

    @torch.no_grad()
    def final_embeddings(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Final user and item embeddings (cached until the next ``train()``).

        Shapes:
            output: ``(users [U, d], items [I, d])``.
        """
        if self._final is None or self.training:
            out = self.forward()
            self._final = (out.users, out.items)
        return self._final

    @torch.no_grad()
    def score_users(self, users: torch.Tensor) -> torch.Tensor:
        """Scores of every item for ``users``.

        Shapes:
            users: ``[n]``; output: ``[n, I]``.
        """
        u, i = self.final_embeddings()
        return u[users.to(u.device)] @ i.T

    @torch.no_grad()
    def score(self, user: int, item: int) -> float:
        """:math:`e_u^\\top e_i` for local user and item indices."""
        u, i = self.final_embeddings()
        return float(u[user] @ i[item])

    # users and items training did not see ------------------------------------------------
    def fold_in_user(self, history: History) -> FoldedNode | None:
        """A user's vector over their current ``history``, or None when there is none to
        serve: the trained vector holds (a user the model knows) or the history gives nothing
        the model can read (the user is served the popular items).

        Default: a user the model knows keeps the trained vector; a user it never saw gets
        the mean of their items' vectors, a one-layer node without neighbours. A model with
        a :meth:`path_scorer` overrides it so that the node's neighbours and weights
        decompose the vector.
        """
        if history.user is not None or not len(history.items):
            return None
        vector = history.vectors.mean(0)
        return FoldedNode(vector[None], np.zeros(0, dtype=np.int64), np.zeros(0))

    def place_items(
        self, text: Sequence[np.ndarray | None], tags: Sequence[Sequence[int]]
    ) -> list[FoldedNode | None]:
        """States of items added after training, from their text vectors (None: the item has
        none) and the model's local indices of their tags; None for an item the model cannot
        place (it is served after the next training). Default: none can be placed.

        Shapes:
            text: each ``[text_dim]``; output: nodes whose ``vector`` is ``[d]``.
        """
        return [None] * len(text)

    def history_vector(
        self, items: np.ndarray, ts: np.ndarray, ratings: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray] | None:
        """A user's vector from their history, where the model's user vectors are a
        function of the history alone: exact for any changed history, without a refit;
        None for a model whose user vectors are not (the default).

        Args:
            items: local item indices of the user's interactions. ts: their times.
            ratings: their ratings (NaN: none; None: no ratings at all).

        Returns:
            ``(vector, weights)``: the user's vector and each interaction's weight in it
            (the user's edge weights in :meth:`path_scorer`).

        Shapes:
            items, ts, weights: ``[n]``; vector: ``[d]``.
        """
        return None

    def history_vector_of_rows(
        self, rows: Sequence[Mapping[str, Any]], index: Mapping[str, int]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """:meth:`history_vector` of interaction rows (``item_id``, ``ts``, ``rating``: a
        store's ``user_items``; a missing ``ts`` is -1, a missing rating none); None where
        the model has no history vectors.

        Args:
            index: item id -> local item index; every row's item must be in it.

        Returns:
            ``(vector, weights, items)``: the user's vector, each row's weight in it, and the
            rows' local item indices.
        """
        items = np.array([index[r["item_id"]] for r in rows], dtype=np.int64)
        ts = np.array([-1 if r.get("ts") is None else r["ts"] for r in rows], dtype=np.int64)
        ratings = np.array(
            [np.nan if r.get("rating") is None else r["rating"] for r in rows], dtype=np.float64
        )
        got = self.history_vector(items, ts, ratings)
        if got is None:
            return None
        return got[0], got[1], items

    def score_without(self, user: int, item: int, removed: Sequence[int]) -> float | None:
        """The score of ``(user, item)`` once the user's trained edges to the nodes
        ``removed`` are gone, recomputed without retraining (global node indices of
        :meth:`path_scorer`); None where the model cannot tell from its graph (the default;
        a history model tells it by :meth:`history_vector` of what remains)."""
        return None

    def path_scorer(self) -> PathScorer | None:
        """The exact share of each graph path in a score, where the model has one (None)."""
        return None

    def text_vectors(self) -> torch.Tensor | None:
        """The text vectors the model reads for its items, where it reads them (None).

        Shapes:
            output: ``[I, text_dim]``.
        """
        return None

    # caches -------------------------------------------------------------------------------
    def _drop_caches(self) -> None:
        self._final = None

    def train(self, mode: bool = True) -> Self:
        self._final = None
        return super().train(mode)

    def _apply(self, fn: Any, *args: Any, **kwargs: Any) -> Self:
        """``.to()`` / ``.cuda()`` / ``.float()``: drop the caches when a tensor moved or
        changed type; a no-op move (``fit`` calls ``.to(device)`` every time) keeps them."""
        before = self._placement()
        out = super()._apply(fn, *args, **kwargs)
        if self._placement() != before:
            self._drop_caches()
        return out

    def _placement(self) -> list[tuple[torch.device, torch.dtype, int]]:
        """Where each parameter and buffer lives: device, dtype and storage address."""
        tensors = [*self.parameters(), *self.buffers()]
        return [(t.device, t.dtype, t.data_ptr()) for t in tensors]
