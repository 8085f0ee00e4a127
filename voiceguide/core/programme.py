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
from typing import NoReturn

import yaml

from .generate import Request
from .library import GOALS, POSITION_CHOICES
from .plural import counted
from .yaml_nodes import Node, compose, error_at, is_decimal, is_null, what


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
    """A programme file's text; a mistake is a ``ScriptError``: one line naming the
    file, line and field, as for a script."""
    root = compose(text, source, "a programme is a mapping with title and phases")
    return _Reader(source).programme(root)


PROGRAMME_KEYS = ("title", "description", "phases", "rules", "back_to")
PHASE_KEYS = ("name", "goal", "minutes", "level", "position", "per_day", "per_week", "min_days")


class _Reader:
    """Reads the node tree, so that each mistake points at its line and numbers
    are read as written, as in a script (yaml_nodes)."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, node: Node | None, field: str | None, message: str) -> NoReturn:
        raise error_at(self.source, node, field, message)

    def programme(self, root: Node) -> Programme:
        if not isinstance(root, yaml.MappingNode):
            self.fail(root, None, "a programme is a mapping with title and phases")
        data = self.fields(root, "", PROGRAMME_KEYS)
        phases_node = data.get("phases")
        if not isinstance(phases_node, yaml.SequenceNode) or not phases_node.value:
            self.fail(phases_node or root, "phases", "a list of at least one phase is required")
        phases = tuple(self.phase(entry, i) for i, entry in enumerate(phases_node.value))
        rules = self.fields(data.get("rules"), "rules.", ("forward", "back"))
        forward = self.fields(rules.get("forward"), "rules.forward.", ("pain_at_most", "days"))
        back = self.fields(rules.get("back"), "rules.back.", ("pain_rise",))
        rules_read = Rules(
            pain_at_most=self.whole(forward, "pain_at_most", 2, 0, 10, "rules.forward."),
            days=self.whole(forward, "days", 3, 1, 60, "rules.forward."),
            pain_rise=self.whole(back, "pain_rise", 3, 1, 10, "rules.back."),
        )
        names = [phase.name for phase in phases]
        back_node = data.get("back_to")
        back_to = names[0] if back_node is None else _text(back_node)
        if back_to not in names:
            self.fail(back_node, "back_to", f"{_shown(back_node)} is not a phase; one of {names}")
        title = _text(data.get("title"))
        if title is None or not title.strip():
            self.fail(data.get("title", root), "title", "a programme needs a title")
        return Programme(title, phases, rules_read, names.index(back_to))

    def fields(self, node: Node | None, where: str, keys: tuple[str, ...]) -> dict[str, Node]:
        """The mapping's values by key; an absent or empty one has none."""
        if node is None or is_null(node):
            return {}
        if not isinstance(node, yaml.MappingNode):
            self.fail(node, where.rstrip(".") or "programme", "expected a mapping")
        found: dict[str, Node] = {}
        for key_node, value_node in node.value:
            key = _text(key_node) or what(key_node)
            if key not in keys:
                self.fail(key_node, f"{where}{key}", f"unknown key; known: {sorted(keys)}")
            if key in found:
                first = found[key].start_mark.line + 1
                message = f"the key '{key}' appears twice (first on line {first}); keep one"
                self.fail(key_node, f"{where}{key}", message)
            found[key] = value_node
        return found

    def whole(
        self, fields: dict[str, Node], key: str, default: int, low: int, high: int, where: str
    ) -> int:
        node = fields.get(key)
        if node is None:
            return default
        value = _decimal(node)
        if not isinstance(value, int) or not low <= value <= high:
            shown = _shown(node, value)
            self.fail(node, f"{where}{key}", f"a whole number {low}..{high}, not {shown}")
        return value

    def phase(self, node: Node, index: int) -> Phase:
        where = f"phases[{index}]."
        if is_null(node):  # "- " alone: fields() would take it for a phase with no keys
            self.fail(node, f"phases[{index}]", "expected a mapping")
        entry = self.fields(node, where, PHASE_KEYS)
        goal = _text(entry.get("goal"))
        if goal not in GOALS:
            shown = _shown(entry.get("goal"))
            self.fail(
                entry.get("goal", node), f"{where}goal", f"one of {', '.join(GOALS)}, not {shown}"
            )
        position = _text(entry["position"]) if "position" in entry else "any"
        if position not in POSITION_CHOICES:
            choices = ", ".join(POSITION_CHOICES)
            self.fail(entry["position"], f"{where}position", f"one of {choices}")
        minutes = _decimal(entry.get("minutes"))
        if minutes is None or not 3 <= minutes <= 90:
            shown = _shown(entry.get("minutes"), minutes)
            self.fail(entry.get("minutes", node), f"{where}minutes", f"a number 3..90, not {shown}")
        per_day = self.whole(entry, "per_day", 0, 0, 10, where)
        per_week = self.whole(entry, "per_week", 0, 0, 21, where)
        if bool(per_day) == bool(per_week):
            self.fail(node, f"{where}per_day or per_week", "give one of them")
        name_node = entry.get("name")
        if name_node is not None and not isinstance(name_node, yaml.ScalarNode):
            self.fail(name_node, f"{where}name", f"a name, not {what(name_node)}")
        return Phase(
            name=_text(name_node) or goal,
            goal=goal,
            minutes=float(minutes),
            level=self.whole(entry, "level", 1, 1, 3, where),
            position=position,
            per_day=per_day,
            per_week=per_week,
            min_days=self.whole(entry, "min_days", 0, 0, 365, where),
        )


def _text(node: Node | None) -> str | None:
    """A scalar's text as written (so ``name: 10`` is the name "10"), or None."""
    if isinstance(node, yaml.ScalarNode) and not is_null(node):
        return str(node.value)
    return None


def _decimal(node: Node | None) -> int | float | None:
    """A number as written: ``010`` is 10, and ``0x3``, ``1_0``, ``1:30`` or ``true``
    are not numbers (YAML 1.1 reads them as 3, 10, 90 and 1)."""
    value = _text(node)
    if node is None or value is None or not is_decimal(value, str(node.tag)):
        return None
    try:
        return int(value)
    except ValueError:  # a fraction, or too many digits for an int
        return float(value)


def _shown(node: Node | None, number: float | None = None) -> str:
    """The value in a message: the number read, or the text as written."""
    if number is not None:
        return repr(number)
    if node is None or is_null(node):
        return "None"  # absent or empty: the wording these messages have always had
    return what(node)


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
