"""Programmes: the rules over synthetic check-ins (forward, stay, back), today's
session, the programme file, and `program status` reading the session log."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from cli_helpers import run_cli

from voiceguide import pipeline
from voiceguide.core.programme import Programme, Record, parse_programme, session_for_today
from voiceguide.errors import ScriptError
from voiceguide.history import Log

BERLIN_WINTER = timezone(timedelta(hours=1))
DAY_1 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday


@pytest.fixture(scope="module")
def back_care() -> Programme:
    return pipeline.load_programme()[0]


def at(day: int, hour: int = 9) -> datetime:
    return DAY_1 + timedelta(days=day - 1, hours=hour - 9)


def ratings(*pains: int | None, per_day: int = 1) -> list[Record]:
    """One check-in after a session each day (or ``per_day``), with these pains in turn."""
    return [
        Record(at(1 + i // per_day, 9 + i % per_day), pain, "after") for i, pain in enumerate(pains)
    ]


def phase_name(programme: Programme, records: list[Record], day: int) -> str:
    return session_for_today(programme, records, UTC, at(day, 12)).phase.name


def test_the_bundled_programme_is_relief_then_core_then_yoga(back_care: Programme) -> None:
    assert [p.goal for p in back_care.phases] == ["relief", "core", "yoga"]
    relief, core, yoga = back_care.phases
    assert relief.per_day == 3 and relief.min_days == 3
    assert core.per_week == 3 and yoga.per_week == 3
    assert back_care.rules.pain_at_most == 2 and back_care.rules.pain_rise == 3


def test_three_days_with_little_pain_move_forward(back_care: Programme) -> None:
    records = ratings(2, 1, 0)
    assert phase_name(back_care, records, 3) == "relief"  # the third day is not over yet
    today = session_for_today(back_care, records, UTC, at(4, 12))
    assert today.phase.name == "core"
    assert today.moves[-1].on == date(2026, 3, 5)
    # Three more good days: yoga, the last phase, where it stays.
    records = ratings(2, 1, 0, 1, 1, 2, 0, 0, 0)
    assert phase_name(back_care, records, 7) == "yoga"
    assert phase_name(back_care, records, 10) == "yoga"


def test_a_painful_day_restarts_the_count_so_the_phase_stays(back_care: Programme) -> None:
    records = ratings(1, 3, 1, 2)
    assert phase_name(back_care, records, 5) == "relief"
    today = session_for_today(back_care, records, UTC, at(5, 12))
    assert today.good_days == 2 and today.moves == ()
    # Days without any check-in neither count nor break the count.
    gaps = [Record(at(1), 1), Record(at(4), 2), Record(at(9), 0)]
    assert phase_name(back_care, gaps, 9) == "relief"
    assert phase_name(back_care, gaps, 10) == "core"


def test_pain_up_by_three_moves_back_to_relief_the_same_day(back_care: Programme) -> None:
    records = ratings(1, 1, 1, 2, 2)  # core from day 4
    assert phase_name(back_care, records, 6) == "core"
    records.append(Record(at(6, 10), 5, "after"))  # 2 -> 5: up by 3
    today = session_for_today(back_care, records, UTC, at(6, 12))
    assert today.phase.name == "relief"
    assert today.moves[-1].why == "pain rose from 2 to 5"
    assert today.request is not None and today.request.goal == "relief"


def test_a_rise_of_two_does_not_move_back(back_care: Programme) -> None:
    records = [*ratings(1, 1, 1, 2), Record(at(5, 10), 4, "after")]
    assert phase_name(back_care, records, 5) == "core"


def test_a_rise_within_a_session_counts_before_to_after(back_care: Programme) -> None:
    records = ratings(0, 0, 0, 0)
    records += [Record(at(5, 8), 1, "before"), Record(at(5, 9), 4, "after")]
    assert phase_name(back_care, records, 5) == "relief"


def test_days_are_counted_in_the_persons_time_zone(back_care: Programme) -> None:
    # 23:30 UTC is already the next day one hour east: three days there, two in UTC.
    records = [
        Record(at(1, 12), 1),
        Record(at(1, 23) + timedelta(minutes=30), 1),
        Record(at(3, 12), 1),
    ]
    assert session_for_today(back_care, records, BERLIN_WINTER, at(4, 12)).phase.name == "core"
    assert session_for_today(back_care, records, UTC, at(4, 12)).phase.name == "relief"


def test_a_day_phase_counts_todays_sessions(back_care: Programme) -> None:
    records = [Record(at(1, 8), 3, "before"), Record(at(1, 9), 2, "after")]
    today = session_for_today(back_care, records, UTC, at(1, 12))
    assert (today.session_number, today.sessions_planned) == (2, 3)
    records += [Record(at(1, 13), 2, "after"), Record(at(1, 18), 2, "after")]
    done = session_for_today(back_care, records, UTC, at(1, 20))
    assert done.session_number is None and done.request is None
    # The same day and session give the same seed: the session can be made again.
    again = session_for_today(back_care, records[:2], UTC, at(1, 12))
    assert again.request == today.request


def test_a_week_phase_spreads_its_sessions(back_care: Programme) -> None:
    core = ratings(1, 1, 1)  # core from Thursday, day 4
    thursday = session_for_today(back_care, core, UTC, at(4, 12))
    assert thursday.phase.name == "core" and thursday.session_number == 1
    done = [*core, Record(at(4, 13), 1, "after")]
    # Friday follows a session: a rest day, since Saturday and Sunday are left for one more.
    friday = session_for_today(back_care, done, UTC, at(5, 12))
    assert friday.session_number is None
    # Saturday: two more are needed and two days are left, so no more rest.
    saturday = session_for_today(back_care, done, UTC, at(6, 12))
    assert saturday.sessions_done == 1 and saturday.session_number == 2
    next_monday = session_for_today(back_care, done, UTC, at(8, 12))
    assert next_monday.session_number == 1 and next_monday.request is not None
    assert next_monday.request.goal == "core" and next_monday.request.minutes == 15


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("title: X\nphases: []\n", "mine.yaml:2:9: phases"),
        (
            "title: X\nphases:\n  - {goal: dance, minutes: 5, per_day: 1}\n",
            "mine.yaml:3:12: phases[0].goal",
        ),
        (
            "title: X\nphases:\n  - {goal: core, minutes: 5}\n",
            "mine.yaml:3:5: phases[0].per_day or per_week",
        ),
        (
            "title: X\nphases:\n  - {goal: core, minutes: 500, per_day: 1}\n",
            "mine.yaml:3:27: phases[0].minutes",
        ),
        (
            "title: X\nphases:\n  - {goal: core, minutes: 5, per_day: 1, hodl: 1}\n",
            "mine.yaml:3:42: phases[0].hodl",
        ),
        (
            "title: X\nback_to: yoga\nphases:\n  - {goal: core, minutes: 5, per_day: 1}\n",
            "mine.yaml:2:10: back_to",
        ),
    ],
)
def test_a_bad_programme_file_names_the_file_line_and_field(text: str, named: str) -> None:
    with pytest.raises(ScriptError) as caught:
        parse_programme(text, "mine.yaml")
    assert str(caught.value).startswith(f"{named}: ")
    assert caught.value.exit_status == 2


PHASE = """\
title: Mine
phases:
  - name: first
    goal: relief
    minutes: {minutes}
    per_day: {per_day}
