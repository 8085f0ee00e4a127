"""Helpers for the live-playback tests: run `voiceguide play`, find what was heard.

What the sink recorded is compared with what the plan says by onsets: where
sound starts after at least ``MIN_GAP_S`` of silence. The same detector runs
on the recording and on the expected signal, so the internal pauses of a
phrase count the same on both sides.
"""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import subprocess
import sys
import termios
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from voiceguide import pipeline
from voiceguide.model import Chapter, Event, Timeline
from voiceguide.render import render_all, with_speech

RATE = 44100
SOUND_LEVEL = 1e-3  # -60 dBFS: the null sink and the player give exact zeros in silence
MIN_GAP_S = 0.1
TOLERANCE_S = 0.05


def onsets(samples: np.ndarray, rate: int = RATE) -> np.ndarray:
    """Sample indexes where sound starts after at least MIN_GAP_S of silence."""
    loud = np.flatnonzero(np.abs(samples) >= SOUND_LEVEL)
    if loud.size == 0:
        return loud
    gaps = np.diff(loud) > MIN_GAP_S * rate
    return np.concatenate(([loud[0]], loud[1:][gaps]))


def last_sound(samples: np.ndarray) -> int:
    loud = np.flatnonzero(np.abs(samples) >= SOUND_LEVEL)
    return int(loud[-1]) + 1 if loud.size else 0


def assert_heard_as(recorded: np.ndarray, expected: np.ndarray, rate: int = RATE) -> None:
    """Same sounds in the same order, each onset and the end within 50 ms."""
    heard, planned = onsets(recorded, rate), onsets(expected, rate)
    assert len(heard) > 0, "nothing was heard"
    offset = int(heard[0]) - int(planned[0])
    assert len(heard) == len(planned), (
        f"{len(heard)} sounds heard, {len(planned)} expected: "
        f"heard {np.round((heard - offset) / rate, 3).tolist()}, "
        f"expected {np.round(planned / rate, 3).tolist()}"
    )
    error_s = np.abs((heard - offset) - planned) / rate
    print("heard", np.round((heard - offset) / rate, 3).tolist())
    print("expected", np.round(planned / rate, 3).tolist())
    worst = int(np.argmax(error_s))
    assert error_s[worst] <= TOLERANCE_S, (
        f"sound {worst} at {planned[worst] / rate:.3f} s was heard {error_s[worst] * 1000:.1f} ms off"
    )
    end_error_s = abs((last_sound(recorded) - offset) - last_sound(expected)) / rate
    assert end_error_s <= TOLERANCE_S, f"the end was heard {end_error_s * 1000:.1f} ms off"


# -- the journal `play --journal` writes ------------------------------------------------------
def timeline_from_json(data: dict[str, Any]) -> Timeline:
    events = tuple(
        Event(
            e["kind"],
            e["start_sample"],
            e["end_sample"],
            e["step"],
            text=e.get("text"),
            cue=e.get("cue"),
            line=e.get("line"),
        )
        for e in data["events"]
    )
    rate = int(data["sample_rate"])
    chapters = tuple(
        Chapter(c["title"], round(c["start"] * rate), round(c["end"] * rate))
        for c in data["chapters"]
    )
    return Timeline(
        data["title"], rate, data["duration_samples"], events, chapters, language=data["language"]
    )


@dataclass
class Journal:
    timeline: Timeline
    marks: list[dict[str, Any]]
    starved_frames: int
    finished: bool

    @classmethod
    def read(cls, path: Path) -> Journal:
        data = json.loads(path.read_text("utf-8"))
        return cls(
            timeline_from_json(data["timeline"]),
            data["marks"],
            data["starved_frames"],
            data["finished"],
        )

    def mark(self, what: str) -> dict[str, Any]:
        return next(m for m in self.marks if m["what"] == what)

    def gaps(self) -> list[tuple[int, int]]:
        """(timeline sample, device frames of silence) for each pause and wait."""
        found = []
        for start, end in (("pause", "resume"), ("wait", "go")):
            begins = [m for m in self.marks if m["what"] == start]
            ends = [m for m in self.marks if m["what"] == end]
            for b, e in zip(begins, ends, strict=False):
                found.append((b["timeline_sample"], e["device_frame"] - b["device_frame"]))
        return sorted(found)


def expected_signal(script: Path, journal: Journal, options: pipeline.VoiceOptions) -> np.ndarray:
    """What the device should have played: the journal's timeline with the same
    mastered clips as the export, and silence where it was paused or waiting."""
    prepared = pipeline.prepare(script, options)
    mastered = pipeline.mastered(prepared)
    source = pipeline.clip_source(prepared.session, options)
    for event in journal.timeline.sounds():
        if event.kind == "speech" and ("speech", event.text) not in mastered.clips:
            text = event.text or ""
            mastered = with_speech(mastered, text, source.clip(text), RATE)
    rendered = render_all(journal.timeline, mastered)
    parts, cursor = [], 0
    for at, frames in journal.gaps():
        parts += [rendered[cursor:at], np.zeros(frames, dtype=np.float32)]
        cursor = at
    parts.append(rendered[cursor:])
    return np.concatenate(parts)


# -- a player on a pseudo-terminal ---------------------------------------------------------------
def _controlling_terminal() -> None:
    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


class PtyPlay:
    """`voiceguide play` with a pseudo-terminal for its keyboard and status line."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        master, slave = pty.openpty()
        self.master = master
        self.slave_attrs = termios.tcgetattr(slave)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "voiceguide", "play", *args],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env={**env, "COLUMNS": "200"},
            preexec_fn=_controlling_terminal,
        )
        self.slave = slave
        self.output = ""
        self._seen = 0
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        while True:
            try:
                data = os.read(self.master, 4096)
            except OSError:
                return
            if not data:
                return
            self.output += data.decode("utf-8", "replace")

    def wait_for(self, pattern: str, timeout_s: float = 20.0) -> None:
        """Until the screen shows ``pattern`` (after what earlier waits matched)."""
        deadline = time.monotonic() + timeout_s
        regex = re.compile(pattern)
        while time.monotonic() < deadline:
            found = regex.search(self.output, self._seen)
            if found:
                self._seen = found.end()
                return
            if self.process.poll() is not None:
                break
            time.sleep(0.01)
        raise AssertionError(f"never showed {pattern!r}; output: {self.output[-500:]!r}")

    def press(self, key: str) -> float:
        os.write(self.master, key.encode())
        return time.monotonic()

    def finish(self, timeout_s: float = 60.0) -> int:
        code = self.process.wait(timeout=timeout_s)
        time.sleep(0.05)
        return code

    def terminal_attrs(self) -> list[Any]:
        return termios.tcgetattr(self.slave)

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        os.close(self.slave)
        os.close(self.master)
