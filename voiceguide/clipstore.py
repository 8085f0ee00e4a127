"""The speech clips of one session, in memory up to a budget and on disk past it.

A script with hundreds of long phrases has more distinct speech than fits
comfortably in memory (300 phrases of eight seconds are 400 MB as float32
at 44.1 kHz). Mastering and rendering read each clip a few times, in
session order, so the clips past the budget wait in a private temporary
folder and are read back when asked for, into memory that is freed again.
"""

from __future__ import annotations

import shutil
import tempfile
import weakref
from collections.abc import Iterator, Mapping
from pathlib import Path

import numpy as np

from .allocator import fix_mmap_threshold

BUDGET_BYTES = 32 << 20


class ClipStore(Mapping[str, np.ndarray]):
    """Read-only float32 clips by text; ``put`` adds one."""

    def __init__(self, budget_bytes: int = BUDGET_BYTES) -> None:
        self._budget_bytes = budget_bytes
        self._held: dict[str, np.ndarray] = {}
        self._held_bytes = 0
        self._spilled: dict[str, Path] = {}
        self._folder: Path | None = None
        self._order: list[str] = []

    def room_for(self, size_bytes: int) -> bool:
        return self._held_bytes + size_bytes <= self._budget_bytes

    def put(self, text: str, clip: np.ndarray, companion_bytes: int = 0) -> bool:
        """Adds ``text``'s clip; True if it is held in memory, where the caller may
        also hold ``companion_bytes`` of its own for it (counted in the budget)."""
        if text in self:
            return text in self._held
        self._order.append(text)
        size = clip.nbytes + companion_bytes
        if self.room_for(size):
            view = clip.view()
            view.flags.writeable = False
            self._held[text] = view
            self._held_bytes += size
            return True
        path = self._spill_folder() / f"{len(self._spilled)}.f32"
        np.ascontiguousarray(clip, dtype=np.float32).tofile(path)
        self._spilled[text] = path
        return False

    def _spill_folder(self) -> Path:
        if self._folder is None:
            # A session this large frees many phrase-sized arrays while it is
            # mastered and rendered: have them returned to the system. Smaller
            # sessions keep glibc's default, which reuses freed memory without
            # the page faults (1 s of system time on the seed routine).
            fix_mmap_threshold()
            self._folder = Path(tempfile.mkdtemp(prefix="voiceguide-clips-"))
            # Removed with the store, or at exit at the latest.
            weakref.finalize(self, shutil.rmtree, self._folder, True)
        return self._folder

    def __getitem__(self, text: str) -> np.ndarray:
        found = self._held.get(text)
        if found is not None:
            return found
        clip = np.fromfile(self._spilled[text], dtype=np.float32)
        clip.flags.writeable = False
        return clip

    def __contains__(self, text: object) -> bool:
        return text in self._held or text in self._spilled

    def __iter__(self) -> Iterator[str]:
        return iter(self._order)

    def __len__(self) -> int:
        return len(self._order)
