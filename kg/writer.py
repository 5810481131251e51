"""Batched, idempotent writes of canonical frames into a store.

Every statement is an ``UNWIND $rows ... MERGE`` that writes a property only where it
differs, so writing the same data twice changes nothing, and a write interrupted at any
point is completed by simply running it again.
"""

from __future__ import annotations

import logging
import math
import re
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from kgrec.core.progress import Progress
from kgrec.kg.catalogue import READS, WRITES, CypherQuery, statement
from kgrec.kg.store import GraphStore, Row, WriteCounters

T = TypeVar("T")
log = logging.getLogger(__name__)

__all__ = ["READS", "WRITES", "BatchWriter", "StepReport", "render", "run_statement"]

_VECTOR_CALL = re.compile(r"kgrec_vector\(([^()]*)\)")

DEFAULT_BATCH_SIZE = 5000
VECTOR_BATCH_SIZE = 500


def render(query: CypherQuery, store: GraphStore) -> str:
    """The query's text for ``store``'s backend (rewrites ``kgrec_vector(expr)``)."""
    return _VECTOR_CALL.sub(lambda m: store.dialect.vector(m.group(1)), query.text)


def run_statement(store: GraphStore, name: str, params: dict[str, Any] | None = None) -> list[Row]:
    """Run the store statement ``name`` (:data:`READS` or :data:`WRITES`) in its own mode.

    Raises:
        QueryNotFound: no such statement.
        CypherError: the store rejected it.
    """
    query = statement(name)
    return store.execute(render(query, store), params, query.mode)


@dataclass
class StepReport:
    """What writing one frame did."""

    rows: int = 0
    created: int = 0
    updated: int = 0
    seconds: float = 0.0
    counters: WriteCounters = field(default_factory=WriteCounters)


def clean_value(value: Any) -> Any:
    """A parameter value the drivers accept: numpy scalars unwrapped, NaN -> None (a missing
    value); infinities are refused."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        if math.isnan(value):
            return None
        raise ValueError(f"cannot store the non-finite number {value} in the graph")
    if isinstance(value, np.ndarray):
        return [float(x) for x in value]
    return value


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows of a frame as parameter maps."""
    cols = list(frame.columns)
    return [
        {c: clean_value(v) for c, v in zip(cols, row, strict=True)}
        for row in frame.itertuples(index=False, name=None)
    ]


def batches(rows: list[T], size: int) -> Iterator[list[T]]:
    """``rows`` in consecutive slices of at most ``size``."""
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


class BatchWriter:
    """Runs one named write statement over many rows, in batches, summing what changed.

    Args:
        store: the target store.
        progress: called with (statement name, rows written so far, total rows).
    """

    def __init__(
        self,
        store: GraphStore,
        progress: Progress | None = None,
    ) -> None:
        self.store = store
        self.progress = progress

    def write(
        self,
        name: str,
        rows: list[dict[str, Any]],
        batch_size: int = DEFAULT_BATCH_SIZE,
        params: dict[str, Any] | None = None,
    ) -> StepReport:
        """Write ``rows`` with the statement ``name`` (plus fixed ``params``); returns
        created/updated counts."""
        query = WRITES.get(name)  # a read statement is refused there
        text = render(query, self.store)
        report = StepReport(rows=len(rows))
        start = time.perf_counter()
        done = 0
        if self.progress and rows:
            self.progress(name, 0, len(rows))
        for batch in batches(rows, batch_size):
            result, counters = self.store.write(text, {**(params or {}), "rows": batch})
            report.counters += counters
            if result and "updated" in result[0]:
                report.updated += int(result[0]["updated"])
            done += len(batch)
            if self.progress:
                self.progress(name, done, len(rows))
        created = report.counters.nodes_created + report.counters.relationships_created
        report.created = created
        report.updated = max(report.updated - created, 0)
        report.seconds = time.perf_counter() - start
        return report

    def write_frames(self, steps: Iterable[tuple[str, pd.DataFrame]]) -> dict[str, StepReport]:
        """Write several (statement, frame) pairs in order."""
        return {name: self.write(name, records(frame)) for name, frame in steps}
