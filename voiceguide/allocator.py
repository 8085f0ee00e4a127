"""Two settings of the C allocator that keep a long export's memory bounded.

glibc serves large blocks with mmap and returns them when freed, but each
time one is freed it raises its threshold to that block's size, after which
blocks that large come from the heap, where freed memory is seldom returned.
Rendering frees many blocks of a few MB (a phrase's filtered samples, its
oversampled envelope), so the heap grew with every one: a two-hour export
of 300 distinct phrases peaked at 295 MB with the moving threshold and at
232 MB with it fixed at 0.26 MB (275 MB at 4.2 MB). Returned memory is
faulted in again when reused, which cost the seed routine's warm export 1 s
of system time: only sessions too large to hold are switched (see clipstore).

glibc also gives each thread that contends for the heap a heap of its own
(up to 8 per core), and memory freed in one is not reused by another. The
export's threads (synthesis, mastering, encoding) each kept a heap's worth:
with one heap the 300-phrase export peaked at 178 MB against 216 MB, for the
same processor time (41.4 s against 41.5 s).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

_M_MMAP_THRESHOLD = -3
_M_ARENA_MAX = -8
MMAP_THRESHOLD_BYTES = 4 << 20


def fix_mmap_threshold() -> None:
    """Large blocks always mapped, and returned when freed (glibc only; else nothing)."""
    _mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)


def one_heap() -> None:
    """Every thread allocates from the one heap (glibc only). Call it before
    starting threads: a heap once made stays."""
    _mallopt(_M_ARENA_MAX, 1)


def _mallopt(parameter: int, value: int) -> None:
    if not sys.platform.startswith("linux"):
        return
    name = ctypes.util.find_library("c")
    if name is None:
        return
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # musl and others: no mallopt
        return
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt(parameter, value)
