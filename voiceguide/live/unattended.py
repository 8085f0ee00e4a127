"""A session played on this machine's sound device with nobody at the keys.

For `serve`'s schedules and POST /api/play with the target "here". No keys,
no status line, no edits: the whole session is prepared first (with the
announcement), then its mastered PCM is fed to the device chunk by chunk.
Runs on a thread of its own; ``stop`` ends it at the next period.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import pipeline
from ..errors import AudioDeviceError
from ..speech.clips import OUTPUT_RATE_HZ
from .device import Output

# The device has asked for nothing this long: it has gone away.
STALL_S = 3.0


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
        self._done = threading.Event()  # the last sample has been handed over
        self._drained = threading.Event()  # and the device has played it
        self._fed = 0

    def stop(self) -> None:
        self._stop.set()

    def play(self, device: str | None = None) -> Played:
        chunks = pipeline.pcm_chunks(self.prepared)
        pending = np.zeros(0, dtype=np.float32)
        output = Output(OUTPUT_RATE_HZ, device)
        # The sound server holds up to a period, and the device asks a period
        # ahead: the last sample is heard once two more have been asked for.
        tail_frames = 0

        last_pull = time.monotonic()

        def pull(frames: int) -> np.ndarray:
            nonlocal pending, tail_frames, last_pull
            last_pull = time.monotonic()
            if self._stop.is_set() or self._done.is_set():
                self._done.set()
                tail_frames += frames
                if self._stop.is_set() or tail_frames >= 2 * output.buffer_frames:
                    self._drained.set()
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

        try:
            output.start(pull)
            while not self._drained.wait(0.25):
                if time.monotonic() - last_pull > STALL_S:
                    raise AudioDeviceError("the sound device stopped taking audio")
        finally:
            output.close()
        played_s = self._fed / OUTPUT_RATE_HZ
        finished = played_s >= self.planned_s - 0.05
        return Played(self.title, self.planned_s, played_s, finished)
