"""voiceguide.core.dsp against the scipy functions it stands in for."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from scipy import ndimage, signal

from voiceguide.core import dsp

RATES = [16000, 22050, 44100, 48000]


def speech_like(rng: np.random.Generator, n: int, rate: int = 22050) -> np.ndarray:
    t = np.arange(n) / rate
    voiced = sum(np.sin(2 * np.pi * 140 * k * t) / k for k in range(1, 20))
    bursts = np.clip(np.sin(2 * np.pi * 4 * t), 0, None) ** 1.5
    return np.asarray(0.3 * (voiced + 0.3 * rng.standard_normal(n)) * bursts)


# --- K-weighting ---------------------------------------------------------------


@pytest.mark.parametrize("rate", RATES)
def test_k_weighting_impulse_is_sosfilts_impulse_response_until_it_dies_away(rate: int) -> None:
    h = dsp.k_weighting_impulse(rate)
    impulse = np.zeros(len(h) + rate // 2)
    impulse[0] = 1.0
    reference = signal.sosfilt(dsp.k_weighting_sos(rate), impulse)
    np.testing.assert_allclose(h, reference[: len(h)], rtol=0, atol=1e-13)
    peak = np.max(np.abs(h))
    assert np.max(np.abs(reference[len(h) :])) < 1e-10 * peak
    # The 38 Hz high pass rings for about 100 ms at any rate.
    assert 0.05 < len(h) / rate < 0.2


def test_k_weighting_impulse_is_cached_and_read_only() -> None:
    h = dsp.k_weighting_impulse(44100)
    assert dsp.k_weighting_impulse(44100) is h
    with pytest.raises(ValueError):
        h[0] = 0.0


@pytest.mark.parametrize("rate", RATES)
@pytest.mark.parametrize("n", [0, 1, 2, 17, 1000, 5000, 30000, 123457])
def test_k_weighted_matches_sosfilt(rate: int, n: int) -> None:
    rng = np.random.default_rng(n)
    x = speech_like(rng, n, rate) + 0.1 * rng.standard_normal(n)
    ours = dsp.k_weighted(x, rate)
    assert ours.dtype == np.float64 and len(ours) == n
    if n:
        np.testing.assert_allclose(ours, signal.sosfilt(dsp.k_weighting_sos(rate), x), atol=1e-8)


def test_k_weighted_matches_sosfilt_on_a_full_scale_step() -> None:
    # The slowest case for a truncated impulse: a constant feeds every tap.
    x = np.concatenate([np.zeros(100), np.ones(200000)])
    reference = signal.sosfilt(dsp.k_weighting_sos(48000), x)
    np.testing.assert_allclose(dsp.k_weighted(x, 48000), reference, atol=1e-8)


def test_k_weighted_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="1-D"):
        dsp.k_weighted(np.zeros((2, 100)), 48000)
    with pytest.raises(ValueError, match="sample rate"):
        dsp.k_weighted(np.zeros(100), 0)


# --- resample_poly -------------------------------------------------------------


RESAMPLING_RATIOS = [(2, 1), (4, 1), (3, 1), (1, 2), (1, 3), (3, 2), (2, 3), (6, 4), (5, 5)]
# 16000, 48000, 44100 and 24000 Hz to 44100 and back; 8000 Hz to 44100.
RESAMPLING_RATIOS += [(441, 160), (147, 160), (160, 147), (147, 80), (441, 80)]


@pytest.mark.parametrize(("up", "down"), RESAMPLING_RATIOS)
@pytest.mark.parametrize("n", [0, 1, 2, 5, 40, 1001, 22050])
def test_resample_poly_matches_scipy(up: int, down: int, n: int) -> None:
    x = speech_like(np.random.default_rng(n), n)
    ours = dsp.resample_poly(x, up, down)
    reference = signal.resample_poly(x, up, down)
    assert ours.shape == reference.shape and ours.dtype == np.float64
    np.testing.assert_allclose(ours, reference, rtol=0, atol=1e-10)


def test_resample_poly_accepts_float32_and_returns_float64() -> None:
    x = speech_like(np.random.default_rng(1), 5000).astype(np.float32)
    ours = dsp.resample_poly(x, 2, 1)
    assert ours.dtype == np.float64
    np.testing.assert_allclose(ours, signal.resample_poly(x.astype(np.float64), 2, 1), atol=1e-10)


def test_resample_poly_is_zero_phase() -> None:
    x = np.zeros(201)
    x[100] = 1.0
    y = dsp.resample_poly(x, 4, 1)
    assert int(np.argmax(y)) == 400
    np.testing.assert_allclose(y[400:801], y[400::-1], rtol=0, atol=1e-15)


def test_resample_poly_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match=">= 1"):
        dsp.resample_poly(np.zeros(10), 0, 1)
    with pytest.raises(ValueError, match="1-D"):
        dsp.resample_poly(np.zeros((2, 10)), 2, 1)


# --- minimum, maximum and uniform filters --------------------------------------

FILTER_SIZES = [1, 2, 3, 4, 5, 8, 9, 41, 882, 883]
FILTER_LENGTHS = [0, 1, 2, 3, 7, 40, 881, 882, 883, 5000]


def filter_input(n: int) -> np.ndarray:
    rng = np.random.default_rng(n)
    x = rng.standard_normal(n)
    x[rng.random(n) < 0.3] = 0.0  # runs of ties, as in a limiter's gain
    return x


@pytest.mark.parametrize("size", FILTER_SIZES)
@pytest.mark.parametrize("n", FILTER_LENGTHS)
def test_extreme_filters_equal_scipy(size: int, n: int) -> None:
    x = filter_input(n)
    for ours, theirs in [
        (dsp.minimum_filter1d, ndimage.minimum_filter1d),
        (dsp.maximum_filter1d, ndimage.maximum_filter1d),
    ]:
        result = ours(x, size)
        assert np.array_equal(result, theirs(x, size, mode="nearest"))
        assert result.dtype == x.dtype


def test_extreme_filters_keep_integer_dtypes() -> None:
    x = np.array([3, 1, 4, 1, 5, 9, 2, 6], dtype=np.int16)
    assert np.array_equal(
        dsp.maximum_filter1d(x, 3), ndimage.maximum_filter1d(x, 3, mode="nearest")
    )
    assert dsp.maximum_filter1d(x, 3).dtype == np.int16


@pytest.mark.parametrize("size", FILTER_SIZES)
@pytest.mark.parametrize("n", FILTER_LENGTHS)
def test_uniform_filter_matches_scipy(size: int, n: int) -> None:
    x = filter_input(n)
    result = dsp.uniform_filter1d(x, size)
    reference = ndimage.uniform_filter1d(x, size, mode="nearest")
    assert result.shape == reference.shape and result.dtype == np.float64
    np.testing.assert_allclose(result, reference, rtol=0, atol=1e-12)


def test_uniform_filter_is_exact_over_long_signals_and_zero_runs() -> None:
    rng = np.random.default_rng(3)
    x = np.zeros(400000)
    for start in rng.integers(0, len(x) - 1000, 50):
        x[start : start + 1000] = rng.uniform(0.0, 1.0, 1000)
    size = 441
    result = dsp.uniform_filter1d(x, size)
    np.testing.assert_allclose(
        result, ndimage.uniform_filter1d(x, size, mode="nearest"), rtol=0, atol=1e-12
    )
    silent = ndimage.maximum_filter1d(x, size, mode="nearest") == 0.0
    assert silent.any() and np.all(result[silent] == 0.0)
    assert np.all(result[~silent] > 0.0)


@pytest.mark.parametrize(
    "function", [dsp.minimum_filter1d, dsp.maximum_filter1d, dsp.uniform_filter1d]
)
def test_filters_reject_bad_input(function: object) -> None:
    assert callable(function)
    with pytest.raises(ValueError, match="size"):
        function(np.zeros(10), 0)
    with pytest.raises(ValueError, match="1-D"):
        function(np.zeros((2, 10)), 3)


# --- no scipy at run time ----------------------------------------------------------


def test_the_pipeline_does_not_import_scipy() -> None:
    # scipy.signal alone costs ~74 MB of resident memory.
    code = (
        "import json, sys, voiceguide.pipeline, voiceguide.cli;"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] == 'scipy')))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert json.loads(done.stdout) == []
