"""Speech engines, clip preparation and the phrase cache."""

from __future__ import annotations

import hashlib
import io
import json
import multiprocessing
import multiprocessing.synchronize
import os
import subprocess
import sys
import textwrap
import wave
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy.signal import resample_poly as scipy_resample_poly

from voiceguide.errors import EngineError
from voiceguide.speech import ENGINE_NAMES, get_engine, list_engines
from voiceguide.speech import cache as cache_module
from voiceguide.speech.base import Engine, VoiceInfo
from voiceguide.speech.cache import PhraseCache, default_cache_dir, encode, phrase_key
from voiceguide.speech.clips import (
    OUTPUT_RATE_HZ,
    SILENCE_THRESHOLD,
    ClipSource,
    prepare_clip,
    trim_bounds,
)
from voiceguide.speech.espeak import EspeakEngine
from voiceguide.speech.pyttsx3_engine import (
    EmptyUtterance,
    _choose_voice,
    read_wav,
    wait_for_wav,
)
from voiceguide.speech.testengine import (
    LEAD_SAMPLES,
    SAMPLE_RATE_HZ,
    TAIL_SAMPLES,
    TestEngine,
    voiced_samples,
)

PHRASE = "Slowly pull your left knee into your chest."
FADE_SAMPLES = round(0.004 * OUTPUT_RATE_HZ)


def espeak(
    language: str = "en", voice_name: str | None = None, rate_wpm: int = 150
) -> EspeakEngine:
    engine = get_engine("espeak", language=language, voice_name=voice_name, rate_wpm=rate_wpm)
    assert isinstance(engine, EspeakEngine)
    return engine


def speak(engine: Engine, text: str) -> np.ndarray:
    pcm, rate = engine.synthesize(text)
    assert rate == 22050
    return pcm


