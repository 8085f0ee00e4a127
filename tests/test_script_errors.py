"""Broken scripts are refused before any audio: file:line:col, field, what was expected, exit 2."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from voiceguide.cli import main
from voiceguide.core.script import parse_script
from voiceguide.errors import ScriptError

GOOD_STEP = "  - say: Hello.\n"

# (name, script text or bytes, line, field or None, words the message must contain)
CASES: list[tuple[str, str | bytes, int | None, str | None, str]] = [
    ("bad yaml", "title: x\nsteps: [\n  - say: hi\n", 2, None, "never closed with ]"),
    (
        "unknown cue mode",
        "title: x\ncues: beeps\nsteps:\n" + GOOD_STEP,
        2,
        "cues",
        "expected one of tones, spoken, both, got 'beeps'",
    ),
    (
        "unknown cue mode in a mapping",
        "title: x\ncues:\n  mode: words\nsteps:\n" + GOOD_STEP,
        3,
        "cues.mode",
        "expected one of tones, spoken, both, got 'words'",
    ),
    (
        "cue volume too loud",
        "title: x\ncues: {volume: 10}\nsteps:\n" + GOOD_STEP,
        2,
        "cues.volume",
        "expected a number from -20 to 6, got 10",
    ),
    (
        "cue volume as text",
        "title: x\ncues:\n  volume: loud\nsteps:\n" + GOOD_STEP,
        3,
        "cues.volume",
        "expected a number from -20 to 6, got 'loud'",
    ),
    (
        "unknown key in cues",
        "title: x\ncues:\n  mode: both\n  volum: -3\nsteps:\n" + GOOD_STEP,
        4,
        "cues.volum",
        "did you mean 'volume'",
    ),
    ("cues as a list", "title: x\ncues: [tones]\nsteps:\n" + GOOD_STEP, 2, "cues", "got a list"),
    ("tab indentation", "title: x\nsteps:\n\t- say: hi\n", 3, None, "not tabs"),
    ("unknown top key", "title: x\ntitel: y\nsteps:\n" + GOOD_STEP, 2, "titel", "unknown key"),
    (
        "typo in exercise key",
        "title: x\nsteps:\n  - exercise: A\n    hodl: 30s\n",
        4,
        "steps[0].hodl",
        "did you mean 'hold'",
    ),
    ("typo'd kind", "title: x\nsteps:\n  - sya: hi\n", 3, "steps[0].sya", "did you mean 'say'"),
    ("two kinds", "title: x\nsteps:\n  - say: hi\n    pause: 3s\n", 3, "steps[0]", "exactly one"),
    ("negative duration", "title: x\nsteps:\n  - pause: -3s\n", 3, "steps[0].pause", "duration"),
    ("zero duration", "title: x\nsteps:\n  - pause: 0\n", 3, "steps[0].pause", "more than 0"),
    ("huge duration", "title: x\nsteps:\n  - pause: 2h\n", 3, "steps[0].pause", "at most 1 hour"),
    (
        "bad duration unit",
        "title: x\nsteps:\n  - exercise: A\n    hold: 30 sec\n",
        4,
        "steps[0].hold",
        "expected a duration",
    ),
    (
        "unknown pattern",
        "title: x\nsteps:\n  - breathe: square\n",
        3,
        "steps[0].breathe",
        "box, 4-7-8, coherent, relax",
    ),
    (
        "custom pattern without out",
        "title: x\nsteps:\n  - breathe: {in: 4}\n",
        3,
        "steps[0].breathe",
        "needs 'out'",
    ),
    (
        "unknown placeholder",
        "title: x\nsteps:\n  - say: Hug your {knee}.\n",
        3,
        "steps[0].say",
        "unknown placeholder {knee}",
    ),
    (
        "side outside sided exercise",
        "title: x\nsteps:\n  - say: Your {side} knee.\n",
        3,
        "steps[0].say",
        "{side} is only known",
    ),
    ("unmatched brace", "title: x\nsteps:\n  - say: A { brace.\n", 3, "steps[0].say", "unmatched"),
    ("empty steps", "title: x\nsteps: []\n", 2, "steps", "at least one step"),
    ("missing steps", "title: x\n", 1, "steps", "required"),
    ("missing title", "steps:\n" + GOOD_STEP, 1, "title", "required"),
    ("title is a list", "title: [a, b]\nsteps:\n" + GOOD_STEP, 1, "title", "expected text"),
    (
        "reps is text",
        "title: x\nsteps:\n  - exercise: A\n    reps: many\n",
        4,
        "steps[0].reps",
        "whole number",
    ),
    ("pace out of range", "title: x\npace: 3\nsteps:\n" + GOOD_STEP, 2, "pace", "0.5 to 2"),
    (
        "rate out of range",
        "title: x\nvoice: {rate: 20}\nsteps:\n" + GOOD_STEP,
        2,
        "voice.rate",
        "80 to 300",
    ),
    (
        "unknown engine",
        "title: x\nvoice: {engine: festival}\nsteps:\n" + GOOD_STEP,
        2,
        "voice.engine",
        "espeak",
    ),
    (
        "bad sides",
        "title: x\nsteps:\n  - exercise: A\n    sides: up\n",
        4,
        "steps[0].sides",
        "none, both, left, right",
    ),
    ("bad sound", "title: x\nsteps:\n  - sound: gong\n", 3, "steps[0].sound", "chime, bell, tick"),
    ("repeat without steps", "title: x\nsteps:\n  - repeat: 2\n", 3, "steps[0]", "needs 'steps'"),
    (
        "breathe without hold",
        "title: x\nsteps:\n  - exercise: A\n    breathe: box\n",
        4,
        "steps[0].breathe",
        "add a hold",
    ),
    (
        "cycles and for",
        "title: x\nsteps:\n  - breathe: box\n    cycles: 2\n    for: 1m\n",
        5,
        "steps[0].for",
        "not both",
    ),
    (
        "session over 4 h",
        "title: x\nsteps:\n  - repeat: 5\n    steps:\n      - pause: 59m\n",
        3,
        "steps[0]",
        "more than 4 hours",
    ),
    (
        "alias bomb",
        "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a]\n"
        "c: &c [*b, *b, *b, *b, *b, *b, *b]\ntitle: x\nsteps:\n" + GOOD_STEP,
        1,
        None,
        "anchors and aliases",
    ),
    (
        "custom tag",
        "title: !!python/object:os.system x\nsteps:\n" + GOOD_STEP,
        1,
        None,
        "custom YAML tag",
    ),
    ("binary garbage", bytes(range(256)) * 4, None, None, "binary"),
    ("not utf-8", b"title: caf\xe9\nsteps:\n  - say: hi\n", 1, None, "not UTF-8"),
    ("a list at the top", "- say: hi\n", 1, None, "expected a mapping"),
    ("duplicate key", "title: x\ntitle: y\nsteps:\n" + GOOD_STEP, 2, "script", "appears twice"),
    ("step is text", "title: x\nsteps:\n  - hello\n", 3, "steps[0]", "expected a step"),
    (
        "hold of zero breaths",
        "title: x\nsteps:\n  - exercise: A\n    hold: 0 breaths\n",
        4,
        "steps[0].hold",
        "at least 1 breath",
    ),
    (
        "countdown too long",
        "title: x\ncountdown: 30\nsteps:\n" + GOOD_STEP,
        2,
        "countdown",
        "0 to 10",
    ),
    (
        "bad language",
        "title: x\nlanguage: english please\nsteps:\n" + GOOD_STEP,
        2,
        "language",
        "BCP 47",
    ),
    (
        "two documents",
        "title: x\nsteps:\n" + GOOD_STEP + "---\ntitle: y\n",
        5,
        None,
        "one YAML document",
    ),
    ("empty file", "", None, None, "empty"),
    ("nan pause", "title: x\nsteps:\n  - pause: .nan\n", 3, "steps[0].pause", "duration"),
    (
        "control characters",
        'title: x\nsteps:\n  - say: "bell\\a"\n',
        3,
        "steps[0].say",
        "control characters",
    ),
    (
        "10,000-word step",
        "title: x\nsteps:\n  - say: " + " ".join(["stretch"] * 10_000) + "\n",
        3,
        "steps[0].say",
        "split it into steps",
    ),
]


@pytest.mark.parametrize(
    ("name", "text", "line", "field", "words"), CASES, ids=[c[0] for c in CASES]
)
def test_parse_error_names_line_field_and_expectation(
    name: str, text: str | bytes, line: int | None, field: str | None, words: str
) -> None:
    with pytest.raises(ScriptError) as info:
        parse_script(text, "broken.yaml")
    error = info.value
    assert error.line == line
    if field is not None:
        assert error.field == field
    assert words in str(error)
    assert str(error).startswith("broken.yaml")
    assert "\n" not in str(error)


def test_at_least_25_broken_scripts() -> None:
    assert len(CASES) >= 25


@pytest.mark.parametrize(
    ("name", "text", "line", "field", "words"), CASES, ids=[c[0] for c in CASES]
)
def test_cli_export_refuses_with_exit_2_and_writes_nothing(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    name: str,
    text: str | bytes,
    line: int | None,
    field: str | None,
    words: str,
) -> None:
    script = tmp_path / "broken.yaml"
    script.write_bytes(text if isinstance(text, bytes) else text.encode())
    out = tmp_path / "out"
    with pytest.raises(SystemExit) as info:
        main(["export", str(script), "-o", str(out / "x.mp3"), "--engine", "test", "--no-cache"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    where = f"{script}:{line}:" if line else f"{script}:"
    assert where in err
    assert not out.exists() or not any(out.iterdir())


def test_fifty_megabyte_file_is_refused_without_reading_it(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    script = tmp_path / "huge.yaml"
    with script.open("wb") as f:
        f.truncate(50 * 1024 * 1024)
    with pytest.raises(SystemExit) as info:
        main(["check", str(script), "--engine", "test"])
    assert info.value.code == 2
    assert re.search(r"huge\.yaml: the file is 52\.4 MB", capsys.readouterr().err)


def test_missing_file_is_a_usage_error(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(SystemExit) as info:
        main(["check", str(tmp_path / "nope.yaml")])
    assert info.value.code == 2
    assert "no such file" in capsys.readouterr().err


def test_real_process_prints_one_line_and_no_traceback(tmp_path: Path) -> None:
    script = tmp_path / "bad.yaml"
    script.write_text("title: x\nsteps:\n  - exercise: A\n    hodl: 30s\n")
    result = subprocess.run(
        [sys.executable, "-m", "voiceguide", "check", str(script)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr == (
        f"voiceguide: {script}:4:5: steps[0].hodl: unknown key 'hodl'; did you mean 'hold'?\n"
    )
