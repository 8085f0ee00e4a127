"""Spoken commands for `play --listen`: pocketsphinx spotting a few key phrases.

The microphone is read at 16 kHz (device.Input) and decoded on a thread of its
own in keyphrase mode: each phrase has its own detection threshold, and
anything else said is not a command. pocketsphinx's wheel ships the English
model, so nothing is downloaded.

It must not hear the session itself: a phrase is taken only when nothing of
the session's own sound (speech, cues, the acknowledgement) was heard in the
time the phrase was said, plus an echo tail (``Gate``, from the player's own
record of what it sent to the device and when). So a command said over the
voice is not heard; one said in a hold, a rest or while paused is. The
ambience bed is not gated: it is noise to the recogniser.
"""

from __future__ import annotations

import contextlib
import os
import queue
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import AudioDeviceError
from .device import Input

RATE_HZ = 16000
# The longest a command takes to say, and the room's echo after the voice
# stops (with the capture's own latency): the gate looks this far back.
PHRASE_S = 1.2
ECHO_TAIL_S = 0.3

# Phrase -> (action, detection threshold). Lower thresholds find more and
# mistake more: chosen with bench/listen_words.py (three espeak-ng voices,
# noise under them, unrelated instructions too): 21 of 30 commands found and
# 3 false detections in 45 clips (docs/benchmarks.md).
PHRASES: dict[str, tuple[str, float]] = {
    "pause": ("pause", 1e-15),
    "continue": ("resume", 1e-20),
    "resume": ("resume", 1e-20),
    "more time": ("extend", 1e-30),
    "next": ("next", 1e-25),
    "go back": ("back", 1e-20),
    "stop": ("quit", 1e-10),
    "how long": ("recap", 1e-10),
    "where am i": ("recap", 1e-20),
    "repeat": ("repeat", 1e-10),
}

# About -70 dBFS: under any real microphone's own noise.
DITHER = 8

Gate = Callable[[float], bool]


@dataclass(frozen=True)
class Heard:
    phrase: str
    action: str
    at_s: float  # monotonic time of the end of the audio it was found in
    taken: bool = True  # False: the session itself was sounding (the gate)


def unavailable() -> str | None:
    """Why commands cannot be heard here (no recogniser installed), or None."""
    try:
        import pocketsphinx  # noqa: F401
    except ImportError:
        return "the recogniser is not installed (pip install 'voiceguide[listen]')"
    return None


def _decoder() -> Any:
    import pocketsphinx

    base = Path(pocketsphinx.get_model_path())
    hmm = base / "en-us" / "en-us"
    dictionary = base / "en-us" / "cmudict-en-us.dict"
    lines = "".join(f"{phrase} /{threshold:g}/\n" for phrase, (_, threshold) in PHRASES.items())
    with tempfile.NamedTemporaryFile("w", suffix=".kws", delete=False) as keys:
        keys.write(lines)
    try:
        return pocketsphinx.Decoder(
            hmm=str(hmm), dict=str(dictionary), kws=keys.name, samprate=RATE_HZ, loglevel="FATAL"
        )
    finally:
        os.unlink(keys.name)


def _dithered(chunk: bytes, noise: np.random.Generator) -> bytes:
    """A digitally silent input (a muted microphone, a sink's monitor) throws the
    recogniser's running normalisation off; a microphone's own hiss does not."""
    samples = np.frombuffer(chunk, dtype="<i2").astype(np.int32)
    samples += noise.integers(-DITHER, DITHER + 1, len(samples))
    return np.clip(samples, -32768, 32767).astype("<i2").tobytes()


class Listener:
    """Heard commands, taken only when ``quiet(since)`` says the session made no
    sound from ``since`` on."""

    def __init__(self, quiet: Gate, mic: str | None = None) -> None:
        self.decoder = _decoder()
        self.quiet = quiet
        self.heard: queue.SimpleQueue[Heard] = queue.SimpleQueue()
        self._chunks: queue.SimpleQueue[tuple[float, bytes] | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._decode, name="listen", daemon=True)
        self._thread.start()
        try:
            self.input = Input(RATE_HZ, self._take, mic)
        except AudioDeviceError:
            self._chunks.put(None)
            raise

    def _take(self, chunk: bytes) -> None:
        self._chunks.put((time.monotonic(), chunk))

    def _decode(self) -> None:
        decoder = self.decoder
        decoder.start_utt()
        noise = np.random.default_rng(0)
        while (item := self._chunks.get()) is not None:
            at_s, chunk = item
            decoder.process_raw(_dithered(chunk, noise), False, False)
            found = decoder.hyp()
            if found is None:
                continue
            # One detection per utterance: start afresh after each.
            decoder.end_utt()
            decoder.start_utt()
            phrase = found.hypstr.strip().split("  ")[-1].strip()
            if phrase not in PHRASES:
                continue
            taken = self.quiet(at_s - PHRASE_S - ECHO_TAIL_S)
            self.heard.put(Heard(phrase, PHRASES[phrase][0], at_s, taken))
        with contextlib.suppress(Exception):
            decoder.end_utt()

    def read(self) -> list[Heard]:
        found = []
        while True:
            try:
                found.append(self.heard.get_nowait())
            except queue.Empty:
                return found

    def close(self) -> None:
        self.input.close()
        self._chunks.put(None)
        self._thread.join(timeout=2)