def run_python(code: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run ``code`` in a fresh interpreter; it prints one JSON object last."""
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert lines, done.stderr
    result: dict[str, Any] = json.loads(lines[-1])
    result["stdout"] = done.stdout
    return result


# --- the real espeak-ng engine -------------------------------------------------


@pytest.mark.espeak
def test_espeak_returns_float32_mono_speech() -> None:
    pcm = speak(espeak(), PHRASE)
    assert pcm.dtype == np.float32
    assert pcm.ndim == 1
    assert 1.0 < len(pcm) / 22050 < 6.0
    assert 0.1 < float(np.max(np.abs(pcm))) <= 1.0


@pytest.mark.espeak
def test_espeak_is_deterministic_for_the_same_input() -> None:
    # espeak-ng's pitch flutter keeps a phase across utterances (a static in
    # wavegen.c), so the exact samples depend on what the process spoke before.
    # A fresh process speaking the same phrases gives the same audio.
    code = f"""
        import hashlib, json
        from voiceguide.speech import get_engine
        engine = get_engine("espeak", language="en", voice_name=None, rate_wpm=150)
        digests = [
            hashlib.sha256(engine.synthesize(text)[0].tobytes()).hexdigest()
            for text in ({PHRASE!r}, "Breathe in.", {PHRASE!r})
        ]
        print(json.dumps({{"digests": digests}}))
    """
    first, second = run_python(code), run_python(code)
    assert first["digests"] == second["digests"]


@pytest.mark.espeak
def test_espeak_repeats_a_phrase_at_the_same_length() -> None:
    engine = espeak()
    lengths = [len(speak(engine, PHRASE)) for _ in range(4)]
    assert max(lengths) - min(lengths) < 0.02 * min(lengths)


@pytest.mark.espeak
def test_espeak_longer_text_gives_longer_audio() -> None:
    engine = espeak()
    short = speak(engine, "Breathe in.")
    long = speak(engine, "Breathe in slowly through your nose, and let your shoulders drop.")
    assert len(long) > 2 * len(short)


@pytest.mark.espeak
def test_espeak_slower_rate_gives_longer_audio() -> None:
    slow = speak(espeak(rate_wpm=100), PHRASE)
    fast = speak(espeak(rate_wpm=200), PHRASE)
    assert len(slow) > 1.5 * len(fast)


@pytest.mark.espeak
def test_espeak_engines_do_not_share_settings() -> None:
    slow, fast = espeak(rate_wpm=100), espeak(rate_wpm=250)
    alone = len(speak(slow, PHRASE))
    speak(fast, PHRASE)  # changes the library's global rate
    again = len(speak(slow, PHRASE))
    assert abs(again - alone) < 0.02 * alone


@pytest.mark.espeak
@pytest.mark.parametrize("voice", ["nope", "xx-yy"])
def test_espeak_rejects_an_unknown_voice(voice: str) -> None:
    with pytest.raises(EngineError, match=f"espeak has no voice '{voice}'"):
        espeak(voice_name=voice)


@pytest.mark.espeak
def test_espeak_rejects_an_unknown_language() -> None:
    with pytest.raises(EngineError, match=r"no voice for language 'xx'.*voiceguide voices"):
        espeak(language="xx")


@pytest.mark.espeak
@pytest.mark.parametrize("rate", [79, 451])
def test_espeak_rejects_a_rate_it_would_clamp(rate: int) -> None:
    with pytest.raises(EngineError, match="words per minute"):
        espeak(rate_wpm=rate)


@pytest.mark.espeak
@pytest.mark.parametrize(
    ("language", "voice"),
    [("en", "gmw/en-US"), ("en-GB", "gmw/en"), ("de", "gmw/de"), ("es", "roa/es")],
)
def test_espeak_picks_a_voice_for_the_language(language: str, voice: str) -> None:
    engine = espeak(language=language)
    assert engine.voice == voice
    assert len(speak(engine, "Hallo")) > 0


@pytest.mark.espeak
def test_espeak_accepts_listed_ids_names_and_variants() -> None:
    for name in ("gmw/en-GB-x-rp", "English (America)", "en-us+f3"):
        assert len(speak(espeak(voice_name=name), "Hello")) > 0


@pytest.mark.espeak
def test_espeak_id_names_voice_rate_and_settings() -> None:
    engine_id = espeak().id
    assert engine_id.startswith("espeak-ng/")
    assert "voice=gmw/en-US" in engine_id and "rate=150" in engine_id
    assert espeak(rate_wpm=151).id != engine_id
    assert espeak(voice_name="en-us+f3").id != engine_id


@pytest.mark.espeak
def test_list_engines_reports_espeak_with_english_voices() -> None:
    engines = list_engines()
    assert [info.name for info in engines] == list(ENGINE_NAMES)
    info = engines[0]
    assert info.name == "espeak" and info.available and info.reason is None
    english = [voice for voice in info.voices if "en-us" in voice.languages]
    assert english and english[0].id == "gmw/en-US"
    assert all(not info.available or info.reason is None for info in engines)
    assert all(info.available or info.reason for info in engines)


@pytest.mark.espeak
def test_auto_is_espeak_where_piper_has_no_voice() -> None:
    # piper's bundled voice is English; for other languages auto is espeak.
    engine = get_engine("auto", language="es", voice_name=None, rate_wpm=150)
    assert engine.id.startswith("espeak-ng/")


@pytest.mark.espeak
def test_espeak_clip_is_trimmed_and_faded() -> None:
    clip = ClipSource(espeak(), None).clip(PHRASE)
    assert clip.dtype == np.float32
    assert clip[0] == 0.0 and clip[-1] == 0.0
    assert 1.0 < len(clip) / OUTPUT_RATE_HZ < 6.0


# --- registry --------------------------------------------------------------------


def test_unknown_engine_lists_the_known_ones() -> None:
    with pytest.raises(
        EngineError, match=r"unknown speech engine 'nope'.*espeak, piper, pyttsx3, test"
    ):
        get_engine("nope", language="en", voice_name=None, rate_wpm=150)


def test_missing_pyttsx3_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pyttsx3", None)  # makes `import pyttsx3` fail
    with pytest.raises(EngineError, match=r"pip install 'voiceguide\[system-voices\]'"):
        get_engine("pyttsx3", language="en", voice_name=None, rate_wpm=150)
    info = next(info for info in list_engines() if info.name == "pyttsx3")
    assert not info.available and "system-voices" in (info.reason or "")


def test_engines_are_imported_only_when_asked_for() -> None:
    result = run_python(
        """
        import json, sys
        from voiceguide.speech import get_engine
        get_engine("test", language="en", voice_name=None, rate_wpm=150)
        names = ("voiceguide.speech.espeak", "voiceguide.speech.pyttsx3_engine", "pyttsx3",
                 "espeakng_loader", "scipy")
        print(json.dumps({"loaded": [name for name in names if name in sys.modules]}))
        """
    )
    assert result["loaded"] == []


# --- pyttsx3 -----------------------------------------------------------------------

PYTTSX3_SCRIPT = """
    import json
    import numpy as np
    from voiceguide.errors import EngineError
    from voiceguide.speech import get_engine
    try:
        engine = get_engine("pyttsx3", language="en", voice_name=None, rate_wpm=150)
    except EngineError as error:
        print(json.dumps({"skip": error.message}))
        raise SystemExit(0)
    short = engine.synthesize("Breathe in.")
    long = engine.synthesize("Let your shoulders drop, and breathe out slowly. " * 8)
    try:
        get_engine("pyttsx3", language="en", voice_name="no such voice", rate_wpm=150)
        rejected = False
    except EngineError:
        rejected = True
    print(json.dumps({
        "id": engine.id,
        "rates": [short[1], long[1]],
        "lengths": [len(short[0]), len(long[0])],
        "dtype": str(short[0].dtype),
        "peak": float(np.max(np.abs(short[0]))),
        "rejected": rejected,
    }))
"""


def _standin_env(tmp_path: Path) -> dict[str, str]:
    # The wheel's libespeak-ng stands in for the system's (apt libespeak-ng1),
    # as a separate file so that it is a separate library.
    import espeakng_loader

    library = tmp_path / "lib" / "libespeak-ng.so.1"
    library.parent.mkdir()
    library.write_bytes(Path(espeakng_loader.get_library_path()).read_bytes())
    return {
        "LD_LIBRARY_PATH": str(library.parent),
        "ESPEAK_DATA_PATH": espeakng_loader.get_data_path(),
    }


@pytest.mark.parametrize("library", ["system", pytest.param("stand-in", marks=pytest.mark.espeak)])
def test_pyttsx3_engine_speaks(library: str, tmp_path: Path) -> None:
    env: dict[str, str] = {}
    if library == "stand-in":
        if not sys.platform.startswith("linux"):
            pytest.skip("the stand-in library is for Linux")
        env = _standin_env(tmp_path)
    result = run_python(PYTTSX3_SCRIPT, env)
    if "skip" in result:
        pytest.skip(f"pyttsx3 cannot start here: {result['skip']}")
    assert str(result["id"]).startswith("pyttsx3/")
    short, long = result["lengths"]
    assert 0 < short < long
    assert result["dtype"] == "float32"
    assert 0.05 < result["peak"] <= 1.0
    assert result["rejected"] is True
    assert "Audio saved" not in str(result["stdout"])


@pytest.mark.espeak
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux dynamic loader only")
def test_pyttsx3_after_espeak_fails_cleanly(tmp_path: Path) -> None:
    # pyttsx3's driver would bind to our already loaded libespeak-ng and make
    # it call exit(1); the engine must refuse instead. A child process, so
    # that a regression cannot take pytest down with it.
    result = run_python(
        """
        import json
        from voiceguide.errors import EngineError
        from voiceguide.speech import get_engine
        get_engine("espeak", language="en", voice_name=None, rate_wpm=150).synthesize("Hi")
        try:
            get_engine("pyttsx3", language="en", voice_name=None, rate_wpm=150)
            print(json.dumps({"error": None}))
        except EngineError as error:
            print(json.dumps({"error": error.message}))
        """,
        _standin_env(tmp_path),
    )
    assert "cannot start after espeak-ng was loaded" in str(result["error"])


def test_pyttsx3_voice_choice() -> None:
    voices = [
        VoiceInfo("gmw/en", "English (Great Britain)", ["en-gb"]),
        VoiceInfo("gmw/en-us", "English (America)", ["en-us"]),
        VoiceInfo("gmw/de", "German", ["de"]),
    ]
    assert _choose_voice(voices, "en", None) == "gmw/en-us"
    assert _choose_voice(voices, "en-GB", None) == "gmw/en"
    assert _choose_voice(voices, "de-AT", None) == "gmw/de"
    assert _choose_voice(voices, "en", "english (great britain)") == "gmw/en"
    with pytest.raises(EngineError, match="pyttsx3 has no voice 'Zira'") as refused:
        _choose_voice(voices, "en", "Zira")
    # A wrong id is a mistake in the input (exit 2), told with the ids that would do.
    assert refused.value.exit_status == 2
    assert "its voices for 'en': gmw/en, gmw/en-us (" in refused.value.message
    with pytest.raises(EngineError, match="no voice for language 'fi'"):
        _choose_voice(voices, "fi", None)
    # A driver that does not say which languages its voices speak: its default.
    assert _choose_voice([VoiceInfo("v1", "Voice 1", [])], "fi", None) is None


def _wav_bytes(samples: np.ndarray, rate: int = 22050, channels: int = 1) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as writer:
        writer.setnchannels(channels)
        writer.setsampwidth(2)
        writer.setframerate(rate)
        writer.writeframes(samples.astype("<i2").tobytes())
    return buffer.getvalue()


class FakeClock:
    """Time that moves only when slept through; ``on_sleep`` runs each time."""

    def __init__(self, on_sleep: Callable[[int], None] = lambda _: None) -> None:
        self.now = 0.0
        self.sleeps = 0
        self.on_sleep = on_sleep

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds
        self.sleeps += 1
        self.on_sleep(self.sleeps)


def test_wait_for_wav_waits_until_the_file_is_whole_and_still(tmp_path: Path) -> None:
    whole = _wav_bytes(np.arange(1000, dtype=np.int16))
    path = tmp_path / "phrase.wav"

    def writer(step: int) -> None:
        # Written in three goes, as a slow driver thread would.
        path.write_bytes(whole[: min(len(whole), step * 800)])

    clock = FakeClock(writer)
    assert wait_for_wav(path, 10.0, clock=clock, sleep=clock.sleep) == whole
    assert clock.sleeps >= 4  # missing, two partial writes, then seen twice whole


@pytest.mark.parametrize(
    "content",
    [
        None,
        b"RIFF\xff\xff\x00\x00WAVEfmt ",
        b"not a wav at all",
        _wav_bytes(np.zeros(0, dtype=np.int16)),  # the header a driver writes before the speech
    ],
)
def test_wait_for_wav_gives_up_after_its_timeout(tmp_path: Path, content: bytes | None) -> None:
    path = tmp_path / "phrase.wav"
    if content is not None:
        path.write_bytes(content)
    clock = FakeClock()
    with pytest.raises(EngineError, match="did not finish writing its audio in 2 s"):
        wait_for_wav(path, 2.0, clock=clock, sleep=clock.sleep)


def test_an_empty_file_once_the_driver_finished_is_an_empty_utterance(tmp_path: Path) -> None:
    # pyttsx3's espeak driver can write a header and no speech (it adds a
    # callback's samples after its end event); told apart from a file still to
    # come by the driver's "finished", at once rather than after the timeout.
    path = tmp_path / "phrase.wav"
    path.write_bytes(_wav_bytes(np.zeros(0, dtype=np.int16)))
    clock = FakeClock()
    with pytest.raises(EmptyUtterance):
        wait_for_wav(path, 30.0, finished=lambda: True, clock=clock, sleep=clock.sleep)
    assert clock.now < 1.0
    waiting = FakeClock()
    with pytest.raises(EngineError, match="did not finish writing its audio in 2 s"):
        wait_for_wav(path, 2.0, finished=lambda: False, clock=waiting, sleep=waiting.sleep)


def test_read_wav_averages_channels_to_float() -> None:
    stereo = np.array([[16384, -16384], [32767, 32767]], dtype=np.int16).reshape(-1)
    pcm, rate = read_wav(_wav_bytes(stereo, rate=16000, channels=2))
    assert rate == 16000 and pcm.dtype == np.float32
    np.testing.assert_allclose(pcm, [0.0, 32767 / 32768])


# --- the test engine and prepare_clip ----------------------------------------------------


def test_test_engine_shape_is_exact() -> None:
    engine = TestEngine()
    for text in ("a", "Breathe in.", PHRASE):
        pcm, rate = engine.synthesize(text)
        assert rate == SAMPLE_RATE_HZ and pcm.dtype == np.float32
        voiced = voiced_samples(text)
        assert voiced == round(0.06 * len(text) * 22050)
        assert len(pcm) == LEAD_SAMPLES + voiced + TAIL_SAMPLES
        assert not pcm[:LEAD_SAMPLES].any() and not pcm[LEAD_SAMPLES + voiced :].any()
        assert abs(float(np.max(np.abs(pcm))) - 0.5) < 1e-6
        assert np.array_equal(pcm, engine.synthesize(text)[0])
    assert not np.array_equal(engine.synthesize("ab")[0], engine.synthesize("ba")[0])


@pytest.mark.parametrize("text", ["a", "Hi.", "Breathe in.", PHRASE, "x" * 200, "é ü ñ"])
def test_test_engine_clip_length_is_exact(text: str) -> None:
    # At 44100 Hz each voiced sample becomes two, and the resampler adds one
    # audible half-step sample just before the voice starts: 2 * N + 1.
    pcm, rate = TestEngine().synthesize(text)
    clip = prepare_clip(pcm, rate, OUTPUT_RATE_HZ)
    assert len(clip) == 2 * voiced_samples(text) + 1
    assert clip.dtype == np.float32


def test_prepare_clip_trims_a_padded_signal_exactly() -> None:
    rng = np.random.default_rng(7)
    body = rng.uniform(-0.8, 0.8, 5000)
    body[0], body[-1] = 0.01, -0.01  # audible ends (-40 dBFS) must be kept
    quiet = SILENCE_THRESHOLD * 0.9  # below -50 dBFS: silence, even if not zero
    padded = np.concatenate([np.zeros(300), [quiet, -quiet], body, [quiet], np.zeros(700)])
    clip = prepare_clip(padded, 44100, 44100)
    assert len(clip) == len(body)
    assert clip[0] == 0.0 and clip[-1] == 0.0  # the raised cosine starts at zero
    ramp = 0.5 * (1 - np.cos(np.pi * np.arange(FADE_SAMPLES) / FADE_SAMPLES))
    np.testing.assert_allclose(clip[:FADE_SAMPLES], body[:FADE_SAMPLES] * ramp, atol=1e-6)
    np.testing.assert_allclose(clip[-FADE_SAMPLES:], body[-FADE_SAMPLES:] * ramp[::-1], atol=1e-6)
    np.testing.assert_allclose(
        clip[FADE_SAMPLES:-FADE_SAMPLES], body[FADE_SAMPLES:-FADE_SAMPLES], atol=1e-6
    )


def test_prepare_clip_fades_the_ends_to_zero() -> None:
    loud = np.full(10000, 0.7)
    clip = prepare_clip(loud, 44100, 44100)
    assert clip[0] == 0.0 and abs(clip[-1]) == 0.0
    assert np.all(np.abs(clip[:10]) < 0.01) and np.all(np.abs(clip[-10:]) < 0.01)
    assert np.all(np.diff(clip[:FADE_SAMPLES]) >= 0)  # a fade, not a click


def test_prepare_clip_of_silence_is_empty() -> None:
    assert prepare_clip(np.zeros(5000, dtype=np.float32), 22050, 44100).size == 0
    hum = np.full(5000, SILENCE_THRESHOLD / 2, dtype=np.float32)
    assert prepare_clip(hum, 22050, 44100).size == 0
    assert prepare_clip(np.zeros(0, dtype=np.float32), 22050, 44100).size == 0


@pytest.mark.parametrize(("rate", "expected"), [(22050, 20000), (16000, 27563), (48000, 9188)])
def test_prepare_clip_resamples(rate: int, expected: int) -> None:
    tone = 0.3 + 0.2 * np.sin(2 * np.pi * 200 * np.arange(10000) / rate)
    assert len(prepare_clip(tone, rate, 44100)) == expected


@pytest.mark.parametrize(
    ("rate", "up", "down"), [(22050, 2, 1), (16000, 441, 160), (48000, 147, 160)]
)
def test_prepare_clip_resamples_like_scipy(rate: int, up: int, down: int) -> None:
    rng = np.random.default_rng(rate)
    n = rate  # one second: a noisy, syllable-like burst between silences
    envelope = np.clip(np.sin(2 * np.pi * 4 * np.arange(n) / rate), 0, None) ** 2
    pcm = np.concatenate([np.zeros(500), 0.3 * rng.standard_normal(n) * envelope, np.zeros(500)])
    clip = prepare_clip(pcm.astype(np.float32), rate, OUTPUT_RATE_HZ)
    reference = scipy_resample_poly(pcm.astype(np.float32).astype(np.float64), up, down)
    start, stop = trim_bounds(reference)
    assert len(clip) == stop - start
    inner = slice(FADE_SAMPLES, -FADE_SAMPLES)
    np.testing.assert_allclose(clip[inner], reference[start:stop][inner], atol=1e-6)


def test_prepare_clip_wants_mono() -> None:
    with pytest.raises(ValueError, match="mono"):
        prepare_clip(np.zeros((100, 2)), 44100, 44100)


# --- ClipSource ----------------------------------------------------------------------


class CountingEngine:
    """The test engine, counting what it is asked to say."""

    def __init__(self, engine_id: str = "test") -> None:
        self.id = engine_id
        self.spoken: list[str] = []

    def synthesize(self, text: str) -> tuple[np.ndarray, int]:
        self.spoken.append(text)
        return TestEngine().synthesize(text)


class SilentEngine:
    id = "mute/1"

    def synthesize(self, text: str) -> tuple[np.ndarray, int]:
        return np.zeros(1000, dtype=np.float32), 22050


def test_clip_source_dedupes_and_reports_progress(tmp_path: Path) -> None:
    engine = CountingEngine()
    cache = PhraseCache(tmp_path)
    ClipSource(CountingEngine(), cache).clip("Breathe out.")  # cached by another source
    source = ClipSource(engine, cache)
    progress: list[tuple[int, int]] = []
    clips = source.clips(
        ["Breathe in.", "Breathe out.", "Breathe in.", "Hold."],
        lambda done, total: progress.append((done, total)),
    )
    assert list(clips) == ["Breathe in.", "Breathe out.", "Hold."]
    assert engine.spoken == ["Breathe in.", "Hold."]  # the cache hit was not spoken
    assert progress == [(1, 3), (2, 3), (3, 3)]
    assert len(clips["Hold."]) == 2 * voiced_samples("Hold.") + 1
    assert source.clip("Hold.") is clips["Hold."]
    assert engine.spoken == ["Breathe in.", "Hold."]


def test_clip_source_clips_are_read_only(tmp_path: Path) -> None:
    clip = ClipSource(CountingEngine(), PhraseCache(tmp_path)).clip("Rest.")
    with pytest.raises(ValueError):
        clip[0] = 1.0


def test_clip_source_blank_text_is_an_empty_clip() -> None:
    engine = CountingEngine()
    assert ClipSource(engine, None).clip("  ").size == 0
    assert engine.spoken == []


def test_clip_source_gives_an_empty_clip_when_the_engine_says_nothing(tmp_path: Path) -> None:
    # The planner leaves such a phrase out with a note: never a failed export.
    assert ClipSource(SilentEngine(), None).clip("Relax.").size == 0
    cache = PhraseCache(tmp_path)
    assert ClipSource(SilentEngine(), cache).clip("Relax.").size == 0
    assert len(list(tmp_path.rglob("*.*"))) >= 1  # kept: not spoken again next time


class CrashingEngine(SilentEngine):
    id = "flaky/1"

    def synthesize(self, text: str) -> tuple[np.ndarray, int]:
        raise RuntimeError("synthesis thread died")


def test_a_crashing_engine_is_an_engine_error_naming_the_phrase() -> None:
    with pytest.raises(EngineError) as caught:
        ClipSource(CrashingEngine(), None).clip("Relax.")
    assert str(caught.value) == (
        "the flaky engine failed (RuntimeError('synthesis thread died')) on: 'Relax.'"
    )


# --- PhraseCache ---------------------------------------------------------------------


def test_phrase_key_covers_every_field() -> None:
    key = phrase_key("test", 44100, "Relax.")
    assert len(key) == 64 and int(key, 16) >= 0
    assert key == phrase_key("test", 44100, "Relax.")
    others = {
        phrase_key("test2", 44100, "Relax."),
        phrase_key("test", 48000, "Relax."),
        phrase_key("test", 44100, "Relax"),
        phrase_key("test\x00", 44100, "Relax."),
    }
    assert key not in others and len(others) == 4


def test_cache_round_trip(tmp_path: Path) -> None:
    cache = PhraseCache(tmp_path)
    key = phrase_key("test", 44100, "Relax.")
    assert cache.get(key) is None
    clip = np.linspace(-1, 1, 999, dtype=np.float32)
    cache.put(key, clip)
    path = tmp_path / key[:2] / f"{key}.clip"
    assert path.is_file()
    got = cache.get(key)
    assert got is not None and got.dtype == np.float32 and np.array_equal(got, clip)
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary left


def test_cache_stores_empty_clips(tmp_path: Path) -> None:
    cache = PhraseCache(tmp_path)
    key = phrase_key("test", 44100, "")
    cache.put(key, np.zeros(0, dtype=np.float32))
    got = cache.get(key)
    assert got is not None and got.size == 0


def _flip(offset: int) -> Callable[[bytes], bytes]:
    def damage(data: bytes) -> bytes:
        spot = offset % len(data)
        return data[:spot] + bytes([data[spot] ^ 0x40]) + data[spot + 1 :]

    return damage


DAMAGE: dict[str, Callable[[bytes], bytes]] = {
    "truncated": lambda data: data[: len(data) - 7],
    "header only": lambda data: data[:52],
    "empty": lambda data: b"",
    "payload byte flipped": _flip(-100),
    "magic byte flipped": _flip(0),
    "length byte flipped": _flip(12),
    "checksum byte flipped": _flip(30),
    "garbage": lambda data: os.urandom(len(data)),
    "foreign format": lambda data: b"RIFF" + data[4:],
    "future version": lambda data: data[:8] + (99).to_bytes(4, "little") + data[12:],
    "extra bytes": lambda data: data + b"\x00\x00\x00\x00",
}


@pytest.mark.parametrize("damage", DAMAGE, ids=list(DAMAGE))
def test_damaged_cache_files_are_dropped_and_spoken_again(tmp_path: Path, damage: str) -> None:
    text = "Let your jaw soften."
    ClipSource(CountingEngine(), PhraseCache(tmp_path)).clip(text)
    key = phrase_key("test", OUTPUT_RATE_HZ, text)
    path = tmp_path / key[:2] / f"{key}.clip"
    path.write_bytes(DAMAGE[damage](path.read_bytes()))

    assert PhraseCache(tmp_path).get(key) is None
    assert not path.exists()

    path.write_bytes(DAMAGE[damage](b"x" * 4000))
    engine = CountingEngine()
    clip = ClipSource(engine, PhraseCache(tmp_path)).clip(text)
    assert engine.spoken == [text]
    assert len(clip) == 2 * voiced_samples(text) + 1
    again = PhraseCache(tmp_path).get(key)  # and the damaged file was replaced
    assert again is not None and np.array_equal(again, clip)


def test_unusable_cache_folder_disables_the_cache_with_one_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    first, second = PhraseCache(blocker / "phrases"), PhraseCache(blocker / "phrases")
    assert not first.enabled and not second.enabled
    warnings = capsys.readouterr().err.splitlines()
    assert len(warnings) == 1 and "not caching speech" in warnings[0]
    key = phrase_key("test", 44100, "x")
    first.put(key, np.ones(10, dtype=np.float32))
    assert first.get(key) is None
    engine = CountingEngine()
    assert ClipSource(engine, first).clip("Soft knees.").size > 0
    assert capsys.readouterr().err == ""


def test_cache_that_fails_to_write_is_disabled(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cache = PhraseCache(tmp_path / "cache")
    key = phrase_key("test", 44100, "x")
    (tmp_path / "cache" / key[:2]).write_text("a file where the shard folder goes")
    cache.put(key, np.ones(10, dtype=np.float32))
    assert not cache.enabled
    assert "not caching speech" in capsys.readouterr().err


def test_default_cache_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_dir() == tmp_path / "xdg" / "voiceguide"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/path")  # ignored, as the spec says
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_cache_dir() == tmp_path / "home" / ".cache" / "voiceguide"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert default_cache_dir() == tmp_path / "home" / ".cache" / "voiceguide"
    assert PhraseCache().directory == tmp_path / "home" / ".cache" / "voiceguide" / "phrases"


CONCURRENT_TEXTS = [f"Phrase number {n}, said slowly." for n in range(40)]


def _fill_cache(directory: str, start: multiprocessing.synchronize.Barrier, rounds: int) -> None:
    start.wait()
    for _ in range(rounds):
        cache = PhraseCache(Path(directory))
        source = ClipSource(CountingEngine(), cache)
        source.clips(CONCURRENT_TEXTS)
        # Rewrite every key too, so that the two processes' renames collide.
        for text in CONCURRENT_TEXTS:
            cache.put(phrase_key("test", OUTPUT_RATE_HZ, text), source.clip(text))


def test_two_processes_fill_one_cache(tmp_path: Path) -> None:
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(2)
    workers = [
        context.Process(target=_fill_cache, args=(str(tmp_path), start, 5)) for _ in range(2)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert [worker.exitcode for worker in workers] == [0, 0]

    files = sorted(tmp_path.rglob("*"))
    entries = [path for path in files if path.is_file()]
    assert len(entries) == len(CONCURRENT_TEXTS)
    assert not [path for path in entries if path.name.startswith(".tmp-")]
    cache = PhraseCache(tmp_path)
    engine = TestEngine()
    for text in CONCURRENT_TEXTS:
        key = phrase_key("test", OUTPUT_RATE_HZ, text)
        raw = (tmp_path / key[:2] / f"{key}.clip").read_bytes()
        assert cache_module.decode(raw) is not None
        expected = prepare_clip(*engine.synthesize(text), OUTPUT_RATE_HZ)
        got = cache.get(key)
        assert got is not None and np.array_equal(got, expected)
        assert hashlib.sha256(raw[52:]).digest() == raw[20:52]


def test_cache_trims_least_recently_used_to_its_bound(tmp_path: Path) -> None:
    clip = np.linspace(-0.5, 0.5, 1000, dtype=np.float32)
    entry_bytes = len(encode(clip))
    cache = PhraseCache(tmp_path, max_bytes=3 * entry_bytes)
    keys = [phrase_key("test", 44100, f"phrase {n}") for n in range(5)]
    for age, key in enumerate(keys):
        cache.put(key, clip)
        os.utime(cache.path(key), (1000 + age, 1000 + age))
    assert cache.get(keys[0]) is not None  # used just now: the newest
    assert cache.trim() == 2
    assert cache.size_bytes() == 3 * entry_bytes
    kept = {key for key in keys if cache.path(key).exists()}
    assert kept == {keys[0], keys[3], keys[4]}


def test_clip_source_keeps_the_cache_within_its_bound(tmp_path: Path) -> None:
    engine = get_engine("test", language="en", voice_name=None, rate_wpm=150)
    probe = ClipSource(engine, None).clip("One two three.")
    bound = 2 * len(encode(probe)) + 100
    source = ClipSource(engine, PhraseCache(tmp_path, max_bytes=bound))
    source.clips([f"Phrase number {n}." for n in range(6)])
    assert PhraseCache(tmp_path).size_bytes() <= bound


def test_cache_clear_removes_entries_and_stray_temporaries(tmp_path: Path) -> None:
    cache = PhraseCache(tmp_path)
    key = phrase_key("test", 44100, "x")
    cache.put(key, np.zeros(10, dtype=np.float32))
    stray = cache.path(key).parent / ".tmp-abc.clip"
    stray.write_bytes(b"half")
    assert cache.clear() == 1
    assert list(tmp_path.rglob("*.clip")) == []


@pytest.mark.espeak
@pytest.mark.parametrize(
    "text",
    [
        "Crème brûlée, naïve façade.",
        "Smile 😀 now.",
        "日本語のテキスト。",
        "مرحبا بالعالم",
        "Zürich → Köln",
    ],
)
def test_espeak_says_unusual_but_valid_text(text: str) -> None:
    engine = get_engine("espeak", language="en", voice_name=None, rate_wpm=150)
    clip = ClipSource(engine, None).clip(text)
    assert clip.dtype == np.float32 and len(clip) > OUTPUT_RATE_HZ // 10
    assert np.all(np.isfinite(clip)) and np.max(np.abs(clip)) <= 1.0
