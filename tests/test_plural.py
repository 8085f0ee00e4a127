"""Counts in what voiceguide prints agree with their noun: "1 chapter", "2 chapters"."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_helpers import run_cli

from voiceguide.core.plural import counted
from voiceguide.server.pages import _card


@pytest.mark.parametrize(
    ("count", "expected"),
    [(0, "0 chapters"), (1, "1 chapter"), (2, "2 chapters"), (11, "11 chapters")],
)
def test_counted_agrees_with_the_count(count: int, expected: str) -> None:
    assert counted(count, "chapter") == expected


def test_counted_takes_an_irregular_plural() -> None:
    assert counted(1, "series", "series") == "1 series"
    assert counted(3, "box", "boxes") == "3 boxes"


# One exercise, one phrase, and a hold too short for its end-of-hold tone: one note.
ONE_OF_EACH = "title: x\ncountdown: 0\nsteps:\n  - exercise: Squat\n    hold: 0.3s\n"


def test_check_export_and_the_cache_say_one_of_a_thing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    script = tmp_path / "one.yaml"
    script.write_text(ONE_OF_EACH, encoding="utf-8")
    code, out, _ = run_cli(["check", str(script), "--engine", "test", "--brief"], capsys)
    assert code == 0
    assert out.splitlines()[0].endswith(", 1 chapter")
    code, out, _ = run_cli(
        ["export", str(script), "-o", str(tmp_path / "one.mp3"), "--engine", "test"], capsys
    )
    assert code == 0
    assert ", 1 cue note (see `voiceguide check`)" in out
    code, out, _ = run_cli(["cache", "info"], capsys)
    assert f"{tmp_path / 'voiceguide'}: 1 phrase, " in out
    code, out, _ = run_cli(["cache", "clear"], capsys)
    assert out.startswith("removed 1 phrase from ")


def test_a_library_card_with_one_part() -> None:
    card = _card({"id": "x", "title": "X", "duration": 65.0, "chapters": [{"title": "X"}]})
    assert '<p class="card-meta">1 min · 1 part</p>' in card
