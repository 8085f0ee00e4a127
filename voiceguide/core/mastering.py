"""A timeline's clips → every distinct sound at its final level.

Mastering works on the distinct clips, not on the session: sounds never
overlap, so the session's loudness follows from where each clip is placed,
and a true-peak limit on every clip is a limit on the whole session. A
four-hour session therefore costs what its few hundred phrases cost, and is
never held in memory.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import TypeVar

import numpy as np

from .cues import CUE_LEVEL_DB
from .loudness import (
    SILENCE_DB,
    HopEnergies,
    block_limiter_gain,
    block_sums,
    clip_k_rms_db,
    clip_loudness_db,
    integrated_loudness,
    k_squared_cumsum,
    k_weighted,
    limit_true_peak,
    true_peak_envelope,
)
from .model import Event, Timeline
from .threads import ordered_map

TARGET_LUFS = -16.0
# Below the -1 dBTP promise: MP3 encoding moves peaks by a few tenths of a dB.
CEILING_DBTP = -2.0
SPEECH_LEVEL_DB = -20.0
_LOUDNESS_TOLERANCE_LU = 0.1
_EXACT_PASSES = 4
_ESTIMATE_STEPS = 24
_ESTIMATE_TOLERANCE_LU = 0.01
_MIN_SLOPE = 0.05
# Gain beyond what the loudness target asks of the unlimited clips, i.e. how
# hard the limiter may work. Speech under the ceiling at -16 LUFS needs about
# 7 dB; past 12 dB it would be a square wave, so a target needing more is
# given up on, quieter.
_MAX_LIMITING_DB = 12.0
# The estimate's resolution: fine next to the limiter's 20 ms hold and the
# 100 ms loudness hops, and 64 times less work than per sample.
_BLOCK_SAMPLES = 64
# K-weighting rings after a clip ends; that energy counts (see loudness).
_TAIL_S = 0.2
# Final clips kept from the exact pass, at most: the distinct clips of a long
# script with hundreds of phrases would otherwise all sit in memory at once
# (2 GB for 300 long phrases). Past it, a clip is made again when the render
# reaches it, and the last few made are kept for the phrases that recur.
RETAIN_BYTES = 32 << 20
_RECENT_BYTES = 8 << 20

Key = tuple[str, str]
R = TypeVar("R")


@dataclass(frozen=True)
class Mastered:
    """Every distinct sound at its final level, keyed by (kind, phrase or cue name)."""

    clips: Mapping[Key, np.ndarray]
    loudness_lufs: float
    gain_db: float

    def clip_for(self, event: Event) -> np.ndarray:
        return self.clips[event_key(event)]


def event_key(event: Event) -> Key:
    return (event.kind, (event.text if event.kind == "speech" else event.cue) or "")


def master(
    timeline: Timeline,
    speech: Mapping[str, np.ndarray],
    tones: Mapping[str, np.ndarray],
    *,
    target_lufs: float = TARGET_LUFS,
    ceiling_dbtp: float = CEILING_DBTP,
    workers: int = 1,
    analyses: Mapping[Key, Analysis] | None = None,
) -> Mastered:
    """Level each clip, then find the one gain that puts the session at ``target_lufs``.

    The limiter takes loudness back where it holds peaks down, so the gain
    is searched for. Each step of the search estimates the loudness from
    every clip's K-weighted energy in 64-sample blocks, limited at that
    resolution: cheap, and off by a nearly constant fraction of a LU. The
    exact pass (the full limiter on every clip, K-weighted again) measures
    what the gain found gives; if that misses the target, the search runs
    again with the estimate corrected by the miss. The loudness reported is
    always that of the clips returned. A target the limiter could only
    reach by crushing the voice (see ``_MAX_LIMITING_DB``) is missed,
    quieter, rather than reached. ``workers`` threads share the
    per-clip work (numpy releases the GIL); the result does not depend on it.
    ``analyses`` are clips already analysed (``analyse``), for example while
    the engine spoke the next phrase.
    """
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        clips = _Clips(timeline, speech, tones, ceiling_dbtp, pool, workers, analyses)
        unlimited_lufs, _ = clips.estimate(0.0, limited=False)
        if unlimited_lufs <= SILENCE_DB:
            return Mastered(*clips.exact(0.0), 0.0)
        gain_db = target_lufs - unlimited_lufs
        top_db = gain_db + _MAX_LIMITING_DB
        correction_lu = 0.0
        for _ in range(_EXACT_PASSES):
            gain_db = clips.search(target_lufs - correction_lu, gain_db, top_db)
            final, loudness = clips.exact(gain_db)
            if abs(target_lufs - loudness) <= _LOUDNESS_TOLERANCE_LU:
                break
            if gain_db >= top_db and loudness < target_lufs:
                break
            correction_lu = loudness - clips.estimate(gain_db)[0]
        return Mastered(final, loudness, gain_db)


@dataclass(frozen=True)
class _Coarse:
    """A clip's K-weighted energy (at unit scale, ringing tail included) and its
    true-peak envelope's maximum, per block of ``_BLOCK_SAMPLES``."""

    energy: np.ndarray
    peak: np.ndarray


