from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy.signal import stft

from voiceguide.core.cues import CUE_LEVEL_DB, CUE_NAMES, cue_length_samples, cue_samples

RATES = (22050, 24000, 44100, 48000)
RATE = 24000


def spectrogram_shape(x: np.ndarray, rate: int, frames: int = 16) -> np.ndarray:
    """Magnitude spectrogram stretched to ``frames`` columns, unit Frobenius norm.

    Stretching the time axis compares cues by shape, not by length, so two cues
    only pass the distinctness test if they differ in pitch or its movement.
    """
    _, _, z = stft(x, fs=rate, nperseg=1024, noverlap=768, boundary=None, padded=True)
    mag = np.abs(z)
    cols = np.linspace(0, mag.shape[1] - 1, frames)
    stretched = np.stack([np.interp(cols, np.arange(mag.shape[1]), row) for row in mag])
    return stretched / np.linalg.norm(stretched)


def shape_distance(a: np.ndarray, b: np.ndarray, rate: int) -> float:
    return float(np.linalg.norm(spectrogram_shape(a, rate) - spectrogram_shape(b, rate)))


def dominant_frequencies(x: np.ndarray, rate: int) -> np.ndarray:
    """Strongest STFT bin per frame, over frames carrying real energy."""
    f, _, z = stft(x, fs=rate, nperseg=2048, noverlap=2048 - 256)
    mag = np.abs(z)
    energy = mag.max(axis=0)
    loud = energy > 0.2 * energy.max()
    return f[np.argmax(mag, axis=0)][loud]


@pytest.mark.parametrize("rate", RATES)
@pytest.mark.parametrize("name", CUE_NAMES)
def test_cue_is_clean_float32_of_declared_length(name: str, rate: int) -> None:
    x = cue_samples(name, rate)
    assert x.dtype == np.float32
    assert x.ndim == 1
    assert len(x) == cue_length_samples(name, rate)
    assert np.all(np.isfinite(x))
    peak = float(np.max(np.abs(x)))
    assert 0.4 <= peak < 1.0
    assert abs(x[0]) < 1e-3 and abs(x[-1]) < 1e-3
    # Both ends ramp from silence (even the tick's fast attack takes 2 ms), so the
    # first and last quarter millisecond stay quiet: no click at either end.
    edge = rate // 4000
    assert np.max(np.abs(x[:edge])) < 0.05
    assert np.max(np.abs(x[-edge:])) < 0.05


@pytest.mark.parametrize(
    ("name", "low_s", "high_s"),
    [
        ("inhale", 0.4, 0.6),
        ("exhale", 0.8, 1.0),
        ("hold", 0.4, 0.6),
        ("end_of_hold", 0.35, 0.5),  # the countdown "1" and a guard must fit before it
        ("switch_sides", 0.7, 0.9),
        ("chime", 1.2, 1.8),
        ("bell", 2.0, 3.0),
        ("tick", 0.04, 0.06),
    ],
)
def test_cue_durations_fit_the_design(name: str, low_s: float, high_s: float) -> None:
    assert low_s <= cue_length_samples(name, RATE) / RATE <= high_s


@pytest.mark.parametrize("name", CUE_NAMES)
def test_cue_is_deterministic(name: str) -> None:
    assert np.array_equal(cue_samples(name, RATE), cue_samples(name, RATE))


@pytest.mark.parametrize("name", CUE_NAMES)
def test_cue_has_no_broadband_click_energy(name: str) -> None:
    # Clicks and square edges spray energy far above the partials (all < 5 kHz).
    rate = 48000
    x = cue_samples(name, rate).astype(np.float64)
    spectrum = np.abs(np.fft.rfft(x)) ** 2
    freqs = np.fft.rfftfreq(len(x), 1 / rate)
    assert spectrum[freqs > 8000].sum() < 1e-5 * spectrum.sum()


@pytest.mark.parametrize(("a", "b"), list(itertools.combinations(CUE_NAMES, 2)))
def test_every_pair_of_cues_differs_in_spectral_shape(a: str, b: str) -> None:
    # Identical shapes give 0; disjoint spectra give sqrt(2). Measured pairs sit
    # above 1.0, so 0.6 leaves room for tuning without letting near-twins pass.
    assert shape_distance(cue_samples(a, RATE), cue_samples(b, RATE), RATE) > 0.6


def test_shape_distance_does_not_separate_a_cue_from_its_scaled_copy() -> None:
    # Guards the metric: if it were blind, the pair test above could never fail.
    x = cue_samples("inhale", RATE)
    assert shape_distance(x, 0.3 * x, RATE) < 1e-6
    assert shape_distance(x, cue_samples("exhale", RATE), RATE) > 0.6


