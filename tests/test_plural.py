"""Counts in what voiceguide prints agree with their noun: "1 chapter", "2 chapters"."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pytest
from cli_helpers import run_cli

from voiceguide.core.plan import plan, spoken_phrases
from voiceguide.core.plural import counted
from voiceguide.core.script import parse_script
from voiceguide.errors import EngineError
from voiceguide.live import edits
from voiceguide.server.pages import _card
from voiceguide.speech.clips import ClipSource


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
    assert out.startswith("removed 1 phrase (")


def test_a_library_card_with_one_part() -> None:
    card = _card({"id": "x", "title": "X", "duration": 65.0, "chapters": [{"title": "X"}]})
    assert '<p class="card-meta">1 min · 1 part</p>' in card


class _CrashingEngine:
    """An engine whose library fails on a batch of phrases."""

    id = "crash/1"

    def synthesize(self, text: str) -> tuple[Any, int]:
        raise RuntimeError("boom")

    def synthesize_many(self, texts: list[str]) -> Iterator[tuple[Any, int]]:
        raise RuntimeError("boom")


def test_an_engine_failure_on_two_phrases_names_one_more_phrase() -> None:
    source = ClipSource(cast(Any, _CrashingEngine()), None)
    with pytest.raises(EngineError) as caught:
        source.clips(["One.", "Two."])
    assert str(caught.value).endswith("on: 'One.' and 1 more phrase")


def test_from_a_step_a_one_step_script_does_not_have_steps_1_to_1() -> None:
    session = parse_script("title: x\nsteps:\n  - exercise: Squat\n    hold: 3s\n", "t.yaml")
    lengths = {p: 4410 for p in spoken_phrases(session)}
    tones = {name: 4410 for name in ("end_of_hold", "tick", "switch_sides")}
    timeline = plan(session, lengths, tones, 44100)
    with pytest.raises(ValueError, match=r"^there is no step 2; the script has only step 1$"):
        edits.start_of(timeline, 1, "2")
