"""BS.1770 loudness and true peak for sessions of clips placed in silence.

A session can be hours long but is mostly silence, so loudness is measured
from each clip's own K-weighted energy, spread into 100 ms hops at its place
in the session, never from a rendered full-length signal.
"""

from __future__ import annotations

from collections.abc import Hashable

import numpy as np

from voiceguide.core.dsp import k_weighted as k_weighted
from voiceguide.core.dsp import k_weighting_sos as k_weighting_sos
from voiceguide.core.dsp import minimum_filter1d, uniform_filter1d, upsampled_rows

SILENCE_DB = -120.0
"""Reported for silence (and for a session gated away entirely) instead of -inf."""

_HOP_S = 0.1
_HOPS_PER_BLOCK = 4  # 400 ms blocks overlapping by 75 %
_ABSOLUTE_GATE_LUFS = -70.0
_RELATIVE_GATE_LU = -10.0
_LOUDNESS_OFFSET_DB = -0.691
# The K-weighting high pass rings for a few ms; 0.2 s leaves it far below
# any gate, so the energy that spills after a clip is still counted.
_TAIL_S = 0.2
_OVERSAMPLE = 4
_LIMITER_RADIUS_S = 0.02  # longer than a voice pitch period, so the gain does not ride each cycle
_LIMITER_TOLERANCE_DB = 0.05
_LIMITER_PASSES = 3


def _check_rate(sample_rate_hz: int) -> None:
    if sample_rate_hz <= 0:
        raise ValueError(f"sample rate must be positive, got {sample_rate_hz!r}")


def _db(power: float) -> float:
    return 10.0 * float(np.log10(power)) if power > 0.0 else -np.inf


def clip_k_rms_db(x: np.ndarray, sample_rate_hz: int, filtered: np.ndarray | None = None) -> float:
    """Ungated loudness-like level of one short clip: K-weighted mean square, in dB.

    ``filtered``, ``k_weighted`` of ``x`` (possibly with a tail after it) if
    the caller has it, saves filtering again.
    """
    if len(x) == 0:
        return SILENCE_DB
    if filtered is None:
        filtered = k_weighted(x, sample_rate_hz)
    level = _db(float(np.mean(filtered[: len(x)] ** 2))) + _LOUDNESS_OFFSET_DB
    return max(level, SILENCE_DB)


def clip_loudness_db(x: np.ndarray, sample_rate_hz: int) -> float:
    """BS.1770 gated loudness of one clip heard alone, in LUFS.

    A clip shorter than one 400 ms block is one block of its own length:
    padded with silence it would read as quieter than it sounds, by 9 dB
    for a 50 ms tick.
    """
    if len(x) < _HOPS_PER_BLOCK * hop_samples(sample_rate_hz):
        return clip_k_rms_db(x, sample_rate_hz)
    energies = HopEnergies(len(x), sample_rate_hz)
    energies.add(0, k_squared_cumsum(x, sample_rate_hz))
    return integrated_loudness(energies, sample_rate_hz)


def hop_samples(sample_rate_hz: int) -> int:
    """Samples per 100 ms hop at this rate."""
    _check_rate(sample_rate_hz)
    return round(_HOP_S * sample_rate_hz)


def k_squared_cumsum(clip: np.ndarray, sample_rate_hz: int) -> np.ndarray:
    """Running sum of the clip's squared K-weighted samples, ringing tail included.

    Element ``i`` is the energy of the first ``i`` samples (element 0 is 0), so
    any span's energy is one subtraction. Computed once per distinct clip.
    """
    tail = np.zeros(round(_TAIL_S * sample_rate_hz))
    filtered = k_weighted(
        np.concatenate([np.asarray(clip, dtype=np.float64), tail]), sample_rate_hz
    )
    return np.concatenate([[0.0], np.cumsum(filtered**2)])


