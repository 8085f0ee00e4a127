"""Helpers for the live-playback tests: run `voiceguide play`, find what was heard.

What the sink recorded is compared with what the plan says by onsets: where
sound starts after at least ``MIN_GAP_S`` of silence. The same detector runs
on the recording and on the expected signal, so the internal pauses of a
phrase count the same on both sides.
"""

from __future__ import annotations

import contextlib
import fcntl
import itertools
import json
import os
import pty
import re
import shutil
import subprocess
import sys
import termios
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from voiceguide import pipeline
from voiceguide.core.mastering import with_speech
from voiceguide.core.model import Chapter, Event, Timeline
from voiceguide.core.render import render_all

RATE = 44100
SOUND_LEVEL = 1e-3  # -60 dBFS: the null sink and the player give exact zeros in silence
MIN_GAP_S = 0.1
TOLERANCE_S = 0.05

# A session of two exercises with short holds, for the live tests.
TWO_PARTS = """\
title: Two parts
steps:
  - exercise: Knee hug
    say: Hug your knee.
    hold: 5s
    release: Let go.
  - exercise: Cat stretch
    say: Round your back.
    hold: 5s
    release: Relax.
"""


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


BIN = 44  # envelope resolution: 1 ms
SEARCH_S = 0.15
QUIET_S = 0.3


def _envelope(samples: np.ndarray) -> np.ndarray:
    usable = len(samples) // BIN * BIN
    return np.abs(samples[:usable]).reshape(-1, BIN).max(axis=1)


def _best_lag(pattern: np.ndarray, window: np.ndarray) -> tuple[int, float]:
    """Where ``pattern`` fits best in ``window`` (in bins) and how well (0..1)."""
    pattern = pattern - pattern.mean()
    norm = np.linalg.norm(pattern)
    best, score = 0, -1.0
    for lag in range(len(window) - len(pattern) + 1):
        part = window[lag : lag + len(pattern)]
        part = part - part.mean()
        denominator = norm * np.linalg.norm(part)
        value = float(pattern @ part / denominator) if denominator > 0 else 0.0
        if value > score:
            best, score = lag, value
    return best, score


