"""The PulseAudio stream `play` uses (voiceguide/live/pulse.py), on a private server.

What it promises, in samples: a cut leaves almost nothing of ours in the server,
the frames it dropped are exactly those never heard, and what is pulled next is
heard at once. The signal is a slow ramp, so that the position of any recorded
sample in the signal is its value.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator

import numpy as np
import pytest
from pulse_server import RATE_HZ as RECORD_HZ
from pulse_server import PulseServer, missing, pulse_server

from voiceguide.live.pulse import PulseOutput

pytestmark = pytest.mark.pulseaudio

RATE = 44100
# From 0.1 to 0.5 over 8 s: no sample of the signal is silent.
RAMP_S = 8.0
# What the null sink had taken before a cut plays on (about 10 ms here).
SINK_MS = 20


@pytest.fixture(scope="module")
def pulse() -> Iterator[PulseServer]:
    reason = missing()
    if reason is not None:
        pytest.skip(reason)
    with pulse_server() as server:
        yield server


class Ramp:
    """The signal, pulled as a player would be: it moves only while playing,
    and a drop moves it back."""

    def __init__(self) -> None:
        self.position = 0
        self.playing = True
        self.lock = threading.Lock()
        self.moved: list[bool] = []

    def pull(self, frames: int) -> np.ndarray:
        with self.lock:
            self.moved.extend([self.playing] * frames)
            if not self.playing:
                return np.zeros(frames, np.float32)
            index = np.arange(self.position, self.position + frames)
            self.position += frames
            return (0.1 + 0.4 * index / (RAMP_S * RATE)).astype(np.float32)

    def dropped(self, frames: int) -> None:
        with self.lock:
            kept = self.moved[: len(self.moved) - frames]
            self.position -= sum(self.moved[len(kept) :])
            self.moved = kept


def ramp_position(value: float) -> float:
    return (value - 0.1) / 0.4 * RAMP_S * RATE


def test_a_cut_drops_only_what_was_never_heard(
    pulse: PulseServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in pulse.env.items():
        monkeypatch.setitem(os.environ, name, value)
    recording = pulse.record()
    recording.wait_until_flowing()
    output = PulseOutput.open(RATE)
    assert output is not None
    ramp = Ramp()
    output.on_dropped(ramp.dropped)
    output.start(ramp.pull)
    try:
        recording.wait_until_heard(level=0.05)
        time.sleep(1.5)
        with output.cut():
            # The server holds of ours only what its sink had already taken.
            assert output.unheard_frames() <= SINK_MS * RATE // 1000
            paused_at = ramp.position
            ramp.playing = False
        time.sleep(1.0)
        with output.cut():
            assert ramp.position == paused_at
            ramp.playing = True
        time.sleep(1.5)
    finally:
        output.close()
    samples = recording.stop()
    loud = np.abs(samples) > 0.05
    first = int(np.argmax(loud))
    gap_start = first + int(np.argmin(loud[first:]))
    gap_end = gap_start + int(np.argmax(loud[gap_start:]))
    assert (gap_end - gap_start) / RECORD_HZ > 0.9
    # Position in the signal of the last sample before the pause and the first
    # after it, from the values (a few samples in, clear of the edges).
    before = ramp_position(float(samples[gap_start - 3])) + 3 * RATE / RECORD_HZ
    after = ramp_position(float(samples[gap_end + 3])) - 3 * RATE / RECORD_HZ
    tolerance = SINK_MS * RATE / 1000
    # The sound stopped where the signal was when the cut was asked...
    assert abs(before - paused_at) <= tolerance
    # ... and went on from there: nothing skipped, nothing heard twice.
    assert abs(after - before) <= tolerance
