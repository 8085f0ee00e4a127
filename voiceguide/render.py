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

import numpy as np

from .cues import CUE_LEVEL_DB
from .loudness import (
    SILENCE_DB,
    HopEnergies,
    clip_k_rms_db,
    integrated_loudness,
    limit_true_peak,
    true_peak_dbtp,
)
from .model import Event, Timeline

TARGET_LUFS = -16.0
# Below the -1 dBTP promise: MP3 encoding moves peaks by a few tenths of a dB.
CEILING_DBTP = -2.0
SPEECH_LEVEL_DB = -20.0
_LOUDNESS_TOLERANCE_LU = 0.1
_PASSES = 5


@dataclass(frozen=True)
class Mastered:
    """Every distinct sound at its final level, keyed by (kind, phrase or cue name)."""

    clips: dict[tuple[str, str], np.ndarray]
    loudness_lufs: float
    gain_db: float

    def clip_for(self, event: Event) -> np.ndarray:
        return self.clips[_key(event)]


def _levelled(clip: np.ndarray, rate: int, level_db: float) -> np.ndarray:
    """One clip at a common K-weighted level, so every phrase sounds equally loud."""
    gain_db = level_db - clip_k_rms_db(clip, rate)
    return (clip.astype(np.float64) * 10 ** (gain_db / 20)).astype(np.float32)


def master(
    timeline: Timeline,
    speech: Mapping[str, np.ndarray],
    tones: Mapping[str, np.ndarray],
    *,
    target_lufs: float = TARGET_LUFS,
    ceiling_dbtp: float = CEILING_DBTP,
) -> Mastered:
    """Level each clip, then find the one gain that puts the session at ``target_lufs``."""
    rate = timeline.sample_rate_hz
    sounds = timeline.sounds()
    levelled: dict[tuple[str, str], np.ndarray] = {}
    for event in sounds:
        key = _key(event)
        if key not in levelled:
            if event.kind == "speech":
                levelled[key] = _levelled(speech[key[1]], rate, SPEECH_LEVEL_DB)
            else:
                level = SPEECH_LEVEL_DB + CUE_LEVEL_DB[key[1]]
                levelled[key] = _levelled(tones[key[1]], rate, level)
    peaks_db = {key: true_peak_dbtp(clip, rate) for key, clip in levelled.items()}
    # Without limiting, loudness moves dB for dB with the gain, so one
    # measurement gives the first guess; the limiter then takes a little
    # loudness back, and a secant search on the gain makes up for it.
    unlimited = _loudness(timeline, levelled)
    if unlimited <= SILENCE_DB:
        return _finish(levelled, 0.0, ceiling_dbtp, peaks_db, rate, unlimited)
    gains = [0.0]
    louds = [unlimited]
    gain_db = target_lufs - unlimited
    result = Mastered({}, unlimited, 0.0)
    for _ in range(_PASSES):
        result = _finish(levelled, gain_db, ceiling_dbtp, peaks_db, rate, 0.0)
        loudness = _loudness(timeline, result.clips)
        result = replace(result, loudness_lufs=loudness)
        if abs(target_lufs - loudness) <= _LOUDNESS_TOLERANCE_LU:
            break
        slope = (loudness - louds[-1]) / (gain_db - gains[-1]) if gain_db != gains[-1] else 1.0
        gains.append(gain_db)
        louds.append(loudness)
        gain_db += (target_lufs - loudness) / min(1.0, max(0.2, slope))
    return result


def _key(event: Event) -> tuple[str, str]:
    return (event.kind, (event.text if event.kind == "speech" else event.cue) or "")


def _finish(
    levelled: Mapping[tuple[str, str], np.ndarray],
    gain_db: float,
    ceiling_dbtp: float,
    peaks_db: Mapping[tuple[str, str], float],
    rate: int,
    loudness: float,
) -> Mastered:
    factor = np.float32(10 ** (gain_db / 20))
    clips = {}
    for key, clip in levelled.items():
        scaled = clip * factor
        if peaks_db[key] + gain_db > ceiling_dbtp:
            scaled = limit_true_peak(scaled, rate, ceiling_dbtp).astype(np.float32)
        clips[key] = scaled
    return Mastered(clips, loudness, gain_db)


def _loudness(timeline: Timeline, clips: Mapping[tuple[str, str], np.ndarray]) -> float:
    energies = HopEnergies(timeline.duration_samples, timeline.sample_rate_hz)
    for event in timeline.sounds():
        key = _key(event)
        energies.add_clip(event.start_sample, clips[key], key=key)
    return integrated_loudness(energies, timeline.sample_rate_hz)


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
    """``mastered`` and one more phrase at the level and gain its other phrases have."""
    key = ("speech", text)
    if key in mastered.clips:
        return mastered
    levelled = {key: _levelled(clip, rate, SPEECH_LEVEL_DB)}
    peaks = {key: true_peak_dbtp(levelled[key], rate)}
    extra = _finish(levelled, mastered.gain_db, CEILING_DBTP, peaks, rate, mastered.loudness_lufs)
    return replace(mastered, clips={**mastered.clips, **extra.clips})


def render_all(timeline: Timeline, mastered: Mastered) -> np.ndarray:
    """The whole session in one array: for tests and short sessions only."""
    out = np.zeros(timeline.duration_samples, dtype=np.float32)
    for position, chunk in zip(
        range(0, timeline.duration_samples, 1 << 16), render_chunks(timeline, mastered), strict=True
    ):
        out[position : position + len(chunk)] = chunk
    return out
