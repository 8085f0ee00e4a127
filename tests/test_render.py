"""Rendering: clips land on their planned samples, in any chunking, at the loudness target."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyloudnorm
import pytest
from scipy.signal import resample_poly

from voiceguide import pipeline
from voiceguide.core.mastering import CEILING_DBTP, TARGET_LUFS, master
from voiceguide.core.render import render_all, render_chunks
from voiceguide.core.script import parse_script

ROOT = Path(__file__).resolve().parent.parent
OPTIONS = pipeline.VoiceOptions(engine="test", use_cache=False)


@pytest.fixture(scope="module")
def prepared() -> pipeline.Prepared:
    session = parse_script((ROOT / "scripts/back-spasm-relief.yaml").read_bytes(), "seed.yaml")
    return pipeline.prepare_session(pipeline.with_voice_options(session, OPTIONS), OPTIONS)


@pytest.mark.parametrize("chunk", [1000, 4410, 65536, 1 << 20])
def test_chunking_does_not_change_the_audio(prepared: pipeline.Prepared, chunk: int) -> None:
    mastered = pipeline.mastered(prepared)
    whole = render_all(prepared.timeline, mastered)
    pieces = list(render_chunks(prepared.timeline, mastered, chunk))
    assert all(len(p) == chunk for p in pieces[:-1])
    assert np.array_equal(np.concatenate(pieces), whole)


def test_every_sound_is_its_clip_at_its_planned_sample(prepared: pipeline.Prepared) -> None:
    mastered = pipeline.mastered(prepared)
    audio = render_all(prepared.timeline, mastered)
    for event in prepared.timeline.sounds():
        clip = mastered.clip_for(event)
        assert np.array_equal(audio[event.start_sample : event.end_sample], clip)


@pytest.mark.parametrize("target_lufs", [TARGET_LUFS, -23.0, -12.0])
def test_loudness_and_true_peak_targets(prepared: pipeline.Prepared, target_lufs: float) -> None:
    mastered = master(prepared.timeline, prepared.speech, prepared.tones, target_lufs=target_lufs)
    audio = render_all(prepared.timeline, mastered).astype(np.float64)
    measured = pyloudnorm.Meter(44100).integrated_loudness(audio)
    assert abs(measured - target_lufs) <= 0.2
    assert abs(mastered.loudness_lufs - measured) <= 0.1
    peak_db = 20 * np.log10(np.max(np.abs(resample_poly(audio, 4, 1))))
    assert peak_db <= CEILING_DBTP + 0.1


def test_every_spoken_phrase_is_levelled_alike(prepared: pipeline.Prepared) -> None:
    from voiceguide.core.loudness import clip_k_rms_db

    mastered = pipeline.mastered(prepared)
    levels = [
        clip_k_rms_db(c, 44100) for (kind, _), c in mastered.clips.items() if kind == "speech"
    ]
    assert max(levels) - min(levels) < 3.0  # only the limiter moves a phrase off the common level
