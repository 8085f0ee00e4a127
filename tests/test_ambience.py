"""Ambience: seamless beds, ducking from the timeline, the mix's loudness, stems."""

from __future__ import annotations

from pathlib import Path

import miniaudio
import numpy as np
import pyloudnorm
import pytest
import soundfile

from voiceguide import pipeline
from voiceguide.core.ambience import Bed, Ducking, generated_loop, seamless_loop
from voiceguide.core.loudness import clip_k_rms_db, true_peak_dbtp
from voiceguide.errors import ScriptError, UsageError
from voiceguide.outputs.session_files import ExportRequest

ROOT = Path(__file__).resolve().parent.parent
RATE = 44100
SOUNDS = ("brown-noise", "rain", "ocean", "drone")


def _script(folder: Path, ambience: str) -> Path:
    text = (ROOT / "scripts/espalda-suave.yaml").read_text(encoding="utf-8")
    path = folder / "amb.yaml"
    path.write_text(text.replace("pronounce:", f"ambience: {ambience}\npronounce:", 1))
    return path


@pytest.mark.parametrize("sound", SOUNDS)
def test_generated_beds_loop_without_a_seam(sound: str) -> None:
    loop = generated_loop(sound, RATE).astype(np.float64)
    steps = np.abs(np.diff(loop))
    seam = abs(loop[0] - loop[-1])
    assert seam <= np.max(steps) * 1.001
    assert np.max(np.abs(loop)) <= 5.0 + 1e-6  # crest tamed: no stray spikes


def test_a_file_is_crossfaded_into_a_seamless_loop() -> None:
    t = np.arange(5 * RATE) / RATE
    # A file whose end does not meet its start: 440 Hz that jumps in phase.
    samples = np.sin(2 * np.pi * 440 * t + 3.0 * (t > 2.5))
    loop = seamless_loop(samples, RATE, crossfade_s=1.0)
    assert len(loop) == 4 * RATE
    wrapped = np.concatenate([loop[-200:], loop[:200]]).astype(np.float64)
    assert np.max(np.abs(np.diff(wrapped))) < 2 * np.max(np.abs(np.diff(samples[:RATE])))


def _bed(duration: int = 20 * RATE) -> Bed:
    return Bed(
        loop=generated_loop("rain", RATE, seconds=2.0),
        level=0.1,
        duck_db=10.0,
        ducking=Ducking(((5 * RATE, 6 * RATE),), round(0.25 * RATE), round(0.8 * RATE)),
        duration_samples=duration,
        rate=RATE,
    )


def test_bed_chunks_do_not_depend_on_chunking() -> None:
    bed = _bed()
    whole = bed.chunk(0, 20 * RATE)
    pieces = np.concatenate(
        [bed.chunk(a, min(a + 12345, 20 * RATE)) for a in range(0, 20 * RATE, 12345)]
    )
    assert np.array_equal(whole, pieces)


def test_bed_is_fully_down_during_a_sound_and_up_between() -> None:
    bed = _bed()
    gain_db = 20 * np.log10(
        bed.gain_at(np.array([5 * RATE, 5.5 * RATE, 6 * RATE - 1, 10 * RATE])) / 0.1
    )
    assert np.allclose(gain_db[:3], -10.0)
    assert abs(gain_db[3]) < 1e-9
    # Smooth: no step bigger than a tiny fraction of a dB between samples.
    ramp = 20 * np.log10(bed.gain_at(np.arange(4 * RATE, 8 * RATE)))
    assert np.max(np.abs(np.diff(ramp))) < 0.01
    # Fades at both ends.
    assert bed.gain_at(np.array([0]))[0] == 0.0 and bed.gain_at(np.array([20 * RATE]))[0] == 0.0


def _decode(path: Path) -> np.ndarray:
    decoded = miniaudio.decode_file(
        str(path), output_format=miniaudio.SampleFormat.FLOAT32, nchannels=1, sample_rate=RATE
    )
    return np.frombuffer(decoded.samples, dtype=np.float32).astype(np.float64)