@dataclass(frozen=True)
class Analysis:
    """What mastering needs to know of one clip, whatever the session around it:
    made as each phrase is spoken, so that work overlaps the synthesis of the next."""

    level: float  # the scale that brings the clip to its common K-weighted level
    envelope: np.ndarray | None  # true-peak envelope (float32), or None: made when needed
    coarse: _Coarse


def envelope_of(clip: np.ndarray) -> np.ndarray:
    """The true-peak envelope the limiter works from, the same however it is reached."""
    # float32 halves what a long session's envelopes hold; their
    # precision is far finer than the limiter's 0.05 dB tolerance.
    return true_peak_envelope(np.asarray(clip, dtype=np.float64)).astype(np.float32)


def analyse(key: Key, clip: np.ndarray, rate_hz: int, keep_envelope: bool = True) -> Analysis:
    """One clip's levelling scale, true-peak envelope and block estimate; without
    ``keep_envelope`` the envelope is dropped (the limiter makes it again)."""
    source = np.asarray(clip, dtype=np.float64)
    tail = np.zeros(round(_TAIL_S * rate_hz))
    # The filter is causal, so the clip's own samples filter the same with the tail.
    filtered = k_weighted(np.concatenate([source, tail]), rate_hz)
    # Every phrase first goes to a common K-weighted level, so a whispered
    # and a shouted phrase from an engine sound alike; cues sit below speech.
    # A tone is measured as a listener's meter would (gated blocks): a sigh
    # that dies away reads 1.5 dB quieter ungated than it sounds.
    if key[0] == "tone":
        target_db = SPEECH_LEVEL_DB + CUE_LEVEL_DB[key[1]]
        level_db = clip_loudness_db(source, rate_hz)
    else:
        target_db = SPEECH_LEVEL_DB
        level_db = clip_k_rms_db(source, rate_hz, filtered)
    level = 10 ** ((target_db - level_db) / 20)
    envelope = true_peak_envelope(source)
    # float32: a long script's blocks would otherwise take tens of MB, and
    # the estimate only guides the search (the exact pass measures in float64).
    coarse = _Coarse(
        block_sums(filtered**2, _BLOCK_SAMPLES).astype(np.float32),
        block_sums(np.concatenate([envelope, tail]), _BLOCK_SAMPLES, np.maximum).astype(np.float32),
    )
    return Analysis(level, envelope.astype(np.float32) if keep_envelope else None, coarse)


class FinalClips(Mapping[Key, np.ndarray]):
    """Every distinct sound at its final level: those kept from the exact pass,
    and the others made again when asked for (the last few kept). Safe to use
    from several threads: the parts of a file render at once."""

    def __init__(
        self,
        keys: Sequence[Key],
        kept: dict[Key, np.ndarray],
        make: Callable[[Key], np.ndarray],
        recent_bytes: int = _RECENT_BYTES,
    ) -> None:
        self._keys = set(keys)
        self._order = list(keys)
        self._kept = kept
        self._make = make
        self._recent: OrderedDict[Key, np.ndarray] = OrderedDict()
        self._recent_bytes = 0
        self._limit_bytes = recent_bytes
        self._lock = threading.Lock()

    def __getitem__(self, key: Key) -> np.ndarray:
        found = self._kept.get(key)
        if found is not None:
            return found
        if key not in self._keys:
            raise KeyError(key)
        with self._lock:
            found = self._recent.get(key)
            if found is not None:
                self._recent.move_to_end(key)
                return found
        # Made outside the lock so that threads limit different clips at once;
        # two threads making the same clip make the same samples.
        clip = self._make(key)
        with self._lock:
            if key not in self._recent:
                self._recent[key] = clip
                self._recent_bytes += clip.nbytes
            while self._recent_bytes > self._limit_bytes and len(self._recent) > 1:
                _, old = self._recent.popitem(last=False)
                self._recent_bytes -= old.nbytes
        return clip

    def __contains__(self, key: object) -> bool:
        return key in self._keys

    def __iter__(self) -> Iterator[Key]:
        return iter(self._order)

    def __len__(self) -> int:
        return len(self._order)


