"""``Timeline`` + clips → mastered PCM, in chunks.

Mastering works on the distinct clips, not on the session: sounds never
overlap, so the session's loudness follows from where each clip is placed,
and a true-peak limit on every clip is a limit on the whole session. A
four-hour session therefore costs what its few hundred phrases cost, and is
never held in memory.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np

from .cues import CUE_LEVEL_DB
from .loudness import (
    SILENCE_DB,
    HopEnergies,
    clip_k_rms_db,
    integrated_loudness,
    k_squared_cumsum,
    limit_true_peak,
    limiter_gain,
    true_peak_envelope,
)
from .model import Event, Timeline

TARGET_LUFS = -16.0
# Below the -1 dBTP promise: MP3 encoding moves peaks by a few tenths of a dB.
CEILING_DBTP = -2.0
SPEECH_LEVEL_DB = -20.0
_LOUDNESS_TOLERANCE_LU = 0.1
_PASSES = 8
# Steps this small are the last: the full limiter runs at the gain they reach.
_FINAL_STEP_DB = 1.0
_MIN_SLOPE = 0.1

Key = tuple[str, str]


@dataclass(frozen=True)
class Mastered:
    """Every distinct sound at its final level, keyed by (kind, phrase or cue name)."""

    clips: dict[Key, np.ndarray]
    loudness_lufs: float
    gain_db: float

    def clip_for(self, event: Event) -> np.ndarray:
        return self.clips[_key(event)]


def master(
    timeline: Timeline,
    speech: Mapping[str, np.ndarray],
    tones: Mapping[str, np.ndarray],
    *,
    target_lufs: float = TARGET_LUFS,
    ceiling_dbtp: float = CEILING_DBTP,
) -> Mastered:
    """Level each clip, then find the one gain that puts the session at ``target_lufs``.

    Without limiting, loudness moves dB for dB with the gain, so one
    measurement gives the first guess. The limiter then takes loudness back:
    where it holds a peak down, more gain adds nothing, so the loudness
    rises by about the share of energy the limiter leaves alone: a Newton
    step with that slope, then secant steps, find the gain. The search limits
    each clip in one cheap pass (from its envelope, computed once); the full
    limiter, which only trims hairs off that, runs once the steps are small,
    and what it gives is measured again, so the loudness reported is that of
    the clips returned. One distinct clip is worked on at a time: memory
    holds the clips, their envelopes and one clip's intermediates.
    """
    clips = _Clips(timeline, speech, tones, ceiling_dbtp)
    unlimited = clips.measure(0.0, "unlimited")
    if unlimited.loudness_lufs <= SILENCE_DB:
        return clips.mastered(0.0, unlimited.loudness_lufs)
    gain_db = target_lufs - unlimited.loudness_lufs
    mode: Mode = "search"
    last: tuple[float, float] | None = None  # (gain, loudness) of the last limited pass
    for _ in range(_PASSES):
        measured = clips.measure(gain_db, mode)
        loudness = measured.loudness_lufs
        miss_lu = target_lufs - loudness
        if abs(miss_lu) <= _LOUDNESS_TOLERANCE_LU and mode == "final":
            return clips.mastered(gain_db, loudness)
        slope = measured.slope
        if last is not None and last[0] != gain_db:
            # Two limited passes: their secant beats the estimate.
            slope = (loudness - last[1]) / (gain_db - last[0])
        last = (gain_db, loudness)
        step_db = miss_lu / min(1.0, max(_MIN_SLOPE, slope))
        gain_db += step_db
        if abs(step_db) <= _FINAL_STEP_DB:
            mode = "final"
    return clips.mastered(gain_db, clips.measure(gain_db, "final").loudness_lufs)


Mode = Literal["unlimited", "search", "final"]


@dataclass(frozen=True)
class _Measured:
    loudness_lufs: float
    # d(loudness)/d(gain) estimated as the share of energy the limiter left alone.
    slope: float


class _Clips:
    """The distinct clips of a timeline, where they are placed, and their levels."""

    def __init__(
        self,
        timeline: Timeline,
        speech: Mapping[str, np.ndarray],
        tones: Mapping[str, np.ndarray],
        ceiling_dbtp: float,
    ) -> None:
        self.timeline = timeline
        self.rate = timeline.sample_rate_hz
        self.ceiling_dbtp = ceiling_dbtp
        self.starts: dict[Key, list[int]] = {}
        for event in timeline.sounds():
            self.starts.setdefault(_key(event), []).append(event.start_sample)
        self.sources = {
            key: speech[key[1]] if key[0] == "speech" else tones[key[1]] for key in self.starts
        }
        # Every phrase first goes to a common K-weighted level, so a whispered
        # and a shouted phrase from an engine sound alike; cues sit below speech.
        self.levels = {
            key: 10 ** ((self._level_db(key) - clip_k_rms_db(source, self.rate)) / 20)
            for key, source in self.sources.items()
        }
        # float32 halves what a long session's envelopes hold; their
        # precision is far finer than the limiter's 0.05 dB tolerance.
        self.envelopes = {
            key: true_peak_envelope(source).astype(np.float32)
            for key, source in self.sources.items()
        }
        self.final: dict[Key, np.ndarray] = {}
        self.final_gain_db: float | None = None

    @staticmethod
    def _level_db(key: Key) -> float:
        return SPEECH_LEVEL_DB + (CUE_LEVEL_DB[key[1]] if key[0] == "tone" else 0.0)

    def clip(self, key: Key, gain_db: float, mode: Mode) -> tuple[np.ndarray, float]:
        """The clip at ``gain_db``, and the share of its energy the limiter left alone."""
        scale = self.levels[key] * 10 ** (gain_db / 20)
        source, envelope = self.sources[key], self.envelopes[key]
        if mode == "final":
            limited = limit_true_peak(
                source, self.rate, self.ceiling_dbtp, envelope=envelope, scale=scale
            )
            return limited.astype(np.float32), 1.0
        scaled = source.astype(np.float64) * scale
        gain = None
        if mode == "search":
            gain = limiter_gain(envelope, self.rate, self.ceiling_dbtp, scale)
        if gain is None:
            return scaled, 1.0
        limited = scaled * gain
        total = float(np.dot(limited, limited))
        untouched = scaled[gain == 1.0]
        return limited, float(np.dot(untouched, untouched)) / total if total > 0 else 1.0

    def measure(self, gain_db: float, mode: Mode) -> _Measured:
        """The session's integrated loudness with every clip at ``gain_db``.

        One distinct clip at a time, so only one clip's filtered energy is
        held however many clips the session has.
        """
        energies = HopEnergies(self.timeline.duration_samples, self.rate)
        final: dict[Key, np.ndarray] = {}
        weighted_share = weight = 0.0
        for key, starts in self.starts.items():
            clip, share = self.clip(key, gain_db, mode)
            cumsum = k_squared_cumsum(clip, self.rate)
            if mode == "final":
                final[key] = clip
            for start in starts:
                energies.add(start, cumsum)
            energy = float(cumsum[-1]) * len(starts)
            weighted_share += share * energy
            weight += energy
        if mode == "final":
            self.final, self.final_gain_db = final, gain_db
        slope = weighted_share / weight if weight > 0 else 1.0
        return _Measured(integrated_loudness(energies, self.rate), slope)

    def mastered(self, gain_db: float, loudness: float) -> Mastered:
        if self.final_gain_db != gain_db:
            self.measure(gain_db, "final")
        return Mastered(self.final, loudness, gain_db)


def _key(event: Event) -> Key:
    return (event.kind, (event.text if event.kind == "speech" else event.cue) or "")


def render_chunks(
    timeline: Timeline, mastered: Mastered, chunk_samples: int = 1 << 16
) -> Iterator[np.ndarray]:
    """The session as float32 chunks of ``chunk_samples`` (the last may be shorter)."""
    sounds = sorted(timeline.sounds(), key=lambda e: e.start_sample)
    for event in sounds:
        if len(mastered.clip_for(event)) != event.length_samples:
            raise AssertionError(f"clip length does not match the plan for {event}")
    index = 0
    total = timeline.duration_samples
    for chunk_start in range(0, total, chunk_samples):
        chunk = np.zeros(min(total, chunk_start + chunk_samples) - chunk_start, dtype=np.float32)
        index = mix_into(chunk, chunk_start, sounds, index, mastered)
        yield chunk


def mix_into(
    chunk: np.ndarray, chunk_start: int, sounds: Sequence[Event], index: int, mastered: Mastered
) -> int:
    """Writes into ``chunk`` (the span from ``chunk_start``) the parts of ``sounds``
    (sorted by start) that fall in it; ``index`` is the first sound that may, and the
    one for the next chunk is returned.
    """
    chunk_end = chunk_start + len(chunk)
    while index < len(sounds) and sounds[index].end_sample <= chunk_start:
        index += 1
    probe = index
    while probe < len(sounds) and sounds[probe].start_sample < chunk_end:
        event = sounds[probe]
        clip = mastered.clip_for(event)
        start = max(event.start_sample, chunk_start)
        end = min(event.end_sample, chunk_end)
        offset = start - event.start_sample
        chunk[start - chunk_start : end - chunk_start] = clip[offset : offset + end - start]
        probe += 1
    return index


def with_speech(mastered: Mastered, text: str, clip: np.ndarray, rate: int) -> Mastered:
    """``mastered`` and one more phrase, levelled and limited exactly as ``master``
    treats its phrases at the gain it found."""
    key: Key = ("speech", text)
    if key in mastered.clips:
        return mastered
    alone = Timeline("", rate, len(clip), (Event("speech", 0, len(clip), 0, text=text),), ())
    levelled, _ = _Clips(alone, {text: clip}, {}, CEILING_DBTP).clip(key, mastered.gain_db, "final")
    return replace(mastered, clips={**mastered.clips, key: levelled})


def render_all(timeline: Timeline, mastered: Mastered) -> np.ndarray:
    """The whole session in one array: for tests and short sessions only."""
    out = np.zeros(timeline.duration_samples, dtype=np.float32)
    for position, chunk in zip(
        range(0, timeline.duration_samples, 1 << 16), render_chunks(timeline, mastered), strict=True
    ):
        out[position : position + len(chunk)] = chunk
    return out