"""


def refusal(text: str) -> str:
    with pytest.raises(ScriptError) as caught:
        parse_programme(text, "mine.yaml")
    return str(caught.value)


def test_a_wrong_value_is_one_line_naming_file_line_and_field() -> None:
    message = refusal(PHASE.format(minutes="x", per_day=1))
    assert message == "mine.yaml:5:14: phases[0].minutes: a number 3..90, not 'x'"


@pytest.mark.parametrize("written", ["010", "'010'", '"010"'])
def test_minutes_with_a_leading_zero_are_decimal_quoted_or_not(written: str) -> None:
    # YAML 1.1 reads an unquoted 010 as octal 8.
    programme = parse_programme(PHASE.format(minutes=written, per_day="03"), "mine.yaml")
    assert programme.phases[0].minutes == 10
    assert programme.phases[0].per_day == 3


@pytest.mark.parametrize("written", ["0x3", "'0x3'", "0o3", "0b11", "1_0", "1:30", "true"])
def test_a_count_not_written_in_decimal_is_refused_naming_its_line(written: str) -> None:
    text = PHASE.format(minutes=8, per_day=1).replace("per_day: 1", f"per_week: {written}")
    shown = written.strip("'")
    assert (
        refusal(text) == f"mine.yaml:6:15: phases[0].per_week: a whole number 0..21, not '{shown}'"
    )


def test_an_alias_is_refused_before_it_is_expanded() -> None:
    text = "title: Mine\nphases:\n  - &p {goal: relief, minutes: 8, per_day: 1}\n  - *p\n"
    assert refusal(text) == (
        "mine.yaml:3:5: YAML anchors and aliases are not allowed; "
        "put text that starts with * or & in quotes"
    )


def test_a_missing_goal_points_at_its_phase() -> None:
    text = (
        PHASE.format(minutes=8, per_day=1) + "  - name: later\n    minutes: 10\n    per_week: 3\n"
    )
    assert refusal(text) == (
        "mine.yaml:7:5: phases[1].goal: one of relief, core, yoga, breathing, mixed, not None"
    )


def test_program_status_refuses_a_bad_file_in_one_line_naming_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text(PHASE.format(minutes=8, per_day="0x3"), encoding="utf-8")
    code, _, err = run_cli(["program", "status", str(path)], capsys)
    assert code == 2
    assert err.splitlines() == [
        f"voiceguide: {path}:6:14: phases[0].per_day: a whole number 0..10, not '0x3'"
    ]


def test_program_status_reads_the_check_ins_from_the_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    code, out, _ = run_cli(["program", "status", "--json"], capsys)
    assert code == 0
    assert json.loads(out)["phase"]["name"] == "relief"
    code, text, _ = run_cli(["program", "status"], capsys)
    assert "\nToday: session 1 of 3: voiceguide new --goal relief " in text
    assert not (tmp_path / "voiceguide").exists()  # status alone creates no log
    # Three days ago, the day before and yesterday, at noon here: pain 1 each time.
    now = datetime.now(UTC).astimezone()
    noon = now.replace(hour=12, minute=0, second=0, microsecond=0)
    moments = iter(noon - timedelta(days=n) for n in (3, 2, 1))
    with Log.open(clock=lambda: next(moments).astimezone(UTC)) as log:
        for _ in range(3):
            log.add_checkin("after", 1)
    code, out, _ = run_cli(["program", "status", "--json"], capsys)
    status = json.loads(out)
    assert status["phase"]["name"] == "core"
    assert status["moves"][-1]["to"] == "core"
    assert "loss of bladder or bowel control" in status["red_flags"]
    code, text, _ = run_cli(["program", "status"], capsys)
    assert code == 0
    assert text.startswith("Back care: phase 2 of 3, core")
    assert "\nToday: session 1 of 3 this week: voiceguide new --goal core " in text
    assert "numbness" in text and "pain after a fall" in text


def test_program_status_refuses_a_missing_file_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run_cli(["program", "status", str(tmp_path / "nope.yaml")], capsys)
    assert code == 2
    assert "nope.yaml: no such file" in err and "back-care" in err


ONE_A_DAY = """\
title: Short
back_to: first
rules:
  forward: {pain_at_most: 2, days: 1}
  back: {pain_rise: 3}
phases:
  - {name: first, goal: relief, minutes: 5, per_day: 1, min_days: 1}
  - {name: second, goal: core, minutes: 5, per_day: 1}
"""


def test_one_good_day_and_one_session_a_day_are_singular(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    programme = parse_programme(ONE_A_DAY, "short.yaml")
    today = session_for_today(programme, ratings(1), UTC, at(2, 12))
    assert today.moves[-1].why == "1 day with pain at most 2"
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    path = tmp_path / "short.yaml"
    path.write_text(ONE_A_DAY, encoding="utf-8")
    code, text, _ = run_cli(["program", "status", str(path)], capsys)
    assert code == 0
    assert text.startswith("Short: phase 1 of 2, first (1 session a day, 5 min)")
