"""When schedules are due: real time zones across real daylight-saving changes,
--days, --until, quiet hours, missed runs and snoozes, all on an injected clock."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from voiceguide.core.recurrence import (
    Due,
    Recurrence,
    days_text,
    due_between,
    instant,
    next_due,
    parse_days,
    parse_quiet,
    pending,
    upcoming,
)
from voiceguide.errors import UsageError

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
GRACE = timedelta(minutes=2)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def walls(dues: list[Due], zone: ZoneInfo) -> list[str]:
    return [d.at.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z") for d in dues]


def test_spring_forward_plays_a_skipped_time_once_at_the_first_valid_moment() -> None:
    # 2026-03-29 in Berlin: 02:00 CET jumps to 03:00 CEST; 02:30 does not exist.
    every = Recurrence((time(2, 30), time(3, 0), time(8, 0)))
    found = due_between(every, BERLIN, utc(2026, 3, 28), utc(2026, 3, 30))
    assert walls(found, BERLIN) == [
        "2026-03-28 02:30 CET",
        "2026-03-28 03:00 CET",
        "2026-03-28 08:00 CET",
        # 02:30 and 03:00 are one instant that day: played once.
        "2026-03-29 03:00 CEST",
        "2026-03-29 08:00 CEST",
    ]
    assert found[3].at == utc(2026, 3, 29, 1, 0)
    assert found[4].at == utc(2026, 3, 29, 6, 0)  # 08:00 wall time, not 07:00 UTC


def test_fall_back_plays_a_repeated_time_once_the_first_time() -> None:
    # 2026-10-25 in Berlin: 03:00 CEST goes back to 02:00 CET; 02:30 happens twice.
    every = Recurrence((time(2, 30), time(8, 0)))
    found = due_between(every, BERLIN, utc(2026, 10, 24, 12), utc(2026, 10, 26))
    assert walls(found, BERLIN) == ["2026-10-25 02:30 CEST", "2026-10-25 08:00 CET"]
    assert found[0].at == utc(2026, 10, 25, 0, 30)
    assert found[1].at == utc(2026, 10, 25, 7, 0)


def test_new_york_changes_on_its_own_dates() -> None:
    # The US changes on 2026-03-08 and 2026-11-01, not with Europe.
    every = Recurrence((time(2, 15), time(9, 0)))
    spring = due_between(every, NEW_YORK, utc(2026, 3, 8, 5), utc(2026, 3, 9, 5))
    assert walls(spring, NEW_YORK) == ["2026-03-08 03:00 EDT", "2026-03-08 09:00 EDT"]
    autumn = due_between(every, NEW_YORK, utc(2026, 11, 1, 4), utc(2026, 11, 2, 5))
    assert walls(autumn, NEW_YORK) == ["2026-11-01 02:15 EST", "2026-11-01 09:00 EST"]
    # Between the two changes, 09:00 in New York is 13:00 UTC in summer, 14:00 in winter.
    assert spring[1].at == utc(2026, 3, 8, 13)
    assert autumn[1].at == utc(2026, 11, 1, 14)


def test_the_first_of_two_repeated_times_in_new_york() -> None:
    every = Recurrence((time(1, 30),))
    found = due_between(every, NEW_YORK, utc(2026, 11, 1), utc(2026, 11, 2))
    assert [d.at for d in found] == [utc(2026, 11, 1, 5, 30)]  # 01:30 EDT, not 01:30 EST


def test_a_time_in_the_gap_is_the_moment_the_clock_jumps_to() -> None:
    assert instant(datetime(2026, 3, 29, 2, 0), BERLIN) == utc(2026, 3, 29, 1, 0)
    assert instant(datetime(2026, 3, 29, 2, 59), BERLIN) == utc(2026, 3, 29, 1, 0)
    assert instant(datetime(2026, 3, 29, 3, 0), BERLIN) == utc(2026, 3, 29, 1, 0)
    assert instant(datetime(2026, 3, 29, 1, 59), BERLIN) == utc(2026, 3, 29, 0, 59)


def test_days_pick_weekdays_in_local_time() -> None:
    # 2026-11-30 is a Monday. 00:30 in Berlin is still Sunday in UTC: the local
    # weekday counts.
    weekdays = Recurrence((time(0, 30), time(13, 0)), parse_days("mon-fri"))
    found = due_between(weekdays, BERLIN, utc(2026, 11, 28), utc(2026, 12, 6, 12))
    days = {d.at.astimezone(BERLIN).strftime("%a") for d in found}
    assert days == {"Mon", "Tue", "Wed", "Thu", "Fri"}
    assert len(found) == 10
    assert found[0].at == utc(2026, 11, 29, 23, 30)  # Monday 00:30 CET, Sunday in UTC
    some = Recurrence((time(8, 0),), parse_days("mon,wed,fri"))
    found = due_between(some, BERLIN, utc(2026, 11, 30), utc(2026, 12, 7))
    assert walls(found, BERLIN) == [
        "2026-11-30 08:00 CET",
        "2026-12-02 08:00 CET",
        "2026-12-04 08:00 CET",
    ]


def test_days_are_read_and_written_back() -> None:
    assert parse_days("daily") == frozenset(range(7))
    assert parse_days("sat-mon") == frozenset({5, 6, 0})
    assert parse_days("Mon, Wednesday,fri") == frozenset({0, 2, 4})
    assert days_text(parse_days("mon-fri")) == "mon-fri"
    assert days_text(parse_days("mon,wed,fri")) == "mon,wed,fri"
    assert days_text(parse_days("mon-wed,sat")) == "mon-wed,sat"
    for bad in ("", "mo", "funday", "mon-xyz"):
        with pytest.raises(UsageError, match="--days"):
            parse_days(bad)


def test_until_is_a_local_date_inclusive() -> None:
    ending = Recurrence((time(8, 0), time(23, 30)), until=date(2026, 12, 14))
    found = due_between(ending, NEW_YORK, utc(2026, 12, 13, 5), utc(2026, 12, 20))
    # 23:30 on the 14th in New York is 04:30 UTC on the 15th: still the 14th there.
    assert walls(found, NEW_YORK) == [
        "2026-12-13 08:00 EST",
        "2026-12-13 23:30 EST",
        "2026-12-14 08:00 EST",
        "2026-12-14 23:30 EST",
    ]
    assert next_due(ending, NEW_YORK, utc(2026, 12, 15, 5)) is None


def test_quiet_hours_mark_times_across_midnight() -> None:
    quiet = parse_quiet("22:00-07:00")
    every = Recurrence((time(6, 59), time(7, 0), time(21, 59), time(22, 0)), quiet=quiet)
    found = due_between(every, BERLIN, utc(2026, 12, 1), utc(2026, 12, 2))
    marks = {d.wall.strftime("%H:%M"): d.quiet for d in found}
    assert marks == {"06:59": True, "07:00": False, "21:59": False, "22:00": True}
    with pytest.raises(UsageError, match="--quiet"):
        parse_quiet("22:00")
    with pytest.raises(UsageError, match="--quiet"):
        parse_quiet("07:00-07:00")


def test_times_missed_while_down_are_missed_not_played_late() -> None:
    every = Recurrence((time(8, 0), time(13, 0), time(19, 0)), quiet=parse_quiet("18:30-19:30"))
    since = utc(2026, 12, 1, 6)  # the schedule was added, or last resumed
    # The hub comes back at 13:01 Berlin on the 2nd, nothing handled since the 1st.
    now = utc(2026, 12, 2, 12, 1)
    found = pending(every, BERLIN, since, now, GRACE, frozenset())
    assert [(p.at.astimezone(BERLIN).strftime("%d %H:%M"), p.action) for p in found] == [
        ("01 08:00", "missed"),
        ("01 13:00", "missed"),
        ("01 19:00", "quiet"),
        ("02 08:00", "missed"),
        ("02 13:00", "play"),  # within the grace: played now
    ]
    # What already has an outcome is left alone; before `since` is not the schedule's.
    handled = frozenset(p.at for p in found)
    assert pending(every, BERLIN, since, now, GRACE, handled) == []
    later = pending(every, BERLIN, utc(2026, 12, 2, 6), now, GRACE, frozenset())
    assert [p.action for p in later] == ["missed", "play"]
    # Three minutes after the time, it is missed too.
    late = pending(every, BERLIN, utc(2026, 12, 2, 11), now + timedelta(minutes=2), GRACE,
                   frozenset())  # fmt: skip
    assert [p.action for p in late] == ["missed"]


def test_a_suspend_across_a_change_of_clock_misses_each_time_once() -> None:
    every = Recurrence((time(2, 30), time(8, 0)))
    since = utc(2026, 3, 28, 12)
    now = utc(2026, 3, 29, 12)
    found = pending(every, BERLIN, since, now, GRACE, frozenset())
    assert [p.at.astimezone(BERLIN).strftime("%H:%M %Z") for p in found] == [
        "03:00 CEST",
        "08:00 CEST",
    ]
    assert {p.action for p in found} == {"missed"}


def test_a_snoozed_run_plays_at_its_new_time_even_in_quiet_hours() -> None:
    every = Recurrence((time(21, 50),), quiet=parse_quiet("22:00-07:00"))
    due = utc(2026, 12, 1, 20, 50)  # 21:50 in Berlin
    moved = due + timedelta(minutes=20)  # 22:10: quiet hours, but asked for
    handled = frozenset({due})  # the snoozed row
    before = pending(every, BERLIN, utc(2026, 12, 1), moved - timedelta(seconds=1), GRACE,
                     handled, frozenset({moved}))  # fmt: skip
    assert before == []
    found = pending(every, BERLIN, utc(2026, 12, 1), moved, GRACE, handled, frozenset({moved}))
    assert [(p.at, p.action, p.snoozed) for p in found] == [(moved, "play", True)]
    nxt = upcoming(every, BERLIN, utc(2026, 12, 1, 20), handled, frozenset({moved}))
    assert nxt is not None and (nxt.at, nxt.snoozed) == (moved, True)


def test_upcoming_skips_quiet_and_handled_times() -> None:
    every = Recurrence((time(7, 0), time(13, 0)), quiet=parse_quiet("06:00-08:00"))
    now = utc(2026, 12, 1, 5)  # 06:00 Berlin
    nxt = upcoming(every, BERLIN, now, frozenset())
    assert nxt is not None and nxt.at == utc(2026, 12, 1, 12)
    nxt = upcoming(every, BERLIN, now, frozenset({utc(2026, 12, 1, 12)}))
    assert nxt is not None and nxt.at == utc(2026, 12, 2, 12)