class _Clips:
    """The distinct clips of a timeline, where they are placed, and their levels."""

    def __init__(
        self,
        timeline: Timeline,
        speech: Mapping[str, np.ndarray],
        tones: Mapping[str, np.ndarray],
        ceiling_dbtp: float,
        pool: ThreadPoolExecutor,
        workers: int,
        analyses: Mapping[Key, Analysis] | None = None,
    ) -> None:
        self.timeline = timeline
        self.rate = timeline.sample_rate_hz
        self.ceiling_dbtp = ceiling_dbtp
        self.pool, self.workers = pool, max(1, workers)
        self.starts: dict[Key, list[int]] = {}
        for event in timeline.sounds():
            self.starts.setdefault(event_key(event), []).append(event.start_sample)
        # Read when needed: ``speech`` may hold its clips on disk.
        self.speech, self.tones = speech, tones
        self.known = analyses or {}
        self.levels: dict[Key, float] = {}
        self.envelopes: dict[Key, np.ndarray | None] = {}
        self.coarse: dict[Key, _Coarse] = {}
        for key, found in zip(self.starts, self._map(self._analyse, self.starts), strict=True):
            self.levels[key], self.envelopes[key], self.coarse[key] = (
                found.level,
                found.envelope,
                found.coarse,
            )

    def _map(self, fn: Callable[[Key], R], keys: Iterable[Key]) -> Iterator[R]:
        return ordered_map(self.pool, self.workers, fn, keys)

    def source(self, key: Key) -> np.ndarray:
        return self.speech[key[1]] if key[0] == "speech" else self.tones[key[1]]

    def _analyse(self, key: Key) -> Analysis:
        return self.known.get(key) or analyse(key, self.source(key), self.rate)

    def scale(self, key: Key, gain_db: float, speech_loss_db: float) -> float:
        """The factor that takes ``key``'s source to its final level, before limiting.

        Tones follow speech down by what the limiter took from it: they are
        levelled against speech as heard, not against speech as it would be
        unlimited (at -16 LUFS the limiter takes 6 to 7 dB from espeak's
        voice and nothing from a tone, so tones asked to sit 8 dB under the
        voice sat 1 dB under it).
        """
        # The script's cues.volume moves every tone against its default.
        tone_db = self.timeline.cue_volume_db - speech_loss_db if key[0] == "tone" else 0.0
        return self.levels[key] * 10 ** ((gain_db + tone_db) / 20)

    def unlimited_energy(self, key: Key, gain_db: float) -> float:
        """The clip's K-weighted energy at ``gain_db`` before the limiter, for each start."""
        return (
            float(self.coarse[key].energy.sum(dtype=np.float64))
            * self.scale(key, gain_db, 0.0) ** 2
        )

    def speech_keys_first(self) -> list[Key]:
        return sorted(self.starts, key=lambda key: key[0] != "speech")

    def estimate(self, gain_db: float, limited: bool = True) -> tuple[float, float]:
        """The session's loudness at ``gain_db`` from the blocks, and d(loudness)/d(gain):
        the share of the energy the limiter leaves alone."""
        energies = HopEnergies(self.timeline.duration_samples, self.rate)
        untouched = total = 0.0
        ceiling = 10.0 ** (self.ceiling_dbtp / 20.0)
        speech_before = speech_after = 0.0
        for key in self.speech_keys_first():
            starts = self.starts[key]
            coarse = self.coarse[key]
            speech_loss_db = _loss_db(speech_before, speech_after) if key[0] == "tone" else 0.0
            scale = self.scale(key, gain_db, speech_loss_db)
            energy = coarse.energy.astype(np.float64) * scale**2
            if limited:
                gain = block_limiter_gain(
                    coarse.peak.astype(np.float64) * scale, ceiling, self.rate, _BLOCK_SAMPLES
                )
                if gain is not None:
                    untouched += float(energy[gain == 1.0].sum()) * len(starts)
                    energy = energy * gain**2
                else:
                    untouched += float(energy.sum()) * len(starts)
            cumsum = np.concatenate([[0.0], np.cumsum(energy)])
            total += float(cumsum[-1]) * len(starts)
            if key[0] == "speech":
                speech_before += self.unlimited_energy(key, gain_db) * len(starts)
                speech_after += float(cumsum[-1]) * len(starts)
            for start in starts:
                energies.add(start, cumsum, _BLOCK_SAMPLES)
        slope = min(1.0, untouched / total) if limited and total > 0 else 1.0
        return integrated_loudness(energies, self.rate), slope

    def search(self, goal_lufs: float, gain_db: float, top_db: float) -> float:
        """The gain whose estimated loudness is ``goal_lufs``, starting from ``gain_db``,
        and at most ``top_db``.

        Newton steps with the estimate's slope, then secant steps: the
        loudness never falls as the gain rises, and rises ever more slowly
        once the limiter works.
        """
        last: tuple[float, float] | None = None
        for _ in range(_ESTIMATE_STEPS):
            loudness, slope = self.estimate(gain_db)
            miss_lu = goal_lufs - loudness
            if abs(miss_lu) <= _ESTIMATE_TOLERANCE_LU:
                break
            if last is not None and last[0] != gain_db:
                slope = (loudness - last[1]) / (gain_db - last[0])
            last = (gain_db, loudness)
            if gain_db >= top_db and miss_lu > 0:
                break
            gain_db = min(top_db, gain_db + miss_lu / min(1.0, max(_MIN_SLOPE, slope)))
        return gain_db

    def exact(self, gain_db: float) -> tuple[FinalClips, float]:
        """Every clip at ``gain_db`` through the full limiter, and the session's loudness.

        Clips are filtered in order, a few at a time, and added in order:
        memory holds one clip's filtered energy per worker, and the sum is
        the same however many workers there are. The first ``RETAIN_BYTES``
        of final clips are kept; the rest are made again when asked for.
        """
        energies = HopEnergies(self.timeline.duration_samples, self.rate)
        kept: dict[Key, np.ndarray] = {}
        kept_bytes = 0
        # Every speech clip is made before any tone: the tones' level follows
        # what the limiter took from the speech.
        speech_before = speech_after = 0.0
        speech_loss_db = 0.0

        def make(key: Key) -> np.ndarray:
            source = self.source(key)
            envelope = self.envelopes[key]
            if envelope is None:
                envelope = envelope_of(source)
            scale = self.scale(key, gain_db, speech_loss_db)
            return final_clip(source, envelope, scale, self.rate, self.ceiling_dbtp)

        def work(key: Key) -> tuple[np.ndarray, np.ndarray]:
            clip = make(key)
            return clip, k_squared_cumsum(clip, self.rate)

        for kind in ("speech", "tone"):
            if kind == "tone":
                speech_loss_db = _loss_db(speech_before, speech_after)
            keys = [key for key in self.starts if key[0] == kind]
            for key, (clip, cumsum) in zip(keys, self._map(work, keys), strict=True):
                if kept_bytes + clip.nbytes <= RETAIN_BYTES or key[0] == "tone":
                    kept[key] = clip
                    kept_bytes += clip.nbytes
                for start in self.starts[key]:
                    energies.add(start, cumsum)
                if kind == "speech":
                    count = len(self.starts[key])
                    speech_before += self.unlimited_energy(key, gain_db) * count
                    speech_after += float(cumsum[-1]) * count
        return FinalClips(list(self.starts), kept, make), integrated_loudness(energies, self.rate)


