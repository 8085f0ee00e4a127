"""Spoken commands and unrelated speech for the recogniser's benchmark and tests:
two voices (piper's installed voice and espeak-ng), room-like noise under them.

Everything is 16 kHz float32 mono, deterministic for a given seed.
"""

from __future__ import annotations

import functools
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import soundfile
from scipy.signal import lfilter, resample_poly

RATE_HZ = 16000


@functools.cache
def _piper(rate_wpm: int):  # type: ignore[no-untyped-def]
    from voiceguide.speech import piper_engine

    return piper_engine.open_engine(language="en", voice_name=None, rate_wpm=rate_wpm)


def _to_16k(samples: np.ndarray, rate_hz: int) -> np.ndarray:
    if samples.ndim > 1:
        samples = samples.mean(axis=1)
    return resample_poly(samples, RATE_HZ, rate_hz).astype(np.float32)


def piper_said(text: str, rate_wpm: int = 170) -> np.ndarray:
    samples, rate_hz = _piper(rate_wpm).synthesize(text)
    return _to_16k(samples, rate_hz)


def espeak_said(
    text: str, voice: str = "en-us+m7", speed_wpm: int = 160, pitch: int = 50
) -> np.ndarray:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "said.wav"
        subprocess.run(
            [
                "espeak-ng",
                "-v",
                voice,
                "-s",
                str(speed_wpm),
                "-p",
                str(pitch),
                "-w",
                str(path),
                text,
            ],
            check=True,
        )
        samples, rate_hz = soundfile.read(str(path), dtype="float32")
    return _to_16k(samples, rate_hz)


def said(voice: str, text: str, rng: np.random.Generator) -> np.ndarray:
    """``text`` said by ``voice`` ("piper" or "espeak"), rate and pitch varied a little."""
    if voice == "piper":
        speech = piper_said(text, int(rng.integers(150, 196)))
    else:
        speech = espeak_said(
            text, "en-us+m7", int(rng.integers(140, 186)), int(rng.integers(35, 66))
        )
    return trimmed(speech)


def trimmed(speech: np.ndarray) -> np.ndarray:
    """Without the synthesiser's leading and trailing silence, so that the end of
    the array is the end of what was said."""
    loud = np.flatnonzero(np.abs(speech) > 0.02 * np.max(np.abs(speech)))
    if len(loud) == 0:
        return speech
    return speech[loud[0] : loud[-1] + 1]


def active_rms(speech: np.ndarray) -> float:
    """The level of the speech where it is sounding (20 ms frames above -30 dB of the loudest)."""
    frames = speech[: len(speech) // 320 * 320].reshape(-1, 320)
    rms = np.sqrt(np.mean(frames**2, axis=1) + 1e-12)
    return float(np.sqrt(np.mean(rms[rms > rms.max() * 0.03] ** 2)))


def pink(n: int, rng: np.random.Generator) -> np.ndarray:
    # Paul Kellet's economical pink filter on white noise.
    b = [0.049922035, -0.095993537, 0.050612699, -0.004408786]
    a = [1, -2.494956002, 2.017265875, -0.522189400]
    return lfilter(b, a, rng.normal(0, 1, n + 2000))[2000:]


def brown(n: int, rng: np.random.Generator) -> np.ndarray:
    return lfilter([1.0], [1, -0.995], rng.normal(0, 1, n + 4000))[4000:]


def babble(n: int, rng: np.random.Generator, voices: list[np.ndarray]) -> np.ndarray:
    """Several voices at once, reversed so that no word can be made out, over a
    ventilation hum: a room's background rather than speech to it."""
    bed = brown(n, rng) / 10 + 0.3 * np.sin(2 * np.pi * 100 * np.arange(n) / RATE_HZ)
    bed /= np.std(bed)
    talk = np.zeros(n)
    for _ in range(4):
        at = 0
        while at < n:
            voice = voices[int(rng.integers(len(voices)))][::-1]
            piece = voice[: n - at]
            talk[at : at + len(piece)] += piece / (np.std(piece) + 1e-9)
            at += len(piece) + int(rng.integers(0, RATE_HZ // 4))
    return bed + talk / np.std(talk)


NOISES = ("pink", "brown", "babble")


def noise(kind: str, n: int, rng: np.random.Generator, voices: list[np.ndarray]) -> np.ndarray:
    made = (
        {"pink": pink, "brown": brown}[kind](n, rng) if kind != "babble" else babble(n, rng, voices)
    )
    return (made / (np.std(made) + 1e-12)).astype(np.float32)


def pcm(signal: np.ndarray) -> bytes:
    return (np.clip(signal, -1, 1) * 32767).astype("<i2").tobytes()
