"""A sound bed under the voice: generated beds, seamless loops, ducking, the mix.

Every bed is a loop that is seamless by construction: generated beds are
shaped in the frequency domain over the whole loop, which makes them
circular; a user's file is crossfaded end into start (``seamless_loop``).
Any sample of the bed is then ``loop[n % len(loop)]`` times a gain, so a
chunk of a four-hour session is computed on its own, in the chunk's memory.

The gain is known in advance from the timeline: the bed fades in and out,
and ducks under every sound (speech and cues) with a smooth attack that is
complete when the sound starts and a release that begins when it ends.
Sounds closer together than attack plus release keep the bed down between
them, so it does not pump between sentences.

Loudness: the bed is set against the voice (``volume_db`` below the level
every phrase was brought to), then the mix's gated loudness, voice hops plus
bed hops, is computed from per-hop energies, and voice and bed are moved
together until the mix, not the voice alone, is at -16 LUFS.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from functools import cached_property

import numpy as np

from .dsp import k_weighted
from .loudness import _LOUDNESS_OFFSET_DB as LOUDNESS_OFFSET_DB
from .loudness import (
    HopEnergies,
    hop_samples,
    integrated_loudness,
    limit_true_peak,
    true_peak_dbtp,
)
from .mastering import CEILING_DBTP, TARGET_LUFS, Mastered
from .model import Ambience, Timeline

LOOP_S = 30.0
FADE_IN_S = 3.0
FADE_OUT_S = 4.0
ATTACK_S = 0.25
RELEASE_S = 0.8
FILE_CROSSFADE_S = 2.0
MAX_FILE_LOOP_S = 180.0  # a longer file is looped over its first three minutes
_SEED = {"brown-noise": 1, "rain": 2, "ocean": 3}
_PASSES = 6
# A bed's peaks stay within this many times its RMS (14 dB): a loud drop of
# rain or a click in a user's file must not reach the true-peak ceiling.
CREST = 5.0
# The bed adds a little to the voice's peaks; the voice's ceiling is lowered by this.
BED_HEADROOM_DB = 0.5
# The voice is raised at most this much to make up for a bed that lowers the
# gated loudness; beyond it the limiter would only squash it.
MAX_RISE_DB = 6.0
_TOLERANCE_LU = 0.1


def duck_db(volume_db: float) -> float:
    """How far the bed dips under a sound: the voice is then >= 24 dB above the
    bed's average level, which leaves room for a bed's own swells (ocean waves
    rise about 4 dB over its average) above the promised 12 dB."""
    return max(6.0, volume_db + 24.0)


# -- generated beds ------------------------------------------------------------------------


def _shaped_noise(rng: np.random.Generator, length: int, rate: int, gain_at: object) -> np.ndarray:
    """White noise shaped by ``gain_at(frequencies)``; circular, so it loops seamlessly."""
    spectrum = np.fft.rfft(rng.standard_normal(length))
    frequencies = np.fft.rfftfreq(length, 1 / rate)
    spectrum *= gain_at(frequencies)  # type: ignore[operator]
    noise = np.fft.irfft(spectrum, length)
    return noise / np.sqrt(np.mean(noise**2))


def _band(frequencies: np.ndarray, low_hz: float, high_hz: float) -> np.ndarray:
    """Gentle first-order band edges, so nothing rings."""
    f = np.maximum(frequencies, 1e-3)
    return (f / low_hz) / np.sqrt(1 + (f / low_hz) ** 2) / np.sqrt(1 + (f / high_hz) ** 2)


def _brown(rng: np.random.Generator, length: int, rate: int) -> np.ndarray:
    return _shaped_noise(rng, length, rate, lambda f: _band(f, 30.0, 3000.0) / np.maximum(f, 30.0))


def _rain(rng: np.random.Generator, length: int, rate: int) -> np.ndarray:
    hiss = _shaped_noise(
        rng, length, rate, lambda f: _band(f, 500.0, 9000.0) / np.sqrt(np.maximum(f, 500.0))
    )
    # Drops: sparse clicks (about 40 a second) through a bright band, on top
    # of a steady hiss.
    clicks = np.zeros(length)
    count = int(40 * length / rate)
    clicks[rng.integers(0, length, count)] = rng.uniform(0.3, 1.0, count)
    spectrum = np.fft.rfft(clicks) * _band(np.fft.rfftfreq(length, 1 / rate), 1500.0, 7000.0)
    drops = np.fft.irfft(spectrum, length)
    drops /= np.sqrt(np.mean(drops**2))
    return hiss + 0.5 * drops


def _ocean(rng: np.random.Generator, length: int, rate: int) -> np.ndarray:
    surf = _shaped_noise(
        rng, length, rate, lambda f: _band(f, 60.0, 1200.0) / np.maximum(f, 60.0) ** 0.75
    )
    # Waves: 4 and 3 swells per loop, so the envelope is circular too.
    phase = 2 * np.pi * np.arange(length) / length
    swell = 0.5 - 0.5 * np.cos(4 * phase)
    slow = 0.5 - 0.5 * np.cos(3 * phase + 1.0)
    return surf * (0.45 + 0.4 * swell**1.5 + 0.15 * slow)


def _drone(length: int, rate: int) -> np.ndarray:
    # Whole cycles per loop (frequencies rounded to 1 / LOOP_S), so it loops
    # exactly; near-unison pairs beat slowly, which keeps it alive.
    seconds = length / rate
    n = np.arange(length) / rate
    out = np.zeros(length)
    for hz, level in ((55.0, 1.0), (82.5, 0.6), (110.0, 0.5), (165.0, 0.25), (220.0, 0.15)):
        for detune in (0.0, 0.2):
            cycles = round((hz + detune) * seconds)
            out += level * np.sin(2 * np.pi * cycles / seconds * n)
    return out / np.sqrt(np.mean(out**2))


def tamed(loop: np.ndarray) -> np.ndarray:
    """``loop`` at unit RMS with its rare peaks rounded off (crest at most CREST)."""
    x = np.asarray(loop, dtype=np.float64)
    rms = float(np.sqrt(np.mean(x**2)))
    if rms == 0.0:
        return x.astype(np.float32)
    return (CREST * np.tanh(x / rms / CREST)).astype(np.float32)


def generated_loop(sound: str, rate: int, seconds: float = LOOP_S) -> np.ndarray:
    """A seamless loop of a generated bed, float32 at unit RMS."""
    length = round(seconds * rate)
    if sound == "drone":
        loop = _drone(length, rate)
    else:
        rng = np.random.default_rng(_SEED[sound])
        loop = {"brown-noise": _brown, "rain": _rain, "ocean": _ocean}[sound](rng, length, rate)
    return tamed(loop)


def seamless_loop(
    samples: np.ndarray, rate: int, crossfade_s: float = FILE_CROSSFADE_S
) -> np.ndarray:
    """``samples`` made to loop without a seam: its end crossfaded into its start.

    The loop is ``len(samples) - crossfade`` long; playing it round and round
    runs ``samples[crossfade:]`` and eases back into ``samples[:crossfade]``.
    """
    x = np.asarray(samples, dtype=np.float64)
    fade = min(round(crossfade_s * rate), len(x) // 4)
    if fade == 0:
        return x.astype(np.float32)
    body = x[fade:].copy()
    # Equal power: the two ends are unrelated sound, so their powers add.
    t = (np.arange(fade) + 0.5) / fade
    body[-fade:] = body[-fade:] * np.cos(0.5 * np.pi * t) + x[:fade] * np.sin(0.5 * np.pi * t)
    return body.astype(np.float32)


# -- the gain over time -----------------------------------------------------------------------


def _raised(t: np.ndarray) -> np.ndarray:
    """0 at t <= 0, 1 at t >= 1, a raised cosine between."""
    out = np.clip(t, 0.0, 1.0)
    # Most samples sit on a flat part; the cosine is only worked out on ramps.
    ramp = (out > 0.0) & (out < 1.0)
    if ramp.any():
        out[ramp] = 0.5 - 0.5 * np.cos(np.pi * out[ramp])
    return out


@dataclass(frozen=True)
class Ducking:
    """Where the bed is down: merged spans of sound, in samples."""

    spans: tuple[tuple[int, int], ...]
    attack_samples: int
    release_samples: int

    @classmethod
    def from_timeline(cls, timeline: Timeline) -> Ducking:
        rate = timeline.sample_rate_hz
        attack, release = round(ATTACK_S * rate), round(RELEASE_S * rate)
        spans: list[tuple[int, int]] = []
        for event in sorted(timeline.sounds(), key=lambda e: e.start_sample):
            if spans and event.start_sample - spans[-1][1] < attack + release:
                spans[-1] = (spans[-1][0], max(spans[-1][1], event.end_sample))
            else:
                spans.append((event.start_sample, event.end_sample))
        return cls(tuple(spans), attack, release)

    @cached_property
    def _bounds(self) -> tuple[np.ndarray, np.ndarray]:
        spans = np.array(self.spans, dtype=np.float64).reshape(-1, 2)
        return spans[:, 0], spans[:, 1]

    def depth(self, positions: np.ndarray) -> np.ndarray:
        """0 (bed up) to 1 (fully down) at each sample position (ascending)."""
        p = np.asarray(positions, dtype=np.float64)
        if not self.spans:
            return np.zeros(len(p))
        starts, ends = self._bounds
        # Spans are at least attack + release apart, so at any position only
        # the last span whose attack has begun can hold the bed down.
        index = np.searchsorted(starts - self.attack_samples, p, side="right") - 1
        known = index >= 0
        span = np.maximum(index, 0)
        rising = _raised((p - (starts[span] - self.attack_samples)) / self.attack_samples)
        falling = 1.0 - _raised((p - ends[span]) / self.release_samples)
        return np.where(known, np.minimum(rising, falling), 0.0)


def _fades(positions: np.ndarray, duration: int, rate: int) -> np.ndarray:
    fade_in = max(1, min(round(FADE_IN_S * rate), duration // 2))
    fade_out = max(1, min(round(FADE_OUT_S * rate), duration // 2))
    if len(positions) and fade_in <= positions.min() and positions.max() <= duration - fade_out:
        return np.ones(len(positions))
    return _raised(positions / fade_in) * _raised((duration - positions) / fade_out)


# -- the bed and the mix -------------------------------------------------------------------------


@dataclass(frozen=True)
class Bed:
    """A loop, its level against the voice, and when it ducks."""

    loop: np.ndarray  # float32, seamless
    level: float  # linear gain on the loop when the bed is up
    duck_db: float
    ducking: Ducking
    duration_samples: int
    rate: int

    def gain_at(self, positions: np.ndarray) -> np.ndarray:
        """The bed's linear gain at each sample position (ascending)."""
        p = np.asarray(positions, dtype=np.float64)
        depth = self.ducking.depth(p)
        fades = _fades(p, self.duration_samples, self.rate)
        ducked = depth > 0.0
        if ducked.any():
            fades[ducked] *= 10 ** (-self.duck_db * depth[ducked] / 20)
        return self.level * fades

    def chunk(self, start: int, stop: int) -> np.ndarray:
        """The bed from ``start`` to ``stop`` (samples), at its final level."""
        positions = np.arange(start, stop)
        return (self.loop[positions % len(self.loop)] * self.gain_at(positions)).astype(np.float32)

    def scaled(self, db: float) -> Bed:
        return replace(self, level=self.level * 10 ** (db / 20))


