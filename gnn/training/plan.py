"""What a training job will cost, said before it starts (:func:`plan_job`).

The job asks the model what one fit costs at the graph's size
(:meth:`~kgrec.gnn.models.model.EmbeddingModel.fit_cost`: the form it will fit, its peak memory
and its arithmetic), adds what the exported graph holds, and turns the arithmetic into
seconds with this machine's measured speed (:func:`machine_speed`). A plan whose peak does
not fit the memory budget (:data:`BUDGET_SHARE` of the memory available now, or the limit
the operator set) is refused before any work, with one line naming the fix.

Predictions are estimates (within about 2x, ``benchmarks/scale.py`` prints both); they
exist so that a job that cannot finish says so at once instead of being killed for memory
after minutes.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Any

#: Share of the available memory a job may plan to use (the rest: the store, the OS).
BUDGET_SHARE = 0.8
#: Bytes the exported graph keeps per interaction (edge pair int64, time, rating, split
#: indices and the transient pages of the export).
BYTES_PER_INTERACTION = 64
#: Bytes per user or item for the id maps (Python strings and dict entries).
BYTES_PER_ID = 160
#: Bytes the Python process with torch imported holds before any data.
BASE_BYTES = 700 * 2**20


@dataclass(frozen=True)
class GraphSize:
    """The counts a plan is made from (the store's, before export)."""

    num_users: int
    num_items: int
    num_interactions: int
    num_tags: int = 0
    num_entities: int = 0
    num_item_edges: int = 0
    text_dim: int = 384

    @property
    def num_nodes(self) -> int:
        return self.num_users + self.num_items + self.num_tags + self.num_entities

    def export_bytes(self) -> int:
        """What the exported tensors hold: interactions, item edges, text vectors, id maps."""
        return (
            BYTES_PER_INTERACTION * (self.num_interactions + self.num_item_edges)
            + 4 * self.num_items * self.text_dim
            + BYTES_PER_ID * (self.num_users + self.num_items + self.num_tags + self.num_entities)
        )


@dataclass(frozen=True)
class FitCost:
    """One fit of a model at a size (:meth:`~kgrec.gnn.models.model.EmbeddingModel.fit_cost`).

    Attributes:
        form: what will be fitted, in words (``"dense EASE"``, ``"full-graph LightGCN"``).
        peak_bytes: the fit's own peak memory (the exported graph not included).
        dense_flops: dense arithmetic of one fit (matrix products, factorisations).
        sparse_flops: sparse arithmetic (products with the interaction matrix), which
            runs several times slower per operation.
        per_epoch: the arithmetic is per epoch, for up to ``epochs`` epochs (gradient
            models; early stopping usually ends sooner).
        fix: what to change when this fit does not fit (another form or setting).
    """

    form: str
    peak_bytes: int
    dense_flops: float
    sparse_flops: float = 0.0
    per_epoch: bool = False
    fix: str = ""


@dataclass(frozen=True)
class JobPlan:
    """A job's predicted cost against the memory it may use.

    Attributes:
        model: the registered model name. size: the graph's counts.
        fit: one fit's cost. fits: fits the job runs (training, refit, the cold-user
            aggregator's second fit). epochs: the epoch limit of a gradient model.
        peak_bytes: the job's predicted peak (process, exported graph, the largest step).
        seconds: predicted wall time of the fits (every epoch, for a gradient model).
        budget_bytes: what the job may use; available_bytes: what the machine had.
    """

    model: str
    size: GraphSize
    fit: FitCost
    fits: int
    epochs: int
    peak_bytes: int
    seconds: float
    budget_bytes: int | None
    available_bytes: int | None

    @property
    def fits_memory(self) -> bool:
        return self.budget_bytes is None or self.peak_bytes <= self.budget_bytes

    def describe(self) -> str:
        """One line: the data, the form, predicted peak memory and time, the budget."""
        s = self.size
        when = (
            f"about {_duration(self.seconds)} for {self.fits} fit{'s' * (self.fits != 1)}"
            if not self.fit.per_epoch
            else f"about {_duration(self.seconds / max(self.epochs, 1))} an epoch "
            f"(up to {self.epochs} epochs, {self.fits} fits)"
        )
        budget = (
            "no memory limit known"
            if self.budget_bytes is None
            else f"budget {_gib(self.budget_bytes)}"
        )
        return (
            f"plan: {self.model} ({self.fit.form}) on {s.num_interactions:,} interactions, "
            f"{s.num_users:,} users, {s.num_items:,} items: peak about "
            f"{_gib(self.peak_bytes)} ({budget}), {when}"
        )

    def refusal(self) -> str:
        """Why the plan does not fit, and the fix (one line)."""
        fix = self.fit.fix or "train on a machine with more memory"
        return (
            f"{self.model} ({self.fit.form}) needs about {_gib(self.peak_bytes)} for "
            f"{self.size.num_items:,} items and {self.size.num_interactions:,} "
            f"interactions, more than the {_gib(self.budget_bytes or 0)} this job may use "
            f"({BUDGET_SHARE:.0%} of {_gib(self.available_bytes or 0)} available); "
            f"{fix}, or set KGREC_MEMORY_LIMIT on a machine with more memory"
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "form": self.fit.form,
            "size": asdict(self.size),
            "fits": self.fits,
            "epochs": self.epochs if self.fit.per_epoch else None,
            "peak_bytes": self.peak_bytes,
            "seconds": round(self.seconds, 1),
            "budget_bytes": self.budget_bytes,
            "available_bytes": self.available_bytes,
            "fits_memory": self.fits_memory,
        }


def plan_job(
    size: GraphSize,
    model: str,
    *,
    epochs: int,
    refit: bool,
    aggregator: bool,
    model_options: dict[str, Any] | None = None,
    memory_limit: int | None = None,
    available: int | None = None,
) -> JobPlan:
    """The plan of :func:`kgrec.gnn.training.job.run_job` at ``size``.

    Args:
        size: the graph's counts. model: a registered model name.
        epochs: the epoch limit (gradient models). refit: the job fits again on training +
            validation. aggregator: a history model's cold-user aggregator is fitted (one
            more fit of the model).
        model_options: constructor arguments of the model.
        memory_limit: bytes the job may use (``KGREC_MEMORY_LIMIT``); default
            :data:`BUDGET_SHARE` of ``available``.
        available: the memory available now (default: measured,
            :func:`kgrec.core.memory.available_memory_bytes`).

    Raises:
        UnknownModel: ``model`` is not registered.
    """
    from kgrec.core.memory import available_memory_bytes
    from kgrec.gnn.models.model import has_history_vectors
    from kgrec.gnn.models.registry import model_class

    cls = model_class(model)
    if available is None:
        available = available_memory_bytes()
    budget = memory_limit
    if budget is None and available is not None:
        budget = int(BUDGET_SHARE * available)
    fit = cls.fit_cost(size, dict(model_options or {}), budget_bytes=budget)
    fits = 1 + int(refit) + int(aggregator and has_history_vectors(cls) and cls.closed_form)
    dense_rate, sparse_rate = machine_speed()
    one = fit.dense_flops / dense_rate + fit.sparse_flops / sparse_rate
    seconds = one * (epochs if fit.per_epoch else 1) * fits
    peak = BASE_BYTES + size.export_bytes() + fit.peak_bytes
    return JobPlan(model, size, fit, fits, epochs, peak, seconds, budget, available)


@lru_cache(maxsize=1)
def machine_speed() -> tuple[float, float]:
    """This machine's dense and sparse arithmetic rates (operations a second), measured once
    a process with torch's own kernels (a float32 matrix product; a CSR product)."""
    import torch

    gen = torch.Generator().manual_seed(0)
    a = torch.randn(768, 768, generator=gen)
    a @ a  # warm-up
    t0 = time.perf_counter()
    for _ in range(3):
        a @ a
    dense = 3 * 2 * 768**3 / max(time.perf_counter() - t0, 1e-6)
    rows = torch.randint(0, 50_000, (400_000,), generator=gen)
    cols = torch.randint(0, 50_000, (400_000,), generator=gen)
    vals = torch.ones(400_000)
    with warnings.catch_warnings():  # torch's notes on sparse invariants and CSR's beta
        warnings.simplefilter("ignore", UserWarning)
        coo = torch.sparse_coo_tensor(
            torch.stack([rows, cols]), vals, (50_000, 50_000), check_invariants=False
        )
        csr = coo.coalesce().to_sparse_csr()
    x = torch.randn(50_000, 64, generator=gen)
    csr @ x
    t0 = time.perf_counter()
    for _ in range(3):
        csr @ x
    sparse = 3 * 2 * csr.values().numel() * 64 / max(time.perf_counter() - t0, 1e-6)
    return dense, sparse


def _gib(n: int) -> str:
    return f"{n / 2**30:.1f} GiB" if n >= 2**30 else f"{n / 2**20:.0f} MiB"


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{max(seconds, 1):.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
