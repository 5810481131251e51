"""Progress of long batched jobs: one callback type, one set of terminal bars.

Library code reports progress by calling a :data:`Progress` callback with ``(step, done,
total)``, ``done`` and ``total`` counted in rows of that step, and announces a step with
``done = 0`` before its first batch; it never draws anything itself. :func:`progress_bars`
is the callback a command line passes in: one bar per step with a rate in rows per second.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

Progress = Callable[[str, int, int], None]


def progress_bars(unit: str = "row") -> Progress:
    """A :data:`Progress` callback drawing one tqdm bar per step on stderr.

    Args:
        unit: what ``done`` and ``total`` count (the bar shows ``{unit}/s``).
    """
    import time

    from tqdm.auto import tqdm

    bars: dict[str, Any] = {}
    last_call = [time.time()]  # tqdm's clock

    def update(step: str, done: int, total: int) -> None:
        bar = bars.get(step)
        if bar is None:
            bar = bars[step] = tqdm(
                total=total, desc=step, unit=unit, unit_scale=True, file=sys.stderr
            )
            # A step announced with done = 0 starts now. One whose first call comes after
            # its first batch is dated from the previous call (the end of the step before),
            # so its rate counts that batch too.
            bar.start_t = bar.last_print_t = time.time() if done == 0 else last_call[0]
        bar.update(done - bar.n)
        if done >= total:
            bar.close()
        last_call[0] = time.time()

    return update