@pytest.mark.espeak
@pytest.mark.parametrize(
    "ambience",
    ["rain", "{sound: ocean, volume: -14}", "{sound: drone, volume: -14}", "brown-noise"],
)
def test_mix_keeps_speech_above_the_bed_and_meets_loudness(ambience: str, tmp_path: Path) -> None:
    script = _script(tmp_path, ambience)
    options = pipeline.VoiceOptions(engine="espeak", cache_dir=tmp_path / "cache")
    prepared = pipeline.prepare(script, options)
    dest = tmp_path / "amb.mp3"
    result = pipeline.export_prepared(script, prepared, ExportRequest(dest, stems=True))
    assert result.outputs == [dest, tmp_path / "amb.voice.mp3", tmp_path / "amb.bed.mp3"]
    mix, voice, bed = (_decode(p) for p in result.outputs)
    planned = prepared.timeline.duration_samples
    assert len(mix) == len(voice) == len(bed) == planned
    # Loudness bounds of the core issue, measured on the decoded export.
    assert abs(pyloudnorm.Meter(RATE).integrated_loudness(mix) + 16) <= 1.0
    assert true_peak_dbtp(mix, RATE) <= -1.0
    # Speech-to-bed during every spoken phrase, K-weighted and plain RMS.
    for event in prepared.timeline.events:
        if event.kind != "speech":
            continue
        span = slice(event.start_sample, event.end_sample)
        k_margin = clip_k_rms_db(voice[span], RATE) - clip_k_rms_db(bed[span], RATE)
        rms_margin = 10 * np.log10(np.mean(voice[span] ** 2) / np.mean(bed[span] ** 2))
        assert min(k_margin, rms_margin) >= 12.0, (event.text, k_margin, rms_margin)
    # The bed is really there between sounds: well above silence.
    quiet = [
        e for e in prepared.timeline.events if e.kind == "silence" and e.length_samples > 3 * RATE
    ]
    assert quiet and all(
        np.sqrt(np.mean(bed[e.start_sample : e.end_sample] ** 2)) > 1e-3 for e in quiet
    )


@pytest.mark.espeak
def test_stems_add_up_to_the_mix(tmp_path: Path) -> None:
    script = _script(tmp_path, "rain")
    options = pipeline.VoiceOptions(engine="espeak", cache_dir=tmp_path / "cache")
    dest = tmp_path / "amb.wav"
    result = pipeline.export(script, ExportRequest(dest, stems=True), options)
    mix, voice, bed = (soundfile.read(p)[0] for p in result.outputs)
    assert np.max(np.abs(voice + bed - mix)) <= 3 / 32768  # three 16-bit roundings


@pytest.mark.espeak
def test_a_sound_file_is_looped_under_the_voice(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    soundfile.write(tmp_path / "forest.flac", 0.2 * rng.standard_normal((3 * 48000, 2)), 48000)
    script = _script(tmp_path, "forest.flac")
    options = pipeline.VoiceOptions(engine="espeak", cache_dir=tmp_path / "cache")
    dest = tmp_path / "amb.wav"
    result = pipeline.export(script, ExportRequest(dest, stems=True), options)
    bed = soundfile.read(result.outputs[2])[0]
    middle = bed[60 * RATE : 61 * RATE]  # far past the file's 3 s: it loops
    assert np.sqrt(np.mean(middle**2)) > 1e-3


def test_missing_sound_file_is_a_script_error(tmp_path: Path) -> None:
    script = _script(tmp_path, "nowhere.ogg")
    with pytest.raises(ScriptError) as caught:
        pipeline.prepare(script, pipeline.VoiceOptions(engine="test", use_cache=False))
    assert str(caught.value).startswith(f"{script}:")
    assert "ambience" in str(caught.value) and "nowhere.ogg" in str(caught.value)


def test_stems_without_ambience_is_refused_before_writing(tmp_path: Path) -> None:
    script = ROOT / "scripts/espalda-suave.yaml"
    dest = tmp_path / "x.mp3"
    with pytest.raises(UsageError, match="--stems needs an ambience"):
        pipeline.export(
            script,
            ExportRequest(dest, stems=True),
            pipeline.VoiceOptions(engine="test", use_cache=False),
        )
    assert list(tmp_path.iterdir()) == []
