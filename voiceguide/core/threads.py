"""Work on a thread pool, taken back in order with only a few results ahead.

numpy and LAME release the GIL, so threads use every core; taking results
in order keeps the output the same however many threads there are, and the
bound keeps memory to a few items' results, however many items there are.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def in_order(
    pool: ThreadPoolExecutor, ahead: int, fn: Callable[[T], R], items: Iterable[T]
) -> Iterator[tuple[T, Future[R]]]:
    """Each item with the future of ``fn(item)``, in order, with at most ``ahead`` + 1
    submitted and not yet taken."""
    pending: list[tuple[T, Future[R]]] = []
    for item in items:
        pending.append((item, pool.submit(fn, item)))
        if len(pending) > ahead:
            yield pending.pop(0)
    yield from pending


def ordered_map(
    pool: ThreadPoolExecutor, ahead: int, fn: Callable[[T], R], items: Iterable[T]
) -> Iterator[R]:
    """``map(fn, items)`` through ``in_order``."""
    return (future.result() for _, future in in_order(pool, ahead, fn, items))
