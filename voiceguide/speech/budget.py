"""A first-come, first-served budget shared by threads: how much work may run at once.

piper's network needs memory in proportion to the sentence it speaks: about
0.57 MB per phoneme id over the model's 150 MB (measured with the default
voice: 23 MB for 39 ids, 100 MB for 173, 189 MB for 337). Two long sentences
side by side put a 2-hour export at 570 MB; two short ones cost little and
are where running a sentence per core pays. So each run takes its size from
a shared budget: runs that fit go side by side, a larger one waits until it
fits, and one larger than the whole budget runs alone. (onnxruntime keeps
the largest run's memory for reuse, so the peak is set by the longest
sentence, or the longest pair spoken at once.)
"""

from __future__ import annotations

import contextlib
import itertools
import threading
from collections.abc import Iterator


class Budget:
    """Units of work that may run at once, handed out in the order they are asked for.

    The order matters: without it a stream of small runs could keep a large
    one waiting for ever, while the phrases after it pile up finished.
    """

    def __init__(self, units: int) -> None:
        if units <= 0:
            raise ValueError(f"a budget needs at least one unit, not {units}")
        self.units = units
        self.in_use = 0
        self._changed = threading.Condition()
        self._tickets = itertools.count()
        self._serving = 0  # the ticket whose turn it is
        self._asked = 0

    @property
    def waiting(self) -> int:
        """How many are waiting for their turn or their room."""
        with self._changed:
            return self._asked - self._serving

    @contextlib.contextmanager
    def taken(self, units: int) -> Iterator[None]:
        """Holds ``units`` (at most the whole budget) for the length of the block."""
        wanted = min(max(units, 0), self.units)
        with self._changed:
            ticket = next(self._tickets)
            self._asked += 1
            while ticket != self._serving or self.in_use + wanted > self.units:
                self._changed.wait()
            self.in_use += wanted
            self._serving += 1
            self._changed.notify_all()
        try:
            yield
        finally:
            with self._changed:
                self.in_use -= wanted
                self._changed.notify_all()
