from __future__ import annotations

import numpy as np
import pyloudnorm
import pytest
from scipy.signal import sosfreqz

from voiceguide.core.loudness import (
    SILENCE_DB,
    HopEnergies,
    clip_k_rms_db,
    envelope_peak_db,
    hop_samples,
    integrated_loudness,
    k_squared_cumsum,
    k_weighted,
    k_weighting_sos,
    limit_true_peak,
    limiter_gain,
    true_peak_dbtp,
    true_peak_envelope,
)

# ITU-R BS.1770-4 Table 1 and 2: the published K-weighting at 48 kHz.
ITU_SOS_48K = np.array(
    [
        [1.53512485958697, -2.69169618940638, 1.19839281085285],
        [1.0, -1.69065929318241, 0.73248077421585],
        [1.0, -2.0, 1.0],
        [1.0, -1.99004745483398, 0.99007225036621],
    ]
).reshape(2, 6)


def speech_like(rng: np.random.Generator, rate: int, seconds: float, level_db: float) -> np.ndarray:
    """Voiced buzz plus breath noise in syllable-rate bursts, faded in and out."""
    n = round(seconds * rate)
    t = np.arange(n) / rate
    f0 = 140.0 + 30.0 * np.sin(2 * np.pi * rng.uniform(0.5, 2.0) * t)
    phase = 2 * np.pi * np.cumsum(f0) / rate
    voiced = sum(np.sin(k * phase) / k for k in range(1, 20))
    syllables = np.clip(np.sin(2 * np.pi * rng.uniform(3, 5) * t + rng.uniform(0, 6)), 0, None)
    x = (voiced + 0.3 * rng.standard_normal(n)) * syllables**1.5
    ramp = np.minimum(1.0, np.minimum(np.arange(n), np.arange(n)[::-1]) / (0.01 * rate))
    x = x * ramp
    return np.asarray(x / np.sqrt(np.mean(x**2)) * 10 ** (level_db / 20))


def pyloudnorm_lufs(signal: np.ndarray, rate: int) -> float:
    return float(pyloudnorm.Meter(rate).integrated_loudness(signal))


def layout(
    rate: int, duration_s: float, placements: list[tuple[float, np.ndarray]]
) -> tuple[np.ndarray, HopEnergies]:
    """The full signal (for pyloudnorm) and the hop energies (ours) of one layout."""
    n = round(duration_s * rate)
    signal = np.zeros(n)
    hops = HopEnergies(n, rate)
    for start_s, clip in placements:
        start = round(start_s * rate)
        kept = clip[: n - start]
        signal[start : start + len(kept)] += kept
        hops.add_clip(start, clip)
    return signal, hops


# --- K-weighting -----------------------------------------------------------


