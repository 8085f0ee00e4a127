"""Programmes: phases of sessions that move on as the back gets better.

Pure rules over check-ins, given as (aware time, pain) records and a time
zone: no log, no clock. ``session_for_today`` is what `voiceguide program
status` prints and what a schedule calls to know what to play today.

The rules, applied to the check-ins in time order:

- **forward**: a day whose worst pain is at most ``pain_at_most`` (2) is a
  good day, any other day with a rating starts the count again; after
  ``days`` (3) good days, and at least the phase's ``min_days`` days in it,
  the programme moves to the next phase from the next day on.
- **back**: a rating at least ``pain_rise`` (3) above the rating before it
  (after a session, or from one day to the next) moves it back to the
  ``back_to`` phase (relief) at once, even on the same day.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from typing import Any

import yaml

from ..errors import UsageError
from .generate import Request
from .library import GOALS, POSITION_CHOICES
from .plural import counted


@dataclass(frozen=True)
class Phase:
    name: str
    goal: str
    minutes: float
    level: int = 1
    position: str = "any"
    per_day: int = 0  # sessions each day; or
    per_week: int = 0  # sessions each week (Monday to Sunday)
    min_days: int = 0  # days in the phase before it may move on


@dataclass(frozen=True)
class Rules:
    pain_at_most: int = 2
    days: int = 3
    pain_rise: int = 3


@dataclass(frozen=True)
class Programme:
    title: str
    phases: tuple[Phase, ...]
    rules: Rules = Rules()
    back_to: int = 0  # the phase a rise in pain returns to


@dataclass(frozen=True)
class Record:
    """A check-in as the rules see it."""

    at: datetime  # aware
    pain: int | None
    moment: str = "after"  # "before" or "after" a session


@dataclass(frozen=True)
class Move:
    on: date
    to_phase: int
    why: str


@dataclass(frozen=True)
class Today:
    """Which phase the programme is in, and today's session."""

    day: date
    phase_index: int
    phase: Phase
    good_days: int  # counted towards moving on
    sessions_done: int  # today (a day's phase) or this week (a week's phase)
    session_number: int | None  # today's next session, from 1; None: nothing more today
    sessions_planned: int  # today's, or this week's
    request: Request | None  # what to make for it, with `voiceguide new`
    moves: tuple[Move, ...] = field(default=())


