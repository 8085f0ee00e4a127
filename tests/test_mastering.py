"""Mastering: the cheap block estimate that guides the search, and what the search returns."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from voiceguide import pipeline
from voiceguide.core import mastering
from voiceguide.core.loudness import (
    HopEnergies,
    block_limiter_gain,
    block_sums,
    integrated_loudness,
    k_squared_cumsum,
    limiter_gain,
    true_peak_envelope,
)
from voiceguide.core.mastering import _MAX_LIMITING_DB, CEILING_DBTP, _Clips, master
from voiceguide.core.render import render_all
from voiceguide.core.script import parse_script

ROOT = Path(__file__).resolve().parent.parent
RATE = 44100
OPTIONS = pipeline.VoiceOptions(engine="test", use_cache=False)


@pytest.fixture(scope="module")
def prepared() -> pipeline.Prepared:
    session = parse_script((ROOT / "scripts/back-spasm-relief.yaml").read_bytes(), "seed.yaml")
    return pipeline.prepare_session(pipeline.with_voice_options(session, OPTIONS), OPTIONS)


def test_block_sums_reduce_each_block_and_pad_the_last_with_zeros() -> None:
    x = np.arange(1.0, 11.0)
    assert block_sums(x, 4).tolist() == [10.0, 26.0, 19.0]
    assert block_sums(-x, 4, np.maximum).tolist() == [-1.0, -5.0, 0.0]
    assert block_sums(np.zeros(0), 4).size == 0


@pytest.mark.parametrize("step", [1, 64])
def test_block_cumsum_puts_energy_in_the_hops_of_the_samples(step: int) -> None:
    rng = np.random.default_rng(3)
    clip = rng.standard_normal(RATE) * 0.1
    exact = HopEnergies(RATE * 3, RATE)
    exact.add(12345, k_squared_cumsum(clip, RATE))
    blocks = HopEnergies(RATE * 3, RATE)
    energy = np.diff(k_squared_cumsum(clip, RATE))
    blocks.add(12345, np.concatenate([[0.0], np.cumsum(block_sums(energy, step))]), step)
    assert blocks.energies.sum() == pytest.approx(exact.energies.sum(), rel=1e-12)
    # Only the half block at each hop edge can land in the neighbouring hop.
    worst = np.abs(blocks.energies - exact.energies).max()
    assert worst <= (0.0 if step == 1 else step * energy.max())


def test_block_limiter_gain_follows_the_per_sample_limiter() -> None:
    rng = np.random.default_rng(5)
    clip = rng.standard_normal(RATE) * 0.05
    clip[20000:20100] *= 12  # a burst well over the ceiling
    envelope = true_peak_envelope(clip)
    fine = limiter_gain(envelope, RATE, -6.0, 1.0)
    assert fine is not None
    coarse = block_limiter_gain(block_sums(envelope, 64, np.maximum), 10 ** (-6 / 20), RATE, 64)
    assert coarse is not None
    whole = len(fine) // 64  # blocks with no zero padding
    fine_low = block_sums(fine, 64, np.minimum)[:whole]
    fine_high = block_sums(fine, 64, np.maximum)[:whole]
    # Coarse peaks are block maxima, so the coarse gain never lets more through,
    # and it differs only around the burst.
    assert np.all(coarse[:whole] <= fine_high + 1e-12)
    assert np.abs(coarse[:whole] - fine_low).max() < 0.2
    assert np.all(coarse[:250] == 1.0) and np.all(coarse[400:] == 1.0)
    assert block_limiter_gain(np.full(10, 0.1), 0.5, RATE, 64) is None


@pytest.mark.parametrize("gain_db", [0.0, 6.0, 12.0, 18.0])
def test_the_block_estimate_is_within_a_quarter_lu_of_the_exact_loudness(
    prepared: pipeline.Prepared, gain_db: float
) -> None:
    with ThreadPoolExecutor(1) as pool:
        clips = _Clips(prepared.timeline, prepared.speech, prepared.tones, CEILING_DBTP, pool, 1)
        estimate, slope = clips.estimate(gain_db)
        _, exact = clips.exact(gain_db)
    assert abs(estimate - exact) < 0.25
    assert 0.0 < slope <= 1.0


def test_the_loudness_reported_is_that_of_the_clips_returned(prepared: pipeline.Prepared) -> None:
    mastered = pipeline.mastered(prepared)
    energies = HopEnergies(prepared.timeline.duration_samples, RATE)
    for event in prepared.timeline.sounds():
        energies.add_clip(event.start_sample, mastered.clip_for(event))
    assert integrated_loudness(energies, RATE) == pytest.approx(mastered.loudness_lufs, abs=1e-9)


def test_the_result_does_not_depend_on_the_number_of_workers(prepared: pipeline.Prepared) -> None:
    one = master(prepared.timeline, prepared.speech, prepared.tones, workers=1)
    three = master(prepared.timeline, prepared.speech, prepared.tones, workers=3)
    assert one.loudness_lufs == three.loudness_lufs and one.gain_db == three.gain_db
    assert one.clips.keys() == three.clips.keys()
    assert all(np.array_equal(one.clips[k], three.clips[k]) for k in one.clips)


def test_a_target_only_a_crushing_limiter_could_reach_is_missed_quieter(
    prepared: pipeline.Prepared,
) -> None:
    with ThreadPoolExecutor(1) as pool:
        clips = _Clips(prepared.timeline, prepared.speech, prepared.tones, CEILING_DBTP, pool, 1)
        unlimited, _ = clips.estimate(0.0, limited=False)
    # Louder than these sounds can be under the ceiling at any gain.
    mastered = master(prepared.timeline, prepared.speech, prepared.tones, target_lufs=-6.0)
    assert mastered.loudness_lufs < -6.5
    assert mastered.gain_db == pytest.approx(-6.0 - unlimited + _MAX_LIMITING_DB)
    for clip in mastered.clips.values():
        assert 20 * np.log10(true_peak_envelope(clip).max()) <= CEILING_DBTP + 0.06


def test_a_biased_estimate_is_corrected_by_the_exact_pass(
    prepared: pipeline.Prepared, monkeypatch: pytest.MonkeyPatch
) -> None:
    honest = _Clips.estimate
    exact_passes = []

    def biased(self: _Clips, gain_db: float, limited: bool = True) -> tuple[float, float]:
        loudness, slope = honest(self, gain_db, limited)
        return loudness + 0.6, slope  # as if the blocks read 0.6 LU loud

    def counted(self: _Clips, gain_db: float) -> tuple[dict, float]:
        exact_passes.append(gain_db)
        return honest_exact(self, gain_db)

    honest_exact = _Clips.exact
    monkeypatch.setattr(_Clips, "estimate", biased)
    monkeypatch.setattr(_Clips, "exact", counted)
    mastered = master(prepared.timeline, prepared.speech, prepared.tones)
    assert abs(mastered.loudness_lufs - (-16.0)) <= 0.1
    assert len(exact_passes) == 2  # the first pass misses by the bias; the second does not


def test_clips_past_the_budget_are_made_again_sample_for_sample(
    prepared: pipeline.Prepared, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A long script's final clips do not all stay in memory: those made again
    # when the render reaches them must be the ones the exact pass measured.
    whole = master(prepared.timeline, prepared.speech, prepared.tones, analyses=prepared.analyses)
    monkeypatch.setattr(mastering, "RETAIN_BYTES", 200_000)
    lean = master(prepared.timeline, prepared.speech, prepared.tones, workers=2)
    assert isinstance(lean.clips, mastering.FinalClips)
    assert len(lean.clips._kept) < len(lean.clips)  # some really are made again
    assert (lean.gain_db, lean.loudness_lufs) == (whole.gain_db, whole.loudness_lufs)
    for key in whole.clips:
        assert np.array_equal(lean.clips[key], whole.clips[key]), key
    assert render_all(prepared.timeline, lean).tobytes() == (
        render_all(prepared.timeline, whole).tobytes()
    )


def test_final_clips_are_shared_safely_between_threads() -> None:
    made: list[tuple[str, str]] = []
    source = {
        key: np.full(10 + len(key[1]), 0.25, dtype=np.float32)
        for key in [("speech", t) for t in "abcdefgh"]
    }

    def make(key: tuple[str, str]) -> np.ndarray:
        made.append(key)
        return source[key] * 2

    clips = mastering.FinalClips(list(source), {}, make, recent_bytes=100)
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda key: clips[key], list(source) * 20))
    assert all(
        np.array_equal(r, source[k] * 2) for r, k in zip(results, list(source) * 20, strict=True)
    )
    assert ("speech", "z") not in clips
    with pytest.raises(KeyError):
        clips[("speech", "z")]
    assert len(clips) == 8 and list(clips) == list(source)
