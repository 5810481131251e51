"""Keeping freed memory in the process while CPU training runs (:func:`retained_heap`).

glibc's ``malloc`` serves each block above its mmap threshold (32 MiB at most) with a fresh
``mmap`` and unmaps it when it is freed. A CPU training step at millions of nodes allocates
and frees node-state tensors of tens of MB many times (gradients, optimizer temporaries,
the propagation's buffers), and each comes back as new pages that the kernel zero-fills on
first touch: at 5M interactions (300,000 nodes, d = 64) about 400,000 page faults and
1 s of system time a step. Inside :func:`retained_heap` such blocks come from the heap and
freed ones are reused instead.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import platform
import threading
from collections.abc import Iterator
from contextlib import contextmanager

# mallopt(3) parameters and glibc's defaults for them.
_M_TRIM_THRESHOLD, _M_MMAP_MAX = -1, -4
_DEFAULT_TRIM_THRESHOLD, _DEFAULT_MMAP_MAX = 128 * 1024, 65536
#: Freed heap memory above this stays with the process inside :func:`retained_heap`.
_RETAINED_TRIM_THRESHOLD = 2**31 - 1

_lock = threading.Lock()
_depth = 0


def _glibc() -> ctypes.CDLL | None:
    """The C library when it is glibc (the only one whose ``mallopt`` this module knows)."""
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return None
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        libc = ctypes.CDLL(name)
        libc.mallopt, libc.malloc_trim  # noqa: B018 - both must exist
    except (OSError, AttributeError):
        return None
    return libc


_LIBC = _glibc()


@contextmanager
def retained_heap() -> Iterator[bool]:
    """For the ``with`` block, large allocations come from the heap and freed memory stays
    in the process for reuse (``mallopt``: no mmap, no trimming); on leaving the outermost
    block glibc's defaults return and the unused heap goes back to the system
    (``malloc_trim``).

    A no-op (yields False) where the C library is not glibc. Nested and concurrent blocks
    share one setting, which holds until the last of them ends.

    Yields:
        True when the setting is in force.
    """
    global _depth
    if _LIBC is None:
        yield False
        return
    with _lock:
        if _depth == 0:
            _LIBC.mallopt(_M_MMAP_MAX, 0)
            _LIBC.mallopt(_M_TRIM_THRESHOLD, _RETAINED_TRIM_THRESHOLD)
        _depth += 1
    try:
        yield True
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                _LIBC.mallopt(_M_MMAP_MAX, _DEFAULT_MMAP_MAX)
                _LIBC.mallopt(_M_TRIM_THRESHOLD, _DEFAULT_TRIM_THRESHOLD)
                _LIBC.malloc_trim(0)


def available_memory_bytes() -> int | None:
    """Memory this machine can give a new allocation now: ``MemAvailable`` of
    ``/proc/meminfo`` (Linux), else the free physical pages (``os.sysconf``); None when
    neither is known."""
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        import os

        return int(os.sysconf("SC_AVPHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return None