class HopEnergies:
    """K-weighted energy per 100 ms hop of a session, built clip by clip.

    Clips must not overlap (their 0.2 s ringing tails may run into the next
    clip; that energy is tiny). Work is proportional to the clips' lengths,
    not to the session's.
    """

    def __init__(self, duration_samples: int, sample_rate_hz: int) -> None:
        if duration_samples < 0:
            raise ValueError(f"duration must not be negative, got {duration_samples}")
        self.sample_rate_hz = sample_rate_hz
        self.duration_samples = duration_samples
        self.hop_samples = hop_samples(sample_rate_hz)
        # A trailing partial hop is kept, as if padded with silence.
        self.energies = np.zeros(-(-duration_samples // self.hop_samples))
        self._cache: dict[Hashable, np.ndarray] = {}

    def add(self, start_sample: int, k_squared_cumsum: np.ndarray, step_samples: int = 1) -> None:
        """Add a clip, given by its ``k_squared_cumsum``, starting at ``start_sample``.

        With ``step_samples`` > 1 the running sum is per block of that many
        samples, and each block's energy goes to the hop its middle falls in:
        an estimate, off by at most half a block at each hop's edges.
        """
        if start_sample < 0:
            raise ValueError(f"clip starts before the session: {start_sample}")
        length = (len(k_squared_cumsum) - 1) * step_samples
        end = min(start_sample + length, self.duration_samples)
        if end <= start_sample:
            return
        hop = self.hop_samples
        first, last = start_sample // hop, (end - 1) // hop
        bounds = np.arange(first, last + 2) * hop - start_sample
        np.clip(bounds, 0, end - start_sample, out=bounds)
        if step_samples > 1:
            bounds = (bounds + step_samples // 2) // step_samples
        # A cumsum of non-negative terms never decreases, so no hop goes negative.
        self.energies[first : last + 1] += np.diff(k_squared_cumsum[bounds])

    def add_clip(self, start_sample: int, clip: np.ndarray, key: Hashable | None = None) -> None:
        """Add a clip's samples; with a ``key``, it is filtered only the first time.

        The caller must give the same key only to identical clips.
        """
        if key is None:
            self.add(start_sample, k_squared_cumsum(clip, self.sample_rate_hz))
            return
        cached = self._cache.get(key)
        if cached is None:
            cached = self._cache[key] = k_squared_cumsum(clip, self.sample_rate_hz)
        self.add(start_sample, cached)


def integrated_loudness(hop_energies: HopEnergies | np.ndarray, sample_rate_hz: int) -> float:
    """BS.1770-4 gated integrated loudness (mono, LUFS) from per-hop K-weighted energies."""
    if isinstance(hop_energies, HopEnergies):
        if hop_energies.sample_rate_hz != sample_rate_hz:
            raise ValueError(
                f"hop energies are at {hop_energies.sample_rate_hz} Hz, not {sample_rate_hz} Hz"
            )
        hop_energies = hop_energies.energies
    hop = hop_samples(sample_rate_hz)
    e = np.asarray(hop_energies, dtype=np.float64)
    if len(e) < _HOPS_PER_BLOCK:
        e = np.pad(e, (0, _HOPS_PER_BLOCK - len(e)))
    # Summing hop by hop, not by differencing one long cumsum, keeps silent
    # blocks exactly silent however long the session.
    count = len(e) - _HOPS_PER_BLOCK + 1
    block = sum(e[i : i + count] for i in range(_HOPS_PER_BLOCK))
    z = np.asarray(block) / (_HOPS_PER_BLOCK * hop)
    with np.errstate(divide="ignore"):
        loudness = _LOUDNESS_OFFSET_DB + 10.0 * np.log10(z)
    above_absolute = loudness >= _ABSOLUTE_GATE_LUFS
    if not np.any(above_absolute):
        return SILENCE_DB
    relative_gate = _LOUDNESS_OFFSET_DB + _db(float(np.mean(z[above_absolute]))) + _RELATIVE_GATE_LU
    gated = (loudness > relative_gate) & (loudness > _ABSOLUTE_GATE_LUFS)
    return _LOUDNESS_OFFSET_DB + _db(float(np.mean(z[gated])))


def true_peak_envelope(x: np.ndarray) -> np.ndarray:
    """Per-sample peak of the 4x oversampled signal on both sides of each sample.

    Linear in ``x``'s scale: the envelope of ``g * x`` is ``g`` times this one,
    so a clip's envelope serves every gain tried for it.
    """
    x = np.asarray(x, dtype=np.float64)
    if len(x) == 0:
        return np.zeros(0)
    # A block of the oversampled signal at a time: whole, it is 32 bytes a
    # sample, and two 10 s clips being limited at once held 30 MB each.
    after = np.empty(len(x))
    lo = 0
    for rows in upsampled_rows(x, _OVERSAMPLE):
        np.abs(rows, out=rows)
        # Element-wise maxima of columns: a reduce over a 4-wide axis is
        # several times slower in numpy.
        peak = after[lo : lo + len(rows)]
        np.copyto(peak, rows[:, 0])
        for phase in range(1, _OVERSAMPLE):
            np.maximum(peak, rows[:, phase], out=peak)
        lo += len(rows)
    before = np.concatenate([[0.0], after[:-1]])
    return np.maximum(np.maximum(after, before), np.abs(x))


def true_peak_dbtp(x: np.ndarray, sample_rate_hz: int) -> float:
    """True peak of ``x`` in dBTP, from 4x oversampling (BS.1770-4 Annex 2)."""
    _check_rate(sample_rate_hz)
    if len(x) == 0:
        return SILENCE_DB
    return envelope_peak_db(true_peak_envelope(x))


def envelope_peak_db(envelope: np.ndarray) -> float:
    """The true peak, in dBTP, that a ``true_peak_envelope`` shows."""
    peak = float(np.max(envelope)) if len(envelope) else 0.0
    return max(20.0 * float(np.log10(peak)) if peak > 0 else -np.inf, SILENCE_DB)


def block_sums(x: np.ndarray, block_samples: int, ufunc: np.ufunc = np.add) -> np.ndarray:
    """``ufunc`` reduced over each block of ``x`` (the last one padded with zeros)."""
    blocks = -(-len(x) // block_samples)
    padded = np.zeros(blocks * block_samples, dtype=np.float64)
    padded[: len(x)] = x
    return np.asarray(ufunc.reduce(padded.reshape(blocks, block_samples), axis=1))


def block_limiter_gain(
    block_peaks: np.ndarray, ceiling: float, sample_rate_hz: int, block_samples: int
) -> np.ndarray | None:
    """The limiter's gain per block, from each block's true peak (already scaled).

    What ``limiter_gain`` gives, at the resolution of blocks: for estimates
    only. ``None`` where nothing reaches ``ceiling`` (linear).
    """
    if len(block_peaks) == 0 or float(np.max(block_peaks)) <= ceiling:
        return None
    radius = max(1, round(_LIMITER_RADIUS_S * sample_rate_hz / block_samples))
    need = np.minimum(1.0, ceiling / np.maximum(block_peaks, 1e-30))
    return _held_and_smoothed(need, radius)


def _limiter_gain(
    envelope: np.ndarray, ceiling: float, sample_rate_hz: int, scale: float = 1.0
) -> np.ndarray:
    radius = max(1, round(_LIMITER_RADIUS_S * sample_rate_hz))
    need = np.minimum(1.0, ceiling / np.maximum(scale * envelope.astype(np.float64), 1e-30))
    return _held_and_smoothed(need, radius)


def _held_and_smoothed(need: np.ndarray, radius: int) -> np.ndarray:
    half = max(1, radius // 2)
    # Each peak's gain is held over +-radius; the average over +-half (half <=
    # radius) then only mixes values already <= that peak's need, so smoothing
    # never lets a peak through.
    held = minimum_filter1d(need, 2 * radius + 1)
    reduction = 1.0 - held
    # Windows of zeros average to exactly zero (see uniform_filter1d), so the
    # gain is exactly 1 away from peaks and those samples stay bit-identical.
    smooth = uniform_filter1d(reduction, 2 * half + 1)
    return np.minimum(1.0, 1.0 - smooth)


def limiter_gain(
    envelope: np.ndarray, sample_rate_hz: int, ceiling_dbtp: float, scale: float = 1.0
) -> np.ndarray | None:
    """One pass of the limiter's gain for ``scale * x``, from ``x``'s ``true_peak_envelope``.

    ``None`` where nothing reaches the ceiling. The first step of
    ``limit_true_peak``, which then only checks the result and trims a hair
    more where gain ripples left one: cheap, since the envelope is given, so
    it is what a search over gains uses.
    """
    _check_rate(sample_rate_hz)
    ceiling = 10.0 ** (ceiling_dbtp / 20.0)
    if len(envelope) == 0 or scale * float(np.max(envelope)) <= ceiling:
        return None
    return _limiter_gain(envelope, ceiling, sample_rate_hz, scale)


def limit_true_peak(
    x: np.ndarray,
    sample_rate_hz: int,
    ceiling_dbtp: float,
    *,
    envelope: np.ndarray | None = None,
    scale: float = 1.0,
) -> np.ndarray:
    """Offline look-ahead limiter: ``scale * x`` with true peak <= ``ceiling_dbtp`` (+0.05 dB).

    Only the neighbourhood of each over-ceiling peak is attenuated, with a
    smooth gain; a clip already under the ceiling comes back unchanged (bit-
    identical at ``scale`` 1). ``envelope``, ``x``'s own ``true_peak_envelope``
    if the caller has it, saves computing it again.
    """
    _check_rate(sample_rate_hz)
    x = np.asarray(x)
    dtype = x.dtype if np.issubdtype(x.dtype, np.floating) else np.dtype(np.float64)
    if len(x) == 0:
        return x.astype(dtype)
    ceiling = 10.0 ** (ceiling_dbtp / 20.0)
    tolerance = 10.0 ** (_LIMITER_TOLERANCE_DB / 20.0)
    if envelope is None:
        envelope = true_peak_envelope(x)
    if scale * float(np.max(envelope)) <= ceiling:
        return (x * scale).astype(dtype) if scale != 1.0 else x.copy()
    out = x.astype(np.float64) * scale
    gain = limiter_gain(envelope, sample_rate_hz, ceiling_dbtp, scale)
    if gain is not None:
        out *= gain
    # Gain ripples between samples can leave a hair over, which the next pass removes.
    for _ in range(_LIMITER_PASSES - 1):
        envelope = true_peak_envelope(out)
        if float(envelope.max()) <= ceiling * tolerance:
            break
        out = out * _limiter_gain(envelope, ceiling, sample_rate_hz)
    else:
        envelope = true_peak_envelope(out)
    excess = float(envelope.max()) / ceiling
    if excess > tolerance:
        out = out / excess
    return out.astype(dtype)