def test_inhale_rises_and_exhale_falls() -> None:
    rising = dominant_frequencies(cue_samples("inhale", RATE), RATE)
    falling = dominant_frequencies(cue_samples("exhale", RATE), RATE)
    assert rising[-1] > 1.3 * rising[0]
    assert falling[0] > 1.3 * falling[-1]
    assert np.all(np.diff(rising) >= 0)
    assert np.all(np.diff(falling) <= 0)


def test_hold_keeps_a_steady_middle_pitch() -> None:
    pitch = dominant_frequencies(cue_samples("hold", RATE), RATE)
    assert np.ptp(pitch) <= 25.0
    inhale = dominant_frequencies(cue_samples("inhale", RATE), RATE)
    assert inhale.min() < np.median(pitch) < inhale.max()


def test_end_of_hold_descends() -> None:
    pitch = dominant_frequencies(cue_samples("end_of_hold", RATE), RATE)
    assert pitch[0] > 1.3 * pitch[-1]


def test_switch_sides_goes_up_then_back_down() -> None:
    pitch = dominant_frequencies(cue_samples("switch_sides", RATE), RATE)
    top = int(np.argmax(pitch))
    assert 0 < top < len(pitch) - 1
    assert pitch[top] > 1.3 * pitch[0] and pitch[top] > 1.3 * pitch[-1]


def test_chime_is_brighter_than_bell_and_bell_rings_longer() -> None:
    def centroid(x: np.ndarray) -> float:
        mag = np.abs(np.fft.rfft(x))
        freqs = np.fft.rfftfreq(len(x), 1 / RATE)
        return float((freqs * mag).sum() / mag.sum())

    chime = cue_samples("chime", RATE).astype(np.float64)
    bell = cue_samples("bell", RATE).astype(np.float64)
    assert centroid(chime) > 2 * centroid(bell)
    assert len(bell) > len(chime)


def test_bell_partials_are_inharmonic() -> None:
    x = cue_samples("bell", RATE).astype(np.float64)
    mag = np.abs(np.fft.rfft(x))
    freqs = np.fft.rfftfreq(len(x), 1 / RATE)
    # The tierce (minor third above the prime) is what makes a bell not a chord of
    # harmonics; a harmonic tone has nothing between 250 and 300 Hz above 220 Hz.
    tierce = mag[(freqs > 250) & (freqs < 275)].max()
    assert tierce > 0.2 * mag.max()


def test_tick_is_short_and_dies_away() -> None:
    x = cue_samples("tick", RATE).astype(np.float64)
    half = len(x) // 2
    assert np.sum(x[half:] ** 2) < 0.05 * np.sum(x[:half] ** 2)


@pytest.mark.parametrize("bad", ["", "Inhale", "gong"])
def test_unknown_cue_is_rejected(bad: str) -> None:
    with pytest.raises(ValueError, match="unknown cue"):
        cue_samples(bad, RATE)
    with pytest.raises(ValueError, match="unknown cue"):
        cue_length_samples(bad, RATE)


@pytest.mark.parametrize("rate", [0, -48000, 1000])
def test_unusable_sample_rate_is_rejected(rate: int) -> None:
    with pytest.raises(ValueError, match="sample rate"):
        cue_samples("tick", rate)


def test_every_cue_has_a_level_below_speech() -> None:
    assert set(CUE_LEVEL_DB) == set(CUE_NAMES)
    assert all(-20.0 <= level < 0.0 for level in CUE_LEVEL_DB.values())


@pytest.mark.parametrize("name", CUE_NAMES)
def test_every_cue_sounds_from_its_first_to_its_last_millisecond(name: str) -> None:
    samples = cue_samples(name, 44100)
    sounding = np.flatnonzero(np.abs(samples) > 1e-6)
    assert sounding[0] <= 44 and sounding[-1] >= len(samples) - 45


def test_the_acknowledgement_is_unlike_every_cue() -> None:
    """The blip that answers a spoken command differs from every cue in length
    by at least 0.1 s (the tick lasts 0.05 s, every other cue 0.4 s or more),
    and rises: its second half is higher than its first."""
    from voiceguide.core.cues import acknowledgement

    rate = 44100
    blip = acknowledgement(rate)
    assert 0 < float(np.max(np.abs(blip))) <= 0.5
    for name in CUE_NAMES:
        assert abs(len(cue_samples(name, rate)) - len(blip)) / rate >= 0.1, name

    def peak_hz(samples: np.ndarray) -> float:
        spectrum = np.abs(np.fft.rfft(samples))
        return float(np.fft.rfftfreq(len(samples), 1 / rate)[np.argmax(spectrum)])

    half = len(blip) // 2
    assert peak_hz(blip[half:]) > 1.2 * peak_hz(blip[:half])
