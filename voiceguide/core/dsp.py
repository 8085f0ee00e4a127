"""Numpy-only stand-ins for the few scipy filters voiceguide needs.

Importing scipy.signal alone costs about 74 MB of resident memory, a third of
the budget for exporting a long session, so these reproduce scipy's results
(same lengths, alignment and edge handling) with numpy alone.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache
from math import gcd

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

# The K-weighting impulse response is cut once it stays under this fraction
# of its peak for _IMPULSE_CHECK_S: the dropped tail then moves a full-scale
# signal's filtered samples by at most 3e-10 at 48 kHz (1.3e-9 at 192 kHz),
# far below anything a loudness reading can show.
_IMPULSE_TAIL = 1e-12
_IMPULSE_CHECK_S = 0.01
# scipy.signal.resample_poly's default filter.
_KAISER_BETA = 5.0
_HALF_LEN_PER_RATE = 10
# Bounds the input windows copied out per matrix product (512 KB): larger
# chunks were slower, not faster.
_CHUNK_ELEMENTS = 1 << 16


def k_weighting_sos(sample_rate_hz: int) -> np.ndarray:
    """BS.1770 K-weighting as two second-order sections (shelf, then high pass).

    RBJ cookbook forms with pyloudnorm's parameters, so both meters agree.
    """
    if sample_rate_hz <= 0:
        raise ValueError(f"sample rate must be positive, got {sample_rate_hz!r}")
    # High shelf: +4 dB above about 1.5 kHz, the acoustic effect of the head.
    a = 10.0 ** (4.0 / 40.0)
    w0 = 2.0 * np.pi * 1500.0 / sample_rate_hz
    alpha = np.sin(w0) / (2.0 * (1.0 / np.sqrt(2.0)))
    cos, sq = np.cos(w0), 2.0 * np.sqrt(a) * alpha
    shelf = np.array(
        [
            a * ((a + 1) + (a - 1) * cos + sq),
            -2.0 * a * ((a - 1) + (a + 1) * cos),
            a * ((a + 1) + (a - 1) * cos - sq),
            (a + 1) - (a - 1) * cos + sq,
            2.0 * ((a - 1) - (a + 1) * cos),
            (a + 1) - (a - 1) * cos - sq,
        ]
    )
    # High pass at 38 Hz, Q 0.5: the ear's insensitivity to rumble.
    w0 = 2.0 * np.pi * 38.0 / sample_rate_hz
    alpha = np.sin(w0) / (2.0 * 0.5)
    cos = np.cos(w0)
    high_pass = np.array(
        [(1 + cos) / 2, -(1 + cos), (1 + cos) / 2, 1 + alpha, -2.0 * cos, 1 - alpha]
    )
    sos = np.stack([shelf, high_pass])
    return sos / sos[:, 3:4]


def _biquad_impulse(sections: np.ndarray, length: int) -> list[float]:
    out = [0.0] * length
    out[0] = 1.0
    # The same transposed direct form II recursion as scipy's sosfilt, in
    # plain floats: far faster per sample than numpy scalars.
    for b0, b1, b2, _, a1, a2 in sections.tolist():
        z1 = z2 = 0.0
        for n, x in enumerate(out):
            y = b0 * x + z1
            z1 = b1 * x - a1 * y + z2
            z2 = b2 * x - a2 * y
            out[n] = y
    return out


@lru_cache(maxsize=8)
def k_weighting_impulse(sample_rate_hz: int) -> np.ndarray:
    """Impulse response of the BS.1770 K-weighting filter, cut where it has died away.

    Read-only: it is shared between callers.
    """
    sos = k_weighting_sos(sample_rate_hz)
    check = max(1, round(_IMPULSE_CHECK_S * sample_rate_hz))
    length = 16 * check
    while True:
        h = np.array(_biquad_impulse(sos, length))
        peak = float(np.max(np.abs(h)))
        # The tail is a slow, real-pole decay (the 38 Hz high pass), so a
        # whole check window under the limit means everything after it is too.
        quiet = np.abs(h) < _IMPULSE_TAIL * peak
        if quiet[-check:].all():
            loud = np.flatnonzero(~quiet)
            h = h[: int(loud[-1]) + 1]
            h.flags.writeable = False
            return h
        length *= 2


@lru_cache(maxsize=8)
def _k_weighting_spectrum(sample_rate_hz: int) -> tuple[np.ndarray, int]:
    h = k_weighting_impulse(sample_rate_hz)
    # A power of two at least four filter lengths long, so at least three
    # quarters of each block is new signal; longer blocks measured slower.
    size = 1 << max(4, int(4 * len(h) - 1).bit_length())
    spectrum = np.fft.rfft(h, size)
    spectrum.flags.writeable = False
    return spectrum, size - len(h) + 1


def k_weighted(x: np.ndarray, sample_rate_hz: int) -> np.ndarray:
    """``x`` through the K-weighting filter from a silent state, like scipy's sosfilt.

    Overlap-add FFT convolution with the cached impulse response; float64, ``len(x)``.
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 1:
        raise ValueError(f"expected a 1-D signal, got shape {x.shape}")
    n = len(x)
    if n == 0:
        return np.zeros(0)
    spectrum, step = _k_weighting_spectrum(sample_rate_hz)
    size = 2 * (len(spectrum) - 1)
    blocks = -(-n // step)
    padded = np.zeros(blocks * step)
    padded[:n] = x
    # One batched FFT over all blocks; a block's ringing (len(h) - 1 samples,
    # shorter than a block) spills into the next block only.
    y = np.fft.irfft(np.fft.rfft(padded.reshape(blocks, step), size, axis=1) * spectrum, size)
    out = y[:, :step].copy()
    spill = size - step
    out[1:, :spill] += y[:-1, step:]
    return out.reshape(-1)[:n]


@lru_cache(maxsize=16)
def _resampling_filter(up: int, down: int) -> np.ndarray:
    # scipy's default design: firwin(2 * half_len + 1, 1 / max_rate,
    # window=("kaiser", 5.0)), normalised to unit DC gain, times up.
    max_rate = max(up, down)
    half_len = _HALF_LEN_PER_RATE * max_rate
    cutoff = 1.0 / max_rate
    m = np.arange(2 * half_len + 1) - half_len
    h = cutoff * np.sinc(cutoff * m) * np.kaiser(2 * half_len + 1, _KAISER_BETA)
    h *= up / h.sum()
    h.flags.writeable = False
    return h


def resample_poly(x: np.ndarray, up: int, down: int) -> np.ndarray:
    """``x`` resampled by ``up / down`` like ``scipy.signal.resample_poly(x, up, down)``.

    Same Kaiser-windowed sinc filter, zero padding at the ends, output length
    ``ceil(len(x) * up / down)`` and zero phase, so output sample ``i`` sits
    at input time ``i * down / up``. Always float64.
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 1:
        raise ValueError(f"expected a 1-D signal, got shape {x.shape}")
    if up < 1 or down < 1:
        raise ValueError(f"up and down must be >= 1, got {up} and {down}")
    common = gcd(up, down)
    up, down = up // common, down // common
    if up == down == 1:
        return x.copy()
    if len(x) == 0:
        return np.zeros(0)
    h = _resampling_filter(up, down)
    if down == 1:
        return _upsampled(x, h, up)
    return _resampled(x, h, up, down)


def _upsampled(x: np.ndarray, h: np.ndarray, up: int) -> np.ndarray:
    out = np.empty((len(x), up))
    lo = 0
    for rows in _upsampled_rows(x, h, up):
        out[lo : lo + len(rows)] = rows
        lo += len(rows)
    return out.reshape(-1)


def upsampled_rows(x: np.ndarray, up: int) -> Iterator[np.ndarray]:
    """``resample_poly(x, up, 1)`` a few thousand input samples at a time, as
    rows of ``up`` outputs per input sample: the same values, without the
    whole ``up``-times-longer signal in memory at once."""
    x = np.asarray(x, dtype=np.float64)
    if up < 1:
        raise ValueError(f"up must be >= 1, got {up}")
    if up == 1:
        yield x.reshape(-1, 1).copy()
        return
    yield from _upsampled_rows(x, _resampling_filter(up, 1), up)


def _upsampled_rows(x: np.ndarray, h: np.ndarray, up: int) -> Iterator[np.ndarray]:
    # With down == 1 output j*up + r is sum_k h[r + k*up] x[j + half_len//up - k],
    # so one matrix product of sliding input windows by the filter's phases
    # (one column per r) yields the outputs in order: about three times
    # faster than a np.convolve per phase. Chunked to bound the window copies.
    taps = -(-len(h) // up)
    ahead = (len(h) - 1) // 2 // up
    phases = np.zeros(taps * up)
    phases[: len(h)] = h
    matrix = phases.reshape(taps, up)[::-1]
    padded = np.concatenate([np.zeros(taps - 1 - ahead), x, np.zeros(ahead)])
    windows = sliding_window_view(padded, taps)
    rows = max(1, _CHUNK_ELEMENTS // taps)
    for lo in range(0, len(x), rows):
        yield np.matmul(windows[lo : lo + rows], matrix)


def _resampled(x: np.ndarray, h: np.ndarray, up: int, down: int) -> np.ndarray:
    # Output i is sum_n x[n] h[t - n*up] with t = i*down + half_len: filter
    # phase t % up around input t // up. Outputs sharing a phase are up apart
    # and their inputs down apart, so each phase gathers only the windows it
    # needs rather than convolving everything (441 phases for 16 kHz).
    n_out = -(-len(x) * up // down)
    half_len = (len(h) - 1) // 2
    taps = -(-len(h) // up)
    padded = np.concatenate([np.zeros(taps - 1), x, np.zeros(taps)])
    out = np.empty(n_out)
    for first in range(min(up, n_out)):
        t = first * down + half_len
        kernel = h[t % up :: up]
        centres = t // up + taps - 1 + down * np.arange(len(range(first, n_out, up)))
        lags = np.arange(len(kernel))
        values = np.empty(len(centres))
        rows = max(1, _CHUNK_ELEMENTS // len(kernel))
        for lo in range(0, len(centres), rows):
            values[lo : lo + rows] = padded[centres[lo : lo + rows, None] - lags] @ kernel
        out[first::up] = values
    return out


def _reach_back(size: int) -> int:
    """How far a window of ``size`` reaches back; it reaches ``size - 1 -`` that forward."""
    if size < 1:
        raise ValueError(f"filter size must be >= 1, got {size}")
    # scipy.ndimage's centring with origin 0: an even window reaches one
    # sample further back than forward.
    return size // 2


def _edge_padded(x: np.ndarray, before: int, total: int) -> np.ndarray:
    """``x`` after ``before`` copies of its first sample, its last sample
    repeated up to ``total`` samples: scipy.ndimage's mode="nearest"."""
    out = np.empty(total, dtype=x.dtype)
    out[:before] = x[0]
    out[before : before + len(x)] = x
    out[before + len(x) :] = x[-1]
    return out


def _extreme_filter(x: np.ndarray, size: int, ufunc: np.ufunc) -> np.ndarray:
    before = _reach_back(size)
    x = np.asarray(x)
    if x.ndim != 1:
        raise ValueError(f"expected a 1-D signal, got shape {x.shape}")
    n = len(x)
    if n == 0 or size == 1:
        return x.copy()
    # van Herk / Gil-Werman: in blocks of `size`, the running extreme from
    # each block's start and the one back from each block's end; any window
    # is the tail of one block plus the head of the next. O(n) for any size.
    blocks = -(-(n + size - 1) // size)
    padded = _edge_padded(x, before, blocks * size).reshape(blocks, size)
    head = ufunc.accumulate(padded, axis=1).reshape(-1)
    tail = ufunc.accumulate(padded[:, ::-1], axis=1)[:, ::-1].reshape(-1)
    return np.asarray(ufunc(tail[:n], head[size - 1 : size - 1 + n]))


def minimum_filter1d(x: np.ndarray, size: int) -> np.ndarray:
    """``scipy.ndimage.minimum_filter1d(x, size, mode="nearest")`` for a 1-D ``x``."""
    return _extreme_filter(x, size, np.minimum)


def maximum_filter1d(x: np.ndarray, size: int) -> np.ndarray:
    """``scipy.ndimage.maximum_filter1d(x, size, mode="nearest")`` for a 1-D ``x``."""
    return _extreme_filter(x, size, np.maximum)


def uniform_filter1d(x: np.ndarray, size: int) -> np.ndarray:
    """``scipy.ndimage.uniform_filter1d(x, size, mode="nearest")`` for a 1-D ``x``; float64.

    A window of zeros averages to exactly 0.0, which scipy's running sum does not promise.
    """
    before = _reach_back(size)
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 1:
        raise ValueError(f"expected a 1-D signal, got shape {x.shape}")
    n = len(x)
    if n == 0 or size == 1:
        return x.copy()
    # Window sums from block-local running sums (as in the extreme filters)
    # rather than one long cumsum: rounding stays at the scale of one window,
    # however long the signal, and an all-zero window sums to exactly zero.
    blocks = -(-(n + size) // size)
    padded = _edge_padded(x, before, blocks * size).reshape(blocks, size)
    to_end = np.cumsum(padded[:, ::-1], axis=1)[:, ::-1].reshape(-1)
    earlier = np.zeros_like(padded)
    np.cumsum(padded[:, :-1], axis=1, out=earlier[:, 1:])
    sums = to_end[:n] + earlier.reshape(-1)[size : size + n]
    return sums / size