def assert_heard_as(
    recorded: np.ndarray,
    expected: np.ndarray,
    sounds: list[tuple[int, int]],
    rate: int = RATE,
) -> None:
    """Every planned sound (start, length in samples of ``expected``) heard within
    50 ms of its place, found by matching its envelope; nothing heard where the
    plan is silent; the end within 50 ms. Levels may differ, shapes may not."""
    if os.environ.get("VOICEGUIDE_KEEP_RECORDINGS"):
        folder = Path(os.environ["VOICEGUIDE_KEEP_RECORDINGS"])
        folder.mkdir(parents=True, exist_ok=True)
        name = os.environ.get("PYTEST_CURRENT_TEST", "test").split(" ")[0].split("::")[-1]
        np.save(folder / f"{name}-heard.npy", recorded)
        np.save(folder / f"{name}-expected.npy", expected)
        np.save(folder / f"{name}-sounds.npy", np.array(sounds))
    heard_onsets, planned_onsets = onsets(recorded, rate), onsets(expected, rate)
    assert len(heard_onsets) > 0, "nothing was heard"
    offset = int(heard_onsets[0]) - int(planned_onsets[0])
    heard_env, planned_env = _envelope(recorded), _envelope(expected)
    search = round(SEARCH_S * rate / BIN)
    worst_ms, worst_at = 0.0, 0.0
    for start, length in sounds:
        first = start // BIN
        pattern = planned_env[first : first + max(20, min(length, rate // 2) // BIN)]
        lo = (start + offset) // BIN - search
        window = heard_env[max(0, lo) : lo + len(pattern) + 2 * search]
        assert len(window) >= len(pattern), f"the recording ends before {start / rate:.3f} s"
        lag, score = _best_lag(pattern, window)
        error_ms = abs(lag + max(0, lo) - lo - search) * BIN * 1000 / rate
        assert score > 0.6, f"the sound at {start / rate:.3f} s was not heard (match {score:.2f})"
        if error_ms > worst_ms:
            worst_ms, worst_at = error_ms, start / rate
    assert worst_ms <= TOLERANCE_S * 1000, (
        f"the sound at {worst_at:.3f} s was {worst_ms:.1f} ms off"
    )
    # Silence where the plan has silence (an extra or shifted sound would show).
    loud = np.abs(expected) >= SOUND_LEVEL
    edges = np.flatnonzero(np.diff(loud.astype(np.int8))) + 1
    bounds = np.concatenate(([0], edges, [len(expected)]))
    margin = round(TOLERANCE_S * rate)
    for begin, end in itertools.pairwise(bounds):
        if loud[begin] or end - begin < QUIET_S * rate:
            continue
        part = recorded[begin + offset + margin : end + offset - margin]
        assert not np.any(np.abs(part) >= SOUND_LEVEL), (
            f"sound heard in the planned silence {begin / rate:.3f}-{end / rate:.3f} s"
        )
    end_error_s = abs((last_sound(recorded) - offset) - last_sound(expected)) / rate
    assert end_error_s <= TOLERANCE_S, f"the end was heard {end_error_s * 1000:.1f} ms off"


def sound_span(samples: np.ndarray) -> tuple[int, int]:
    """(first, last + 1) sample at or above SOUND_LEVEL."""
    loud = np.flatnonzero(np.abs(samples) >= SOUND_LEVEL)
    assert loud.size, "nothing was heard"
    return int(loud[0]), int(loud[-1]) + 1


QUIET_RUN_MS = 20
# A silence heard where the plan has sound is one where the plan is at least
# 20 dB over the silence threshold: an opening mastered on its own is a few dB
# softer or louder than the export, and the quiet ends of a phrase must not
# count as sound there.
PLANNED_SOUND = 10 * SOUND_LEVEL


def assert_no_silence_added(recorded: np.ndarray, expected: np.ndarray, rate: int = RATE) -> None:
    """Every stretch of silence heard (at least QUIET_RUN_MS) lies in a silence of
    ``expected``, aligned by the first sound: an underrun would put one in a phrase."""
    offset = sound_span(recorded)[0] - sound_span(expected)[0]
    first, last = sound_span(recorded)
    heard = _envelope(recorded[first:last]) >= SOUND_LEVEL
    planned = _envelope(expected[first - offset : last - offset])
    edges = np.flatnonzero(np.diff(heard.astype(np.int8))) + 1
    bounds = np.concatenate(([0], edges, [len(heard)]))
    margin = 5  # bins (ms): onsets and fades land within a few
    for begin, end in itertools.pairwise(bounds):
        if heard[begin] or end - begin < QUIET_RUN_MS:
            continue
        there = planned[begin + margin : end - margin]
        assert not np.any(there >= PLANNED_SOUND), (
            f"silence heard at {(first + begin * BIN) / rate:.3f} s for {end - begin} ms "
            "where the plan has sound"
        )


@contextlib.contextmanager
def busy_cores() -> Iterator[str]:
    """Every core kept busy by other processes (stress-ng, or a busy loop per core)."""
    cores = len(os.sched_getaffinity(0))
    if shutil.which("stress-ng"):
        command = ["stress-ng", "--cpu", str(cores), "--quiet"]
    else:
        command = [sys.executable, "-c", _BUSY, str(cores)]
    # Its own process group, to stop its workers with it, but the same session:
    # with autogroup scheduling, another session would get a share of its own
    # and leave the player more than a desktop would.
    process = subprocess.Popen(
        command, process_group=0, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        time.sleep(0.5)
        assert process.poll() is None, f"{command[0]} did not start"
        yield command[0]
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, 9)
        process.wait()


_BUSY = """\
import multiprocessing as m
import sys
def spin():
    while True:
        pass
if __name__ == "__main__":
    workers = [m.Process(target=spin) for _ in range(int(sys.argv[1]))]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
"""


def device_sounds(journal: Journal) -> list[tuple[int, int]]:
    """(start, length) of each sound where the device played it: pauses and
    waits move what follows them later."""
    gaps = journal.gaps()
    found = []
    for event in journal.timeline.sounds():
        shift = sum(frames for at, frames in gaps if at <= event.start_sample)
        found.append((event.start_sample + shift, event.length_samples))
    return found


def plan_sounds(timeline: Timeline) -> list[tuple[int, int]]:
    return [(e.start_sample, e.length_samples) for e in timeline.sounds()]


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
            side=e.get("side"),
        )
        for e in data["events"]
    )
    rate = int(data["sample_rate"])
    chapters = tuple(
        Chapter(
            c["title"], round(c["start"] * rate), round(c["end"] * rate), c["kind"], c.get("side")
        )
        for c in data["chapters"]
    )
    return Timeline(
        data["title"],
        rate,
        data["duration_samples"],
        events,
        chapters,
        notes=tuple(data["notes"]),
        description=data["description"],
        language=data["language"],
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


class PtyProcess:
    """A command with a pseudo-terminal for its keyboard and screen."""

    def __init__(self, command: list[str], env: dict[str, str]) -> None:
        master, slave = pty.openpty()
        self.master = master
        self.slave_attrs = termios.tcgetattr(slave)
        self.process = subprocess.Popen(
            command,
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
            # The terminal answers no query: play must not ask any
            # (tests/test_live_keys.py::test_reading_keys_asks_the_terminal_nothing).
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


class PtyPlay(PtyProcess):
    """`voiceguide play` with a pseudo-terminal for its keyboard and status line."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        super().__init__([sys.executable, "-m", "voiceguide", "play", *args], env)