def _loss_db(before: float, after: float) -> float:
    """How many dB the limiter took from energy ``before``, leaving ``after``."""
    if before <= 0.0 or after <= 0.0:
        return 0.0
    return max(0.0, 10.0 * float(np.log10(before / after)))


def final_clip(
    source: np.ndarray, envelope: np.ndarray, scale: float, rate: int, ceiling_dbtp: float
) -> np.ndarray:
    """``scale * source`` under the true-peak ceiling, as the session plays it."""
    limited = limit_true_peak(source, rate, ceiling_dbtp, envelope=envelope, scale=scale)
    return limited.astype(np.float32)


def with_speech(mastered: Mastered, text: str, clip: np.ndarray, rate: int) -> Mastered:
    """``mastered`` and one more phrase, levelled and limited exactly as ``master``
    treats its phrases at the gain it found."""
    key: Key = ("speech", text)
    if key in mastered.clips:
        return mastered
    found = analyse(key, clip, rate)
    scale = found.level * 10 ** (mastered.gain_db / 20)
    levelled = final_clip(clip, envelope_of(clip), scale, rate, CEILING_DBTP)
    return replace(mastered, clips=_WithClip(mastered.clips, key, levelled))


class _WithClip(Mapping[Key, np.ndarray]):
    """``base`` and one more clip, without copying ``base`` (its clips may be made lazily)."""

    def __init__(self, base: Mapping[Key, np.ndarray], key: Key, clip: np.ndarray) -> None:
        self._base, self._key, self._clip = base, key, clip

    def __getitem__(self, key: Key) -> np.ndarray:
        return self._clip if key == self._key else self._base[key]

    def __contains__(self, key: object) -> bool:
        return key == self._key or key in self._base

    def __iter__(self) -> Iterator[Key]:
        yield from self._base
        yield self._key

    def __len__(self) -> int:
        return len(self._base) + 1
