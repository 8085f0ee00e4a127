"""When a schedule is due: local wall times, weekdays, an end date and quiet hours,
turned into instants in UTC.

Pure: no clock, no files. The time zone is a ``tzinfo`` passed in, so tests
give it any zone and any "now". A schedule says what a person means on their
wall clock, and daylight saving makes two kinds of wall time odd:

- a time that does not exist (spring forward: 02:30 in Berlin on 2026-03-29)
  is due at the first valid moment after it (03:00 CEST), once: two times
  that land there are one due time;
- a time that occurs twice (fall back: 02:30 in Berlin on 2026-10-25) is due
  the first time only (``fold=0``, CEST).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Literal

from ..errors import UsageError

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
EVERY_DAY = frozenset(range(7))
_CLOCK = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
# The longest gap any zone has had in its wall clock is a day (Samoa, 2011).
_LONGEST_GAP_MINUTES = 24 * 60 + 1


@dataclass(frozen=True)
class Recurrence:
    """What a schedule says about time, in the words of its wall clock."""

    times: tuple[time, ...]
    days: frozenset[int] = EVERY_DAY  # 0 = Monday .. 6 = Sunday
    until: date | None = None  # the last local date, inclusive
    quiet: tuple[time, time] | None = None  # [start, end), may wrap past midnight


@dataclass(frozen=True)
class Due:
    at: datetime  # the instant, in UTC
    wall: datetime  # the local date and time the schedule names (naive)
    quiet: bool  # inside quiet hours: logged, not played


def parse_clock(text: str, option: str) -> time:
    """'08:00' or '8:00' -> time(8, 0)."""
    match = _CLOCK.match(text.strip())
    if match is None:
        raise UsageError(f"{option} {text}: give a time of day as HH:MM, such as 08:00")
    return time(int(match[1]), int(match[2]))


def parse_days(text: str) -> frozenset[int]:
    """'daily', 'mon-fri', 'mon,wed,fri', 'sat-mon' (wrapping) -> weekday numbers."""
    wanted = text.strip().lower()
    if wanted in ("daily", "every day", "all"):
        return EVERY_DAY
    if wanted in ("weekdays",):
        return frozenset(range(5))
    if wanted in ("weekends", "weekend"):
        return frozenset({5, 6})
    days: set[int] = set()
    for part in wanted.split(","):
        first, _, last = part.strip().partition("-")
        start = _day(first, text)
        end = _day(last, text) if last else start
        days.update((start + offset) % 7 for offset in range((end - start) % 7 + 1))
    return frozenset(days)


def _day(name: str, text: str) -> int:
    key = name.strip()[:3]
    if len(name.strip()) < 3 or key not in DAY_NAMES:
        raise UsageError(
            f"--days {text}: give days as mon-fri, mon,wed,fri or daily "
            f"('{name.strip()}' is not a day)"
        )
    return DAY_NAMES.index(key)


def parse_quiet(text: str) -> tuple[time, time]:
    """'22:00-07:00' -> (22:00, 07:00)."""
    start, dash, end = text.partition("-")
    if not dash:
        raise UsageError(f"--quiet {text}: give quiet hours as HH:MM-HH:MM, such as 22:00-07:00")
    quiet = (parse_clock(start, "--quiet"), parse_clock(end, "--quiet"))
    if quiet[0] == quiet[1]:
        raise UsageError(f"--quiet {text}: quiet hours that start when they end are empty")
    return quiet


def days_text(days: frozenset[int]) -> str:
    """The form --days takes: 'daily', 'mon-fri', 'mon,wed,fri'."""
    if days == EVERY_DAY:
        return "daily"
    runs: list[list[int]] = []
    for day in sorted(days):
        if runs and runs[-1][-1] == day - 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    return ",".join(
        f"{DAY_NAMES[run[0]]}-{DAY_NAMES[run[-1]]}"
        if len(run) > 2
        else ",".join(DAY_NAMES[d] for d in run)
        for run in runs
    )


def in_quiet_hours(moment: time, quiet: tuple[time, time] | None) -> bool:
    if quiet is None:
        return False
    start, end = quiet
    if start < end:
        return start <= moment < end
    return moment >= start or moment < end  # across midnight


def instant(wall: datetime, zone: tzinfo) -> datetime:
    """The UTC instant of a local wall time: the first of two, or the first valid
    moment after a wall time that the clock skips."""
    found = _exact(wall, zone)
    if found is not None:
        return found
    # In a gap: the first wall minute after it that exists is where the clock jumped to.
    step = wall.replace(second=0, microsecond=0)
    for _ in range(_LONGEST_GAP_MINUTES):
        step += timedelta(minutes=1)
        found = _exact(step, zone)
        if found is not None:
            return found
    raise ValueError(f"{wall} is in a gap longer than a day in {zone}")


def _exact(wall: datetime, zone: tzinfo) -> datetime | None:
    # fold=0 is the first of a repeated wall time; for one in a gap, the round
    # trip through UTC lands on another wall time.
    at = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    return at if at.astimezone(zone).replace(tzinfo=None) == wall else None


def due_between(recurrence: Recurrence, zone: tzinfo, start: datetime, end: datetime) -> list[Due]:
    """Every due time in [start, end) (aware instants), in order, each instant once."""
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("give aware instants")
    first = start.astimezone(zone).date() - timedelta(days=1)
    last = end.astimezone(zone).date() + timedelta(days=1)
    if recurrence.until is not None:
        last = min(last, recurrence.until)
    found: dict[datetime, Due] = {}
    day = first
    while day <= last:
        if day.weekday() in recurrence.days:
            for moment in sorted(recurrence.times):
                wall = datetime.combine(day, moment)
                at = instant(wall, zone)
                if start <= at < end and at not in found:
                    local = at.astimezone(zone).time().replace(tzinfo=None)
                    found[at] = Due(at, wall, in_quiet_hours(local, recurrence.quiet))
        day += timedelta(days=1)
    return sorted(found.values(), key=lambda due: due.at)


def next_due(
    recurrence: Recurrence, zone: tzinfo, after: datetime, horizon_days: int = 8
) -> Due | None:
    """The first due time at or after ``after`` within ``horizon_days`` (a week
    covers every weekday), or None (past ``until``, or no days)."""
    found = due_between(recurrence, zone, after, after + timedelta(days=horizon_days))
    return found[0] if found else None


Action = Literal["play", "missed", "quiet"]


@dataclass(frozen=True)
class Pending:
    at: datetime  # the due instant (UTC): a schedule's own, or a snoozed run's new time
    action: Action
    snoozed: bool = False


def pending(
    recurrence: Recurrence,
    zone: tzinfo,
    since: datetime,
    now: datetime,
    grace: timedelta,
    handled: frozenset[datetime],
    snoozed_to: frozenset[datetime] = frozenset(),
) -> list[Pending]:
    """What to do now about every due time in [since, now] that has no outcome yet
    (``handled``): one older than ``grace`` is missed (nobody played it then, and a
    session played late is worse than none), one inside quiet hours is logged quiet,
    the rest play. A snoozed run (``snoozed_to``) plays even in quiet hours: a
    person asked for it."""
    found: list[Pending] = []
    limit = now + timedelta(microseconds=1)  # due_between's end is exclusive
    for due in due_between(recurrence, zone, since, limit):
        if due.at in handled:
            continue
        if due.quiet:
            found.append(Pending(due.at, "quiet"))
        else:
            found.append(Pending(due.at, "missed" if now - due.at > grace else "play"))
    for at in sorted(snoozed_to):
        if at <= now and at not in handled:
            found.append(Pending(at, "missed" if now - at > grace else "play", snoozed=True))
    return sorted(found, key=lambda p: p.at)


def upcoming(
    recurrence: Recurrence,
    zone: tzinfo,
    now: datetime,
    handled: frozenset[datetime],
    snoozed_to: frozenset[datetime] = frozenset(),
    horizon_days: int = 8,
) -> Pending | None:
    """The next run that will play after ``now``: quiet and snoozed-away times
    are left out, a snoozed run's new time counts."""
    later = [
        due.at
        for due in due_between(recurrence, zone, now, now + timedelta(days=horizon_days))
        if not due.quiet and due.at not in handled
    ]
    moved = [at for at in snoozed_to if at > now and at not in handled]
    candidates = sorted([(at, False) for at in later] + [(at, True) for at in moved])
    if not candidates:
        return None
    at, snoozed = candidates[0]
    return Pending(at, "play", snoozed)
