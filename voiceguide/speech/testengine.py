"""A deterministic stand-in engine for tests: needs nothing, sounds like nothing.

Its output is shaped like real TTS output (silence, voice, silence) with
lengths known exactly, so the trimming and placement code can be checked to
the sample.
"""

from __future__ import annotations

import hashlib

import numpy as np

from voiceguide.speech.base import EngineInfo, VoiceInfo

SAMPLE_RATE_HZ = 22050
LEAD_SAMPLES = round(0.050 * SAMPLE_RATE_HZ)
TAIL_SAMPLES = round(0.080 * SAMPLE_RATE_HZ)
FADE_SAMPLES = round(0.005 * SAMPLE_RATE_HZ)
PEAK = 0.5
# The fades start from -30 dB, not from zero, so the first and last voiced
# samples sit well above the clip trimming threshold (-50 dBFS) and the trimmed
# length is exact instead of depending on where a fade crosses the threshold.
FADE_FLOOR = 10 ** (-30 / 20)


def voiced_samples(text: str) -> int:
    """Length of the voiced part for ``text`` at SAMPLE_RATE_HZ."""
    return round(0.06 * len(text) * SAMPLE_RATE_HZ)


def _frequencies(text: str) -> tuple[float, float]:
    # hashlib, not hash(): hash() of a str changes between processes.
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    low = 110.0 + int.from_bytes(digest[:2], "big") % 160  # a speaking fundamental
    high = low * (1.5 + (digest[2] % 100) / 100)
    return low, high


def voiced_signal(text: str) -> np.ndarray:
    count = voiced_samples(text)
    low, high = _frequencies(text)
    # Mirrored about its middle so that both ends start at a carrier peak (the
    # cosines are 1 at k = 0); otherwise an end could land on a zero crossing.
    k = np.minimum(np.arange(count), count - 1 - np.arange(count)) / SAMPLE_RATE_HZ
    carrier = 0.6 * np.cos(2 * np.pi * low * k) + 0.4 * np.cos(2 * np.pi * high * k)
    envelope = np.ones(count)
    fade = min(FADE_SAMPLES, count // 2)
    ramp = FADE_FLOOR + (1 - FADE_FLOOR) * 0.5 * (1 - np.cos(np.pi * np.arange(fade) / fade))
    envelope[:fade] = ramp
    envelope[count - fade :] = ramp[::-1]
    signal = carrier * envelope
    peak = float(np.max(np.abs(signal))) if count else 0.0
    return (signal * (PEAK / peak) if peak > 0 else signal).astype(np.float32)


class TestEngine:
    """``round(0.06 * len(text) * 22050)`` voiced samples between fixed silences."""

    __test__ = False  # not a pytest test class, despite its name

    id = "test"
    voice_id = "test"

    def synthesize(self, text: str) -> tuple[np.ndarray, int]:
        pcm = np.concatenate(
            [
                np.zeros(LEAD_SAMPLES, dtype=np.float32),
                voiced_signal(text),
                np.zeros(TAIL_SAMPLES, dtype=np.float32),
            ]
        )
        return pcm, SAMPLE_RATE_HZ


def open_engine(*, language: str, voice_name: str | None, rate_wpm: int) -> TestEngine:
    # Voice, language and rate are accepted and ignored: the output must not
    # depend on them, so tests can change them freely.
    return TestEngine()


def availability() -> str | None:
    return None


def engine_info() -> EngineInfo:
    return EngineInfo(
        name="test", available=True, reason=None, voices=[VoiceInfo("test", "test", [])]
    )
