"""Every setting of a training run and its default, in one place (:class:`TrainConfig`).

Importing this module does not import torch, so a command line can read the defaults
(``TrainConfig.epochs``) while it builds its options.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kgrec.core.errors import InvalidParameter

if TYPE_CHECKING:
    from kgrec.gnn.models.model import EmbeddingModel

#: The ways to split the interactions (:func:`kgrec.gnn.training.splits.make_split`).
SPLIT_KINDS = ("temporal", "random", "fixed")


@dataclass(frozen=True)
class TrainConfig:
    """Every setting of a training run, with its default; the one home of those defaults.

    :func:`fit` reads the optimisation fields; :func:`kgrec.gnn.training.job.run_job` also ``split``
    and ``tolerance``. A model may train best with other values of some fields (its class's
    ``train_defaults``): :meth:`for_model` applies them.

    Attributes:
        epochs: maximum epochs (early stopping usually ends sooner).
        batch_size: training interactions per step (at least; see ``max_steps``).
        max_steps: at most this many steps per epoch (0: no cap). A larger training set gets
            larger batches (:meth:`batch_size_for`), so an epoch costs ``max_steps`` full-graph
            propagations and grows linearly with the data. The default keeps ml-latest-small
            (72,504 training pairs: 18 steps of 4,096) as it was.
        lr: Adam learning rate (1e-2 with 4096 beat 5e-3 with 2048 on ml-latest-small
            validation Recall@20 for LightGCN, temporal split).
        reg: L2 weight on the batch's initial embeddings.
        patience: evaluations without improvement of validation Recall@k before stopping.
        eval_every: evaluate on validation every this many epochs.
        k: the K of the validation Recall that picks the best epoch.
        seed: seeds the split (random), initialisation, batch order and negatives.
        device: ``'auto'``, ``'cpu'``, ``'cuda'``.
        amp: mixed precision on CUDA.
        nproc: training processes on this machine, data-parallel
            (:mod:`kgrec.gnn.training.distributed`; 1: this process alone). Each takes a shard of
            every batch; the result equals one process's up to float summation order.
        split: ``temporal`` | ``random`` | ``fixed`` (:mod:`kgrec.gnn.training.splits`).
        tolerance: promote a new version unless its validation Recall@20 is below the live
            one's minus this (absolute).
        refit: after the epochs (and the gate's validation metric) are chosen on validation,
            train the version that is tested and promoted again on training + validation.
    """

    epochs: int = 200
    batch_size: int = 4096
    max_steps: int = 20
    lr: float = 1e-2
    reg: float = 1e-4
    patience: int = 10
    eval_every: int = 2
    k: int = 20
    seed: int = 0
    device: str = "auto"
    amp: bool = False
    nproc: int = 1
    split: str = "temporal"
    tolerance: float = 0.01
    refit: bool = True

    def __post_init__(self) -> None:
        for name in ("epochs", "batch_size", "patience", "eval_every", "k", "nproc"):
            if getattr(self, name) < 1:
                raise InvalidParameter(
                    f"{name} must be >= 1, got {getattr(self, name)}", field=name
                )
        if self.max_steps < 0:
            raise InvalidParameter(
                f"max_steps must be >= 0 (0: no cap), got {self.max_steps}", field="max_steps"
            )
        if self.split not in SPLIT_KINDS:
            raise InvalidParameter(
                f"unknown split {self.split!r}; choose one of {', '.join(SPLIT_KINDS)}",
                field="split",
            )

    @classmethod
    def for_model(cls, model: str | type[EmbeddingModel], **overrides: Any) -> TrainConfig:
        """The defaults, then ``model``'s ``train_defaults``, then ``overrides``.

        Raises:
            UnknownModel: ``model`` names no registered model.
            InvalidParameter: an override is impossible (``epochs=0``, an unknown split).
        """
        from kgrec.gnn.models.registry import model_class

        cls_ = model_class(model) if isinstance(model, str) else model
        return cls().replace(**{**cls_.train_defaults, **overrides})

    def batch_size_for(self, num_train: int) -> int:
        """The batch size of an epoch over ``num_train`` interactions:
        ``max(batch_size, ceil(num_train / max_steps))`` (``batch_size`` when uncapped)."""
        if self.max_steps == 0:
            return self.batch_size
        return max(self.batch_size, -(-num_train // self.max_steps))

    def replace(self, **changes: Any) -> TrainConfig:
        """A copy with ``changes`` (field names of this class).

        Raises:
            InvalidParameter: a name is not a field, or a value is impossible.
        """
        unknown = sorted(set(changes) - {f.name for f in dataclasses.fields(self)})
        if unknown:
            fields = ", ".join(f.name for f in dataclasses.fields(self))
            raise InvalidParameter(
                f"unknown training setting {', '.join(unknown)}; the settings are {fields}",
                field=unknown[0],
            )
        return dataclasses.replace(self, **changes)

    def as_dict(self) -> dict[str, Any]:
        """The settings as a JSON-ready dict (stored in a version's ``config.json``)."""
        return dataclasses.asdict(self)