def test_k_weighting_matches_pyloudnorm_coefficients() -> None:
    for rate in (16000, 22050, 44100, 48000):
        meter = pyloudnorm.Meter(rate)
        expected = np.array([np.concatenate([f.b, f.a]) for f in meter._filters.values()])
        assert np.allclose(k_weighting_sos(rate), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(
    ("freq_hz", "low_db", "high_db"),
    [(10, -30.0, -15.0), (38, -7.0, -5.0), (500, -0.3, 0.3), (1500, 1.5, 2.5), (10000, 3.8, 4.2)],
)
def test_k_weighting_magnitude_response(freq_hz: float, low_db: float, high_db: float) -> None:
    _, h = sosfreqz(k_weighting_sos(48000), worN=[freq_hz], fs=48000)
    assert low_db <= 20 * np.log10(abs(h[0])) <= high_db


def test_k_weighting_tracks_the_itu_published_filter() -> None:
    # The RBJ forms sit a near-constant 0.04 dB under the ITU's coefficients.
    freqs = np.geomspace(20, 20000, 200)
    _, ours = sosfreqz(k_weighting_sos(48000), worN=freqs, fs=48000)
    _, itu = sosfreqz(ITU_SOS_48K, worN=freqs, fs=48000)
    diff_db = 20 * np.log10(np.abs(ours)) - 20 * np.log10(np.abs(itu))
    assert np.max(np.abs(diff_db)) < 0.06


def test_k_weighted_returns_float64_of_same_length() -> None:
    x = np.ones(1000, dtype=np.float32)
    y = k_weighted(x, 48000)
    assert y.dtype == np.float64 and len(y) == 1000
    # A high pass: a constant decays away.
    assert abs(y[-1]) < 0.2


# --- levels ----------------------------------------------------------------


@pytest.mark.parametrize(("amplitude_dbfs", "expected_lufs"), [(0.0, -3.01), (-20.0, -23.01)])
def test_997_hz_sine_reads_its_bs1770_level(amplitude_dbfs: float, expected_lufs: float) -> None:
    # BS.1770: a 0 dBFS 997 Hz sine reads -3.01 LKFS. The RBJ filter reads
    # 0.04 LU low (as pyloudnorm does), within the 0.05 LU allowed here.
    rate = 48000
    t = np.arange(10 * rate) / rate
    x = 10 ** (amplitude_dbfs / 20) * np.sin(2 * np.pi * 997 * t)
    hops = HopEnergies(len(x), rate)
    hops.add_clip(0, x)
    assert integrated_loudness(hops, rate) == pytest.approx(expected_lufs, abs=0.05)
    assert clip_k_rms_db(x, rate) == pytest.approx(expected_lufs, abs=0.05)
    assert integrated_loudness(hops, rate) == pytest.approx(pyloudnorm_lufs(x, rate), abs=0.005)


def test_clip_level_of_silence_is_finite() -> None:
    assert clip_k_rms_db(np.zeros(4800), 48000) == SILENCE_DB
    assert clip_k_rms_db(np.zeros(0), 48000) == SILENCE_DB


def test_clip_level_follows_gain() -> None:
    x = speech_like(np.random.default_rng(3), 24000, 1.5, -20)
    assert clip_k_rms_db(0.5 * x, 24000) == pytest.approx(clip_k_rms_db(x, 24000) - 6.0206)


# --- integrated loudness vs pyloudnorm -------------------------------------


@pytest.mark.parametrize("rate", [22050, 24000, 44100, 48000])
def test_hop_aligned_clips_match_pyloudnorm(rate: int) -> None:
    rng = np.random.default_rng(rate)
    placements = [(0.5, speech_like(rng, rate, 2.0, -20)), (4.0, speech_like(rng, rate, 1.5, -24))]
    signal, hops = layout(rate, 8.0, placements)
    assert integrated_loudness(hops, rate) == pytest.approx(pyloudnorm_lufs(signal, rate), abs=0.1)


@pytest.mark.parametrize("seed", range(5))
def test_unaligned_clips_with_short_and_long_gaps_match_pyloudnorm(seed: int) -> None:
    rng = np.random.default_rng(seed)
    rate = 24000
    placements: list[tuple[float, np.ndarray]] = []
    start_s = rng.uniform(0.0, 0.37)
    while start_s < 25.0:
        clip = speech_like(rng, rate, rng.uniform(0.4, 3.0), rng.uniform(-35, -15))
        placements.append((start_s, clip))
        # Gaps down to 30 ms, so ringing tails run into the next clip.
        start_s += len(clip) / rate + rng.uniform(0.03, 4.0) + rng.uniform(0, 1e-3)
    signal, hops = layout(rate, 30.0 + rng.uniform(0, 0.1), placements)
    assert integrated_loudness(hops, rate) == pytest.approx(pyloudnorm_lufs(signal, rate), abs=0.1)


def test_relative_gate_drops_quiet_clips_like_pyloudnorm() -> None:
    rng = np.random.default_rng(11)
    rate = 24000
    loud = [(t, speech_like(rng, rate, 1.0, -18)) for t in (0.3, 3.3)]
    quiet = [(t, speech_like(rng, rate, 2.0, -45)) for t in (6.1, 9.7)]
    signal, hops = layout(rate, 13.0, loud + quiet)
    ours = integrated_loudness(hops, rate)
    assert ours == pytest.approx(pyloudnorm_lufs(signal, rate), abs=0.1)
    # Gating matters here: the quiet clips would drag an ungated mean down.
    _, loud_only = layout(rate, 13.0, loud)
    assert ours == pytest.approx(integrated_loudness(loud_only, rate), abs=0.2)


def test_long_session_with_long_silences_matches_pyloudnorm() -> None:
    rng = np.random.default_rng(7)
    rate = 16000
    phrases = [speech_like(rng, rate, rng.uniform(0.8, 3.0), -20) for _ in range(4)]
    n = 15 * 60 * rate
    signal = np.zeros(n)
    hops = HopEnergies(n, rate)
    start = 12345
    index = 0
    while start + 3 * rate < n:
        # The same few phrases recur, as in a real session, via the cache.
        clip = phrases[index % len(phrases)]
        signal[start : start + len(clip)] += clip
        hops.add_clip(start, clip, key=index % len(phrases))
        start += len(clip) + int(rng.integers(rate // 2, 60 * rate))
        index += 1
    assert index > 20
    assert integrated_loudness(hops, rate) == pytest.approx(pyloudnorm_lufs(signal, rate), abs=0.1)


# --- HopEnergies -----------------------------------------------------------


def test_hop_energy_total_equals_clip_energy_and_stays_local() -> None:
    rate = 48000
    n = 4 * 3600 * rate  # a four-hour session: only the hop array is this long
    hops = HopEnergies(n, rate)
    clip = speech_like(np.random.default_rng(5), rate, 1.3, -20)
    start = n - 10 * rate + 1234
    cumsum = k_squared_cumsum(clip, rate)
    hops.add(start, cumsum)
    assert len(hops.energies) == n // hop_samples(rate)
    assert hops.energies.sum() == pytest.approx(cumsum[-1], rel=1e-12)
    touched = np.flatnonzero(hops.energies)
    assert touched[0] == start // hop_samples(rate)
    assert touched[-1] <= (start + len(cumsum) - 1) // hop_samples(rate)


def test_hop_energies_equal_hop_sums_of_the_filtered_session() -> None:
    rate = 22050
    hop = hop_samples(rate)
    rng = np.random.default_rng(9)
    placements = [
        (0.0123, speech_like(rng, rate, 0.9, -20)),
        (2.34567, speech_like(rng, rate, 1.1, -25)),
    ]
    signal, hops = layout(rate, 5.0, placements)
    direct = (k_weighted(signal, rate) ** 2).reshape(-1, hop).sum(axis=1)
    assert np.allclose(hops.energies, direct, rtol=1e-9, atol=1e-12 * direct.max())


def test_clip_running_past_the_end_is_cut() -> None:
    rate = 24000
    clip = speech_like(np.random.default_rng(6), rate, 1.0, -20)
    hops = HopEnergies(rate, rate)
    hops.add_clip(rate // 2, clip)
    assert len(hops.energies) == 10
    assert hops.energies.sum() == pytest.approx(k_squared_cumsum(clip, rate)[rate // 2], rel=1e-12)


def test_cached_clip_adds_the_same_as_refiltering() -> None:
    rate = 24000
    clip = speech_like(np.random.default_rng(8), rate, 0.7, -20)
    fresh, cached = HopEnergies(20 * rate, rate), HopEnergies(20 * rate, rate)
    for start in (0, 12345, 5 * rate + 7, 19 * rate):
        fresh.add_clip(start, clip)
        cached.add_clip(start, clip, key="phrase-1")
    assert np.array_equal(fresh.energies, cached.energies)


def test_negative_start_is_rejected() -> None:
    hops = HopEnergies(48000, 48000)
    with pytest.raises(ValueError, match="before the session"):
        hops.add_clip(-1, np.ones(10))


def test_rate_mismatch_is_rejected() -> None:
    with pytest.raises(ValueError, match="not 24000 Hz"):
        integrated_loudness(HopEnergies(48000, 48000), 24000)


def test_silent_session_reads_silence() -> None:
    assert integrated_loudness(HopEnergies(10 * 48000, 48000), 48000) == SILENCE_DB
    assert integrated_loudness(np.zeros(0), 48000) == SILENCE_DB


# --- true peak and limiter -------------------------------------------------


def test_true_peak_sees_intersample_peaks() -> None:
    rate = 48000
    t = np.arange(rate) / rate
    # A quarter-rate sine sampled 45 degrees off its crests: samples peak at
    # -3 dBFS while the waveform reaches 0 dBFS.
    x = np.sin(2 * np.pi * (rate / 4) * t + np.pi / 4)
    assert 20 * np.log10(np.max(np.abs(x))) == pytest.approx(-3.01, abs=0.01)
    assert true_peak_dbtp(x[1000:-1000], rate) == pytest.approx(0.0, abs=0.3)
    assert true_peak_dbtp(np.zeros(100), rate) == SILENCE_DB


def loud_clip(rate: int = 48000) -> np.ndarray:
    x = speech_like(np.random.default_rng(2), rate, 2.0, -12)
    return (x / np.max(np.abs(x)) * 10 ** (6 / 20)).astype(np.float32)


@pytest.mark.parametrize("ceiling_dbtp", [-1.0, -3.0])
def test_limiter_brings_a_hot_clip_under_the_ceiling(ceiling_dbtp: float) -> None:
    rate = 48000
    x = loud_clip(rate)
    assert true_peak_dbtp(x, rate) > 5.9
    y = limit_true_peak(x, rate, ceiling_dbtp)
    assert y.dtype == x.dtype and y.shape == x.shape
    assert true_peak_dbtp(y, rate) <= ceiling_dbtp + 0.05
    assert np.all(np.abs(y) <= np.abs(x))


def test_limiter_leaves_a_quiet_clip_bit_identical() -> None:
    x = (0.2 * loud_clip()).astype(np.float32)
    y = limit_true_peak(x, 48000, -1.0)
    assert np.array_equal(y, x)
    assert y is not x


def test_limiter_touches_only_the_neighbourhood_of_peaks() -> None:
    rate = 48000
    quiet = speech_like(np.random.default_rng(4), rate, 1.0, -30)
    burst = np.zeros(rate)
    burst[rate // 2 - 240 : rate // 2 + 240] = 1.5 * np.hanning(480)
    x = quiet + burst
    y = limit_true_peak(x, rate, -1.0)
    changed = np.flatnonzero(y != x)
    # Changes stay within the burst plus the hold and smoothing reach.
    from voiceguide.core.loudness import _LIMITER_RADIUS_S

    reach = round(1.5 * _LIMITER_RADIUS_S * rate) + 2
    assert changed.min() > rate // 2 - 240 - reach
    assert changed.max() < rate // 2 + 240 + reach
    assert changed.max() - changed.min() < 480 + 2 * reach


def test_limiter_adds_no_clicks() -> None:
    rate = 48000
    x = loud_clip(rate).astype(np.float64)
    y = limit_true_peak(x, rate, -1.0)
    assert np.max(np.abs(np.diff(y))) <= np.max(np.abs(np.diff(x)))
    # The applied gain moves slowly: at most ~1 dB per millisecond.
    where = np.abs(x) > 1e-3
    gain = y[where] / x[where]
    step = np.abs(np.diff(gain)) / np.diff(np.flatnonzero(where))
    assert np.max(step) < 0.01
    assert np.all(gain <= 1.0)


def test_limiter_with_a_given_envelope_and_scale_equals_limiting_the_scaled_clip() -> None:
    rate = 48000
    x = (0.3 * loud_clip(rate)).astype(np.float64)
    envelope = true_peak_envelope(x)
    for scale in (0.5, 2.0, 4.0):
        given = limit_true_peak(x, rate, -1.0, envelope=envelope, scale=scale)
        direct = limit_true_peak(x * scale, rate, -1.0)
        np.testing.assert_allclose(given, direct, rtol=1e-9, atol=1e-12)
        assert true_peak_dbtp(given, rate) <= -1.0 + 0.05


def test_true_peak_envelope_scales_with_the_signal() -> None:
    x = loud_clip()
    np.testing.assert_allclose(true_peak_envelope(3.0 * x), 3.0 * true_peak_envelope(x), rtol=1e-6)
    assert envelope_peak_db(true_peak_envelope(x)) == pytest.approx(true_peak_dbtp(x, 48000))


def test_limiter_gain_is_none_under_the_ceiling_and_below_one_at_peaks() -> None:
    rate = 48000
    x = loud_clip(rate)
    envelope = true_peak_envelope(x)
    assert limiter_gain(envelope, rate, -1.0, scale=0.2) is None
    gain = limiter_gain(envelope, rate, -1.0)
    assert gain is not None and gain.shape == x.shape
    assert np.all(gain <= 1.0)
    peak = int(np.argmax(envelope))
    assert gain[peak] * envelope[peak] <= 10 ** (-1.0 / 20) + 1e-9