_ENERGY_STRIDE = 32  # samples between stored points of the loop's energy curve
_SETTLE_S = 0.5  # the K-weighting filter settles well within this
_BLOCK_S = 10.0


def _loop_energy_curve(loop: np.ndarray, rate: int) -> tuple[np.ndarray, float]:
    """Running K-weighted energy of the loop at every ``_ENERGY_STRIDE``-th sample.

    Filtered in blocks, each with the loop's preceding half second before it
    so that the filter has settled as it would have in the session; a few
    megabytes however long the loop. Also returns the whole loop's energy.
    """
    length = len(loop)
    settle, block = round(_SETTLE_S * rate), round(_BLOCK_S * rate)
    points = [np.zeros(1)]
    total = 0.0
    for start in range(0, length, block):
        stop = min(length, start + block)
        before = loop[np.arange(start - settle, start) % length].astype(np.float64)
        weighted = k_weighted(np.concatenate([before, loop[start:stop]]), rate)[settle:]
        running = total + np.cumsum(weighted**2)
        total = float(running[-1])
        # Keep the curve at multiples of the stride (the first stored is 0).
        first = (-start - 1) % _ENERGY_STRIDE
        points.append(running[first::_ENERGY_STRIDE])
    return np.concatenate(points), total


def _unit_bed_hop_energies(bed: Bed, hops: int, hop: int) -> tuple[np.ndarray, float]:
    """The bed's K-weighted energy in each 100 ms hop at ``level`` 1, and the
    loop's own K-weighted level in dB (as loudness, BS.1770 offset included).

    The gain changes slowly against a hop, so it is taken at each hop's middle.
    """
    length = len(bed.loop)
    curve, total = _loop_energy_curve(bed.loop, bed.rate)
    starts = np.arange(hops, dtype=np.int64) * hop
    stops = np.minimum(starts + hop, bed.duration_samples)

    def upto(n: np.ndarray) -> np.ndarray:
        # Energy of the bed's first n samples: whole turns round the loop, then
        # the curve at the nearest stored point.
        within = np.minimum(np.rint((n % length) / _ENERGY_STRIDE).astype(np.int64), len(curve) - 1)
        return (n // length) * total + curve[within]

    energy = np.maximum(upto(stops) - upto(starts), 0.0)
    gain = replace(bed, level=1.0).gain_at((starts + stops) // 2)
    loop_level_db = 10 * np.log10(max(total, 1e-30) / length) + LOUDNESS_OFFSET_DB
    return energy * gain**2, float(loop_level_db)


def _voice_energies(timeline: Timeline, clips: dict[tuple[str, str], np.ndarray]) -> HopEnergies:
    energies = HopEnergies(timeline.duration_samples, timeline.sample_rate_hz)
    for event in timeline.sounds():
        key = (event.kind, (event.text if event.kind == "speech" else event.cue) or "")
        energies.add_clip(event.start_sample, clips[key], key=key)
    return energies


def levelled_with_bed(
    timeline: Timeline,
    mastered: Mastered,
    ambience: Ambience,
    loop: np.ndarray,
    target_lufs: float = TARGET_LUFS,
    ceiling_dbtp: float = CEILING_DBTP - BED_HEADROOM_DB,
) -> tuple[Mastered, Bed]:
    """Voice and bed, moved together so that the mix is at ``target_lufs``.

    A bed can make the mix louder (its energy under the voice) or quieter
    (blocks that were silence now pass the gates and pull the average down),
    so the voice's gain is searched with the bed kept ``volume_db`` below the
    voice's own loudness at every step (its clips' nominal level would
    overstate it wherever the limiter took peaks down), re-limiting the
    voice's clips from their mastered levels so that peaks stay under the
    ceiling.
    """
    rate = timeline.sample_rate_hz
    unit = Bed(
        loop=loop,
        level=1.0,
        duck_db=duck_db(ambience.volume_db),
        ducking=Ducking.from_timeline(timeline),
        duration_samples=timeline.duration_samples,
        rate=rate,
    )
    hops = -(-timeline.duration_samples // hop_samples(rate))
    unit_energies, loop_level_db = _unit_bed_hop_energies(unit, hops, hop_samples(rate))
    peaks_db = {key: true_peak_dbtp(clip, rate) for key, clip in mastered.clips.items()}

    def attempt(change_db: float) -> tuple[Mastered, Bed, float]:
        factor = np.float32(10 ** (change_db / 20))
        clips = {}
        for key, clip in mastered.clips.items():
            scaled = clip * factor
            if peaks_db[key] + change_db > ceiling_dbtp:
                scaled = limit_true_peak(scaled, rate, ceiling_dbtp).astype(np.float32)
            clips[key] = scaled
        energies = _voice_energies(timeline, clips)
        voice_lufs = integrated_loudness(energies, rate)
        level = 10 ** ((voice_lufs + ambience.volume_db - loop_level_db) / 20)
        energies.energies += unit_energies * level**2
        mix_lufs = integrated_loudness(energies, rate)
        voice = Mastered(clips, voice_lufs, mastered.gain_db + change_db)
        return voice, replace(unit, level=level), mix_lufs

    change_db = 0.0
    voice, bed, loudness = attempt(change_db)
    tried = [(change_db, loudness)]
    for _ in range(_PASSES):
        error = target_lufs - loudness
        if abs(error) <= _TOLERANCE_LU:
            break
        # Secant steps: the limiter takes back part of any rise.
        (gain_a, loud_a), (gain_b, loud_b) = tried[-2:] if len(tried) > 1 else (tried[0],) * 2
        slope = (loud_b - loud_a) / (gain_b - gain_a) if gain_b != gain_a else 1.0
        change_db = min(MAX_RISE_DB, change_db + error / min(1.0, max(0.5, slope)))
        del voice, bed  # one set of clips at a time
        voice, bed, loudness = attempt(change_db)
        tried.append((change_db, loudness))
    return replace(voice, loudness_lufs=loudness), bed


def mixed(
    voice_chunks: Iterable[np.ndarray], bed: Bed, start_sample: int = 0
) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """(mix, voice, bed) chunks, aligned sample for sample; the voice's chunks
    start at ``start_sample`` of the session."""
    position = start_sample
    for voice in voice_chunks:
        under = bed.chunk(position, position + len(voice))
        position += len(voice)
        yield voice + under, voice, under
