"""Clock-style durations mean the same however YAML would read them: 1:30, "1:30", 01:30."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft202012Validator

from voiceguide.core.durations import parse_duration_text
from voiceguide.core.model import Breathe, Exercise, Pause
from voiceguide.core.script import parse_script
from voiceguide.errors import ScriptError

SCHEMA = json.loads(
    (Path(__file__).resolve().parents[1] / "voiceguide/data/script.schema.json").read_text()
)

# (as written in the YAML, seconds)
GOOD = [
    ("1:30", 90.0),
    ('"1:30"', 90.0),
    ("01:30", 90.0),
    ("'01:30'", 90.0),
    ("0:45", 45.0),
    ('"0:45"', 45.0),
    ("00:45", 45.0),
    ("1:30.5", 90.5),
    ('"1:30.5"', 90.5),
    ("59:59", 3599.0),
    ("0:59:59", 3599.0),
    ('"0:59:59"', 3599.0),
    ("1:00:00", 3600.0),
    ("'01:00:00'", 3600.0),
    ("60:00", 3600.0),
]
BAD = ["1:75", '"1:75"', "1:5", '"1:5"', '"1:"', "':30'", "1:2:03", "-1:30", '"1:30:"', '"1::30"']
OVER_AN_HOUR = ["1:02:03", '"1:02:03"', "01:02:03", "61:00"]
FIELDS = ("pause", "hold", "rest", "for")


def script_with(value: str) -> str:
    return (
        "title: Clock\n"
        "steps:\n"
        f"  - pause: {value}\n"
        "  - exercise: Knee hug\n"
        f"    hold: {value}\n"
        f"    rest: {value}\n"
        "  - breathe: box\n"
        f"    for: {value}\n"
    )


@pytest.mark.parametrize(("written", "seconds"), GOOD, ids=[g[0] for g in GOOD])
def test_every_spelling_of_a_clock_time_is_the_same_duration(written: str, seconds: float) -> None:
    session = parse_script(script_with(written), "clock.yaml")
    pause, exercise, breathe = session.steps
    assert pause.duration_s == seconds  # type: ignore[union-attr]
    assert exercise.hold.duration_s == seconds  # type: ignore[union-attr]
    assert exercise.rest_s == seconds  # type: ignore[union-attr]
    assert breathe.for_s == seconds  # type: ignore[union-attr]


@pytest.mark.parametrize("written", BAD)
@pytest.mark.parametrize("field", FIELDS)
def test_a_malformed_clock_time_is_refused_with_its_line(written: str, field: str) -> None:
    text = {
        "pause": f"title: T\nsteps:\n  - pause: {written}\n",
        "hold": f"title: T\nsteps:\n  - exercise: A\n    hold: {written}\n",
        "rest": f"title: T\nsteps:\n  - exercise: A\n    rest: {written}\n",
        "for": f"title: T\nsteps:\n  - breathe: box\n    for: {written}\n",
    }[field]
    with pytest.raises(ScriptError) as info:
        parse_script(text, "clock.yaml")
    error = info.value
    assert error.line == text.count("\n")
    assert error.field == f"steps[0].{field}"
    assert "1:30 (m:ss)" in str(error)
    assert written.strip("'\"") in str(error)


@pytest.mark.parametrize("written", OVER_AN_HOUR)
def test_a_clock_time_over_an_hour_is_refused_quoted_or_not(written: str) -> None:
    with pytest.raises(ScriptError, match="at most 1 hour"):
        parse_script(f"title: T\nsteps:\n  - pause: {written}\n", "clock.yaml")


@pytest.mark.parametrize("written", ["1:", ":30"])
def test_a_bare_colon_is_an_error_not_a_mapping_or_a_number(written: str) -> None:
    # Unquoted, YAML itself refuses these; the message names the line.
    with pytest.raises(ScriptError) as info:
        parse_script(f"title: T\nsteps:\n  - pause: {written}\n", "clock.yaml")
    assert info.value.line == 3


def test_parse_duration_text_reads_clock_times() -> None:
    assert parse_duration_text("1:30") == 90
    assert parse_duration_text("1:02:03") == 3723
    assert parse_duration_text("0:45") == 45
    assert parse_duration_text("1:75") is None
    assert parse_duration_text("1:") is None
    assert parse_duration_text(":30") is None


@pytest.mark.parametrize(
    ("key", "written"),
    [("reps", "1:30"), ("countdown", "0:05"), ("repeat", "1:00")],
)
def test_a_count_written_as_a_clock_time_is_refused_not_read_in_base_60(
    key: str, written: str
) -> None:
    text = {
        "reps": f"title: T\nsteps:\n  - exercise: A\n    reps: {written}\n",
        "countdown": f"title: T\ncountdown: {written}\nsteps:\n  - say: Hi.\n",
        "repeat": f"title: T\nsteps:\n  - repeat: {written}\n    steps:\n      - say: Hi.\n",
    }[key]
    with pytest.raises(ScriptError, match="whole number"):
        parse_script(text, "clock.yaml")


@pytest.mark.parametrize(("written", "seconds"), GOOD, ids=[g[0] for g in GOOD])
def test_the_schema_accepts_what_the_parser_accepts(written: str, seconds: float) -> None:
    document = yaml.safe_load(f"title: T\nsteps:\n  - pause: {written}\n")
    assert not list(Draft202012Validator(SCHEMA).iter_errors(document))
    # Editors read YAML 1.2, where an unquoted 1:30 is a string, not 90.
    document["steps"][0]["pause"] = written.strip("'\"")
    assert not list(Draft202012Validator(SCHEMA).iter_errors(document))


@pytest.mark.parametrize("written", ["1:75", "1:5", "1:", ":30", "0:00", "1:2:03"])
def test_the_schema_refuses_malformed_clock_times(written: str) -> None:
    document = {"title": "T", "steps": [{"pause": written}]}
    assert list(Draft202012Validator(SCHEMA).iter_errors(document))


# YAML 1.1 reads these as numbers other than they show (030 is octal 24, 0x1E
# is 30, 1_000 is 1000) while their quoted spellings stay text: each means
# what it shows, quoted or not, or is refused both ways.
NUMBERS_AS_SHOWN = [("030", 30.0), ('"030"', 30.0), ("010", 10.0), ("'010'", 10.0), ("+30", 30.0)]
NOT_DECIMAL = ["0x1E", '"0x1E"', "0b11", "0o36", "1_000", '"1_000"', "1.5e3", ".inf"]


@pytest.mark.parametrize(("written", "seconds"), NUMBERS_AS_SHOWN)
def test_a_number_with_a_leading_zero_is_decimal_quoted_or_not(
    written: str, seconds: float
) -> None:
    session = parse_script(script_with(written), "zero.yaml")
    pause, exercise, breathe = session.steps
    assert isinstance(pause, Pause) and isinstance(exercise, Exercise)
    assert isinstance(breathe, Breathe) and exercise.hold is not None
    assert pause.duration_s == exercise.hold.duration_s == exercise.rest_s == seconds
    assert breathe.for_s == seconds


@pytest.mark.parametrize("written", NOT_DECIMAL)
@pytest.mark.parametrize("field", FIELDS)
def test_a_number_in_another_base_is_refused_quoted_or_not(written: str, field: str) -> None:
    with pytest.raises(ScriptError) as caught:
        parse_script(script_with(written), "base.yaml")
    message = str(caught.value)
    assert f".{field}: expected a duration such as 30, 500ms, 30s or 1m30s" in message


@pytest.mark.parametrize("written", ["010", "'010'", "08", '"08"'])
def test_a_count_with_a_leading_zero_is_decimal_quoted_or_not(written: str) -> None:
    text = f"title: T\nsteps:\n  - exercise: A\n    reps: {written}\n"
    (exercise,) = parse_script(text, "count.yaml").steps
    assert exercise.reps == int(written.strip("'\""))  # type: ignore[union-attr]


@pytest.mark.parametrize("written", ["0x0A", "0b11", "1_0", "3.0", "'three'"])
def test_a_count_in_another_base_is_refused(written: str) -> None:
    with pytest.raises(ScriptError, match="whole number"):
        parse_script(f"title: T\nsteps:\n  - exercise: A\n    reps: {written}\n", "count.yaml")


def test_a_count_of_thousands_of_digits_is_out_of_range_not_a_crash() -> None:
    # Python will not make an int of more than 4300 digits (ValueError).
    written = "9" * 5000
    with pytest.raises(ScriptError) as caught:
        parse_script(f"title: T\nsteps:\n  - exercise: A\n    reps: {written}\n", "count.yaml")
    assert str(caught.value) == (
        "count.yaml:4:11: steps[0].reps: expected a whole number from 1 to 100, "
        "got a number of 5000 digits"
    )
