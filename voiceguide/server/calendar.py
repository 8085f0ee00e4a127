"""/calendar.ics: the schedules as an iCalendar feed (RFC 5545) to subscribe to on a phone.

One VEVENT per active schedule and time of day: its first day as DTSTART in
the schedule's own time zone (TZID, with a VTIMEZONE drawn from the zone's
real transitions), a weekly RRULE on its days (UNTIL at the end of its last
day), a DISPLAY alarm at the time, and the player page as URL and in the
description. UIDs are stable, so a calendar updates an event rather than
adding another. No health data and no notes: titles, times and links only.
A time always inside quiet hours never plays, so it has no event.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from ..core.recurrence import DAY_NAMES, in_quiet_hours
from ..history.schedules import Schedule

_BYDAY = [name[:2].upper() for name in DAY_NAMES]  # MO, TU, ...
# Transitions are written for this many years around the schedules' own span:
# calendars use their own rules for a known IANA zone beyond that anyway.
_YEARS_AHEAD = 5


@dataclass(frozen=True)
class Item:
    schedule: Schedule
    title: str
    duration_s: float
    page_url: str


def calendar(items: list[Item], name: str = "voiceguide sessions") -> str:
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//voiceguide//schedules//EN",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        f"X-WR-CALNAME:{_text(name)}",
    ]
    zones = sorted({item.schedule.time_zone for item in items})
    for zone_name in zones:
        spans = [_span(item.schedule) for item in items if item.schedule.time_zone == zone_name]
        first = min(start for start, _ in spans)
        last = max(end for _, end in spans)
        lines += _vtimezone(zone_name, first.year - 1, last.year + 1)
    for item in items:
        lines += _events(item)
    lines.append("END:VCALENDAR")
    return "".join(_fold(line) + "\r\n" for line in lines)


def _span(schedule: Schedule) -> tuple[date, date]:
    start = schedule.since.astimezone(schedule.zone).date()
    end = schedule.until or start.replace(year=start.year + _YEARS_AHEAD)
    return start, end


def _events(item: Item) -> list[str]:
    schedule = item.schedule
    zone = schedule.zone
    first_day = _first_day(schedule)
    if first_day is None:
        return []
    quiet = schedule.recurrence.quiet
    rule = f"RRULE:FREQ=WEEKLY;BYDAY={','.join(_BYDAY[d] for d in sorted(schedule.days))}"
    if schedule.until is not None:
        last = datetime.combine(schedule.until, time(23, 59, 59), zone).astimezone(UTC)
        rule += f";UNTIL={last:%Y%m%dT%H%M%SZ}"
    minutes = max(1, round(item.duration_s / 60))
    lines: list[str] = []
    for clock in schedule.times:
        at = time.fromisoformat(clock)
        if in_quiet_hours(at, quiet):
            continue
        start = datetime.combine(first_day, at)
        where = "this computer" if schedule.target == "here" else schedule.target
        description = f"{item.title} on {where}, {clock}. Player: {item.page_url}"
        lines += [
            "BEGIN:VEVENT",
            f"UID:voiceguide-schedule-{schedule.id}-{at:%H%M}-"
            f"{schedule.created_at:%Y%m%dT%H%M%S}@voiceguide",
            f"DTSTAMP:{schedule.created_at.astimezone(UTC):%Y%m%dT%H%M%SZ}",
            f"DTSTART;TZID={schedule.time_zone}:{start:%Y%m%dT%H%M%S}",
            f"DURATION:PT{minutes}M",
            rule,
            f"SUMMARY:{_text(item.title)}",
            f"DESCRIPTION:{_text(description)}",
            f"URL;VALUE=URI:{item.page_url}",
            "BEGIN:VALARM",
            "ACTION:DISPLAY",
            "TRIGGER;RELATED=START:PT0S",
            f"DESCRIPTION:{_text(item.title)}",
            "END:VALARM",
            "END:VEVENT",
        ]
    return lines


def _first_day(schedule: Schedule) -> date | None:
    """The schedule's first day on or after it began (DTSTART must be an occurrence)."""
    day = schedule.since.astimezone(schedule.zone).date()
    for _ in range(7):
        if schedule.until is not None and day > schedule.until:
            return None
        if day.weekday() in schedule.days:
            return day
        day += timedelta(days=1)
    return None


@functools.lru_cache(maxsize=32)
def _vtimezone(zone_name: str, first_year: int, last_year: int) -> tuple[str, ...]:
    zone = ZoneInfo(zone_name)
    start = datetime(first_year, 1, 1, tzinfo=UTC)
    end = datetime(last_year + 1, 1, 1, tzinfo=UTC)
    lines = ["BEGIN:VTIMEZONE", f"TZID:{zone_name}"]
    changes = _transitions(zone, start, end)
    if not changes:
        offset = _offset(zone.utcoffset(start))
        lines += [
            "BEGIN:STANDARD",
            "DTSTART:19700101T000000",
            f"TZOFFSETFROM:{offset}",
            f"TZOFFSETTO:{offset}",
            f"TZNAME:{start.astimezone(zone).tzname()}",
            "END:STANDARD",
        ]
    for at in changes:
        before = (at - timedelta(seconds=1)).astimezone(zone)
        after = at.astimezone(zone)
        kind = "DAYLIGHT" if after.dst() else "STANDARD"
        # DTSTART is the wall time the change happens at, in the offset before it.
        wall = at.replace(tzinfo=None) + (before.utcoffset() or timedelta())
        lines += [
            f"BEGIN:{kind}",
            f"DTSTART:{wall:%Y%m%dT%H%M%S}",
            f"TZOFFSETFROM:{_offset(before.utcoffset())}",
            f"TZOFFSETTO:{_offset(after.utcoffset())}",
            f"TZNAME:{after.tzname()}",
            f"END:{kind}",
        ]
    lines.append("END:VTIMEZONE")
    return tuple(lines)


def _transitions(zone: ZoneInfo, start: datetime, end: datetime) -> list[datetime]:
    """Instants (UTC) at which the zone's offset or name changes, to the minute."""
    found: list[datetime] = []
    step = timedelta(hours=6)
    at = start
    while at < end:
        nxt = at + step
        if _state(zone, at) != _state(zone, nxt):
            low, high = at, nxt
            while high - low > timedelta(minutes=1):
                middle = low + (high - low) / 2
                if _state(zone, middle) == _state(zone, low):
                    low = middle
                else:
                    high = middle
            found.append(high.replace(second=0, microsecond=0))
        at = nxt
    return found


def _state(zone: ZoneInfo, at: datetime) -> tuple[timedelta | None, str | None]:
    local = at.astimezone(zone)
    return local.utcoffset(), local.tzname()


def _offset(delta: timedelta | None) -> str:
    seconds = int((delta or timedelta()).total_seconds())
    sign = "-" if seconds < 0 else "+"
    hours, rest = divmod(abs(seconds), 3600)
    return f"{sign}{hours:02d}{rest // 60:02d}"


def _text(value: str) -> str:
    return value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def _fold(line: str) -> str:
    """Lines of at most 75 octets, continued with a space (RFC 5545 3.1)."""
    data = line.encode("utf-8")
    if len(data) <= 75:
        return line
    parts: list[str] = []
    limit = 75
    while data:
        cut = min(limit, len(data))
        while cut < len(data) and (data[cut] & 0xC0) == 0x80:  # not inside a character
            cut -= 1
        parts.append(data[:cut].decode("utf-8"))
        data = data[cut:]
        limit = 74  # the leading space counts
    return "\r\n ".join(parts)
