"""A session played on this machine's sound device with nobody at the keys.

For `serve`'s schedules and POST /api/play with the target "here". No keys,
no status line, no edits: the whole session is prepared first (with the
announcement), then its mastered PCM is fed to the device chunk by chunk.
Runs on a thread of its own; ``stop`` ends it at the next period.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import pipeline
from ..speech.clips import OUTPUT_RATE_HZ
from .device import Output


@dataclass(frozen=True)
class Played:
    title: str
    planned_s: float
    played_s: float
    finished: bool


class Unattended:
    def __init__(self, script: Path, options: pipeline.VoiceOptions, announce: bool) -> None:
        self.prepared = pipeline.prepare(script, options, announce=announce)
        self.planned_s = self.prepared.timeline.duration_s
        self.title = self.prepared.session.title
        self._stop = threading.Event()
        self._done = threading.Event()
        self._fed = 0

    def stop(self) -> None:
        self._stop.set()

    def play(self, device: str | None = None) -> Played:
        chunks = pipeline.pcm_chunks(self.prepared)
        pending = np.zeros(0, dtype=np.float32)

        def pull(frames: int) -> np.ndarray:
            nonlocal pending
            if self._stop.is_set():
                self._done.set()
                return np.zeros(frames, dtype=np.float32)
            while len(pending) < frames:
                chunk = next(chunks, None)
                if chunk is None:
                    break
                pending = np.concatenate([pending, chunk.astype(np.float32)])
            out, pending = pending[:frames], pending[frames:]
            self._fed += len(out)
            if len(out) < frames:
                self._done.set()
                out = np.concatenate([out, np.zeros(frames - len(out), dtype=np.float32)])
            return out

        output = Output(OUTPUT_RATE_HZ, device)
        try:
            output.start(pull)
            # What the device holds after the last sample has still to be heard.
            self._done.wait()
            if not self._stop.is_set():
                self._stop.wait(output.buffer_frames / OUTPUT_RATE_HZ)
        finally:
            output.close()
        played_s = self._fed / OUTPUT_RATE_HZ
        finished = played_s >= self.planned_s - 0.05
        return Played(self.title, self.planned_s, played_s, finished)