def parse_programme(text: str, source: str) -> Programme:
    """A programme file's text; a mistake is one line naming the file and field."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise UsageError(f"{source}: not YAML: {exc}".splitlines()[0]) from None
    if not isinstance(data, dict):
        raise UsageError(f"{source}: a programme is a mapping with title and phases")
    _known(data, {"title", "description", "phases", "rules", "back_to"}, source, "")
    phases_data = data.get("phases")
    if not isinstance(phases_data, list) or not phases_data:
        raise UsageError(f"{source}: phases: a list of at least one phase is required")
    phases = tuple(_phase(entry, source, i) for i, entry in enumerate(phases_data))
    rules_data = data.get("rules") or {}
    _known(rules_data, {"forward", "back"}, source, "rules.")
    forward = rules_data.get("forward") or {}
    back = rules_data.get("back") or {}
    _known(forward, {"pain_at_most", "days"}, source, "rules.forward.")
    _known(back, {"pain_rise"}, source, "rules.back.")
    rules = Rules(
        pain_at_most=_int(forward, "pain_at_most", 2, 0, 10, source, "rules.forward."),
        days=_int(forward, "days", 3, 1, 60, source, "rules.forward."),
        pain_rise=_int(back, "pain_rise", 3, 1, 10, source, "rules.back."),
    )
    names = [phase.name for phase in phases]
    back_to = data.get("back_to", names[0])
    if back_to not in names:
        raise UsageError(f"{source}: back_to: {back_to!r} is not a phase; one of {names}")
    title = data.get("title")
    if not isinstance(title, str) or not title.strip():
        raise UsageError(f"{source}: title: a programme needs a title")
    return Programme(title, phases, rules, names.index(back_to))


def _known(data: Any, keys: set[str], source: str, where: str) -> None:
    if not isinstance(data, dict):
        raise UsageError(f"{source}: {where.rstrip('.') or 'programme'}: expected a mapping")
    for key in data:
        if key not in keys:
            raise UsageError(f"{source}: {where}{key}: unknown key; known: {sorted(keys)}")


def _int(
    data: dict[str, Any], key: str, default: int, low: int, high: int, source: str, where: str
) -> int:
    value = data.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise UsageError(f"{source}: {where}{key}: a whole number {low}..{high}, not {value!r}")
    return value


def _phase(entry: Any, source: str, index: int) -> Phase:
    where = f"phases[{index}]."
    _known(
        entry,
        {"name", "goal", "minutes", "level", "position", "per_day", "per_week", "min_days"},
        source,
        where,
    )
    goal = entry.get("goal")
    if goal not in GOALS:
        raise UsageError(f"{source}: {where}goal: one of {', '.join(GOALS)}, not {goal!r}")
    position = entry.get("position", "any")
    if position not in POSITION_CHOICES:
        raise UsageError(f"{source}: {where}position: one of {', '.join(POSITION_CHOICES)}")
    minutes = entry.get("minutes")
    if not isinstance(minutes, int | float) or isinstance(minutes, bool) or not 3 <= minutes <= 90:
        raise UsageError(f"{source}: {where}minutes: a number 3..90, not {minutes!r}")
    per_day = _int(entry, "per_day", 0, 0, 10, source, where)
    per_week = _int(entry, "per_week", 0, 0, 21, source, where)
    if bool(per_day) == bool(per_week):
        raise UsageError(f"{source}: {where}per_day or per_week: give one of them")
    return Phase(
        name=str(entry.get("name") or goal),
        goal=goal,
        minutes=float(minutes),
        level=_int(entry, "level", 1, 1, 3, source, where),
        position=position,
        per_day=per_day,
        per_week=per_week,
        min_days=_int(entry, "min_days", 0, 0, 365, source, where),
    )


def phase_on(
    programme: Programme, records: Iterable[Record], zone: tzinfo, today: date
) -> tuple[int, int, tuple[Move, ...], date]:
    """(phase index, good days counted, the moves, the day the phase began) after
    the check-ins up to ``today``.

    Days before today decide moving forward; a rise in pain counts at once.
    """
    rules = programme.rules
    phase = 0
    good = 0
    entered: date | None = None
    moves: list[Move] = []
    previous: int | None = None
    rated = sorted((r for r in records if r.pain is not None), key=lambda r: r.at)
    by_day: dict[date, list[Record]] = {}
    for record in rated:
        by_day.setdefault(record.at.astimezone(zone).date(), []).append(record)
    for day in sorted(d for d in by_day if d <= today):
        entered = entered or day
        worst = 0
        for record in by_day[day]:
            pain = int(record.pain or 0)
            worst = max(worst, pain)
            if previous is not None and pain - previous >= rules.pain_rise:
                if phase != programme.back_to or good:
                    why = f"pain rose from {previous} to {pain}"
                    moves.append(Move(day, programme.back_to, why))
                phase, good, entered = programme.back_to, 0, day
            previous = pain
        if day >= today:
            break
        good = good + 1 if worst <= rules.pain_at_most else 0
        days_in = (day - entered).days + 1
        last = phase == len(programme.phases) - 1
        if good >= rules.days and days_in >= programme.phases[phase].min_days and not last:
            why = f"{counted(good, 'day')} with pain at most {rules.pain_at_most}"
            phase, good, entered = phase + 1, 0, day + timedelta(days=1)
            moves.append(Move(day + timedelta(days=1), phase, why))
    return phase, good, tuple(moves), entered or today


def session_for_today(
    programme: Programme, records: Sequence[Record], zone: tzinfo, now: datetime
) -> Today:
    """The programme's phase and today's session (None on a rest day or when
    today's are done), from the check-ins in ``records``."""
    today = now.astimezone(zone).date()
    index, good, moves, began = phase_on(programme, records, zone, today)
    phase = programme.phases[index]
    # Sessions of this phase: a session is done when its "after" check-in is in.
    done_on = [
        day
        for day in (r.at.astimezone(zone).date() for r in records if r.moment == "after")
        if day >= began
    ]
    if phase.per_day:
        done = sum(1 for day in done_on if day == today)
        planned = phase.per_day
        number = done + 1 if done < planned else None
    else:
        monday = today - timedelta(days=today.weekday())
        done = sum(1 for day in done_on if monday <= day <= today)
        planned = phase.per_week
        done_today = today in done_on
        left_in_week = 7 - today.weekday()
        needed = planned - done
        # Spread over the week: a day off after a session, unless the days left
        # are only just enough.
        yesterday = today - timedelta(days=1) in done_on
        rest = needed <= 0 or done_today or (yesterday and left_in_week > needed)
        number = None if rest else done + 1
    request = None
    if number is not None:
        seed = int(today.strftime("%Y%m%d")) * 10 + number
        request = Request(
            goal=phase.goal,
            minutes=phase.minutes,
            position=phase.position,
            level=phase.level,
            seed=seed,
        )
    return Today(today, index, phase, good, done, number, planned, request, moves)
