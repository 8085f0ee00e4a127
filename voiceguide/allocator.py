"""One setting of the C allocator that keeps a long export's memory bounded.

glibc serves large blocks with mmap and returns them when freed, but each
time one is freed it raises its threshold to that block's size, after which
blocks that large come from the heap, where freed memory is seldom returned.
Rendering frees many blocks of a few MB (a phrase's filtered samples, its
oversampled envelope), so the heap grew with every one: a two-hour export
of 300 distinct phrases peaked at 295 MB with the moving threshold and at
232 MB with it fixed at 0.26 MB (275 MB at 4.2 MB). Returned memory is
faulted in again when reused, which cost the seed routine's warm export 1 s
of system time: only sessions too large to hold are switched (see clipstore).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

_M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD_BYTES = 4 << 20


def fix_mmap_threshold() -> None:
    """Large blocks always mapped, and returned when freed (glibc only; else nothing)."""
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
    mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)
