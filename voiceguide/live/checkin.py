"""A check-in in `play`: a spoken question, and the rating as one key.

0 to 9 are those ratings and t is ten (a single key each: a person on the
floor presses one key, and nothing waits to see whether a second digit
follows). Enter, s or q skips. Nothing is asked unless standard input is a
terminal, and an unanswered question gives up after a while, so a session
never waits for someone who walked away.
"""

from __future__ import annotations

import threading
import time

import numpy as np

from ..core.phrases import Phrases
from .keys import Keys

KEYS_HELP = "How is your back? 0-9, t for 10; Enter skips"
ANSWER_WITHIN_S = 60.0
# Raw clips are at the engine's level; the prompt is heard, not mastered.
PROMPT_PEAK = 0.5


def question(language: str) -> str:
    return Phrases(language)["checkin_question"]


SKIPS = ("go", "quit", "skip", "eof")


def read_rating(reader: Keys, within_s: float = ANSWER_WITHIN_S) -> int | None:
    """The rating of the first key that gives one; None on a skip or no answer."""
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        for action in reader.read(0.1):
            if action.startswith("digit_"):
                return int(action.removeprefix("digit_"))
            if action in SKIPS:
                return None
    return None


class Feed:
    """What the device plays: a clip said once (then silence), or the session's pull."""

    def __init__(self) -> None:
        self.started = False
        self.pull = self._clip_pull
        self._lock = threading.Lock()
        self._clip = np.zeros(0, dtype=np.float32)

    def __call__(self, frames: int) -> np.ndarray:
        return self.pull(frames)

    def say(self, clip: np.ndarray | None) -> None:
        with self._lock:
            if clip is None or not len(clip):
                self._clip = np.zeros(0, dtype=np.float32)
            else:
                peak = float(np.max(np.abs(clip))) or 1.0
                self._clip = (clip * (PROMPT_PEAK / peak)).astype(np.float32)
            self.pull = self._clip_pull

    def _clip_pull(self, frames: int) -> np.ndarray:
        out = np.zeros(frames, dtype=np.float32)
        with self._lock:
            take = min(frames, len(self._clip))
            out[:take] = self._clip[:take]
            self._clip = self._clip[take:]
        return out
