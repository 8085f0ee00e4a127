"""``voiceguide schedule``: sessions at set times, carried out by ``voiceguide serve``.

The commands only write the schedule into the session log's database; a
running ``serve`` notices within seconds, without a restart.
"""

from __future__ import annotations

import os
import re
from contextlib import closing, suppress
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import click

from . import examples, pipeline
from .core.recurrence import days_text, next_due, parse_clock, parse_days, parse_quiet
from .errors import UsageError, UserError
from .history import connect
from .history.schedules import HERE, Schedule, Schedules, script_path

_HA_TARGET = re.compile(r"^ha:media_player\.[a-z0-9_]+$")
MAX_BUSY_WAIT_MINUTES = 120


def local_zone_name() -> tuple[str, str | None]:
    """The system's IANA time zone, and a note when it had to be guessed as UTC.
    From TZ, then /etc/localtime (a link into the zoneinfo tree), then /etc/timezone."""
    candidates: list[str] = []
    tz = os.environ.get("TZ", "").removeprefix(":").strip()
    if tz:
        candidates.append(tz)
    try:
        link = os.readlink("/etc/localtime")
        if "zoneinfo/" in link:
            candidates.append(link.split("zoneinfo/", 1)[1])
    except OSError:
        pass
    with suppress(OSError):
        candidates.append(Path("/etc/timezone").read_text(encoding="utf-8").strip())
    for name in candidates:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            continue
        return name, None
    return "UTC", "the system's time zone could not be found; times are taken as UTC (set TZ)"


def _script(argument: str) -> str:
    """What is stored for SCRIPT: example:NAME, or the file's absolute path; the
    script is read now, so a mistake in it is told now rather than at 08:00."""
    bundled = examples.expand(argument)
    path = bundled if bundled is not None else Path(argument).expanduser().absolute()
    pipeline.load_session(path)
    return argument if bundled is not None else str(path)


def _target(text: str) -> str:
    target = text.strip()
    if not target:
        raise UsageError("--to: give a speaker's name, its URL, here, or ha:media_player.NAME")
    if target.startswith("ha:") and not _HA_TARGET.match(target):
        raise UsageError(f"--to {target}: a Home Assistant player is ha:media_player.NAME")
    return target


def _until(text: str | None, zone: ZoneInfo) -> date | None:
    if text is None:
        return None
    try:
        until = date.fromisoformat(text)
    except ValueError:
        raise UsageError(f"--until {text}: give a date as YYYY-MM-DD, such as 2026-12-14") from None
    if until < datetime.now(zone).date():
        raise UsageError(f"--until {text}: that date has passed")
    return until


@click.group("schedule")
def schedule() -> None:
    """Sessions at set times, on a speaker or on this machine.

    `voiceguide serve` carries schedules out: keep it running (it notices new,
    removed and paused schedules within seconds). At the time it says a short
    announcement, then plays the session. Times are wall-clock times in this
    machine's time zone; see docs/schedules.md for daylight saving, quiet hours,
    busy speakers and missed runs.

    \b
    Examples:
      voiceguide schedule add scripts/back-spasm-relief.yaml --at 08:00 --at 13:00 \\
          --at 19:00 --days mon-fri --to "Living room" --until 2026-12-14
      voiceguide schedule add example:breathing-calm --at 21:30 --to here --quiet 22:00-07:00
      voiceguide schedule list
      voiceguide schedule pause 2
    """


@schedule.command("add")
@click.argument("script")
@click.option(
    "--at",
    "times",
    multiple=True,
    required=True,
    metavar="HH:MM",
    help="A time of day (repeat for several).",
)
@click.option(
    "--days",
    default="daily",
    show_default=True,
    metavar="DAYS",
    help="mon-fri, mon,wed,fri, weekends or daily.",
)
@click.option(
    "--to",
    "target",
    default=HERE,
    show_default=True,
    metavar="SPEAKER",
    help="A speaker's name or URL, here (this machine), or ha:media_player.NAME.",
)
@click.option("--until", metavar="YYYY-MM-DD", help="The last day (inclusive).")
@click.option(
    "--quiet", metavar="HH:MM-HH:MM", help="Quiet hours: a time inside them is logged, not played."
)
@click.option(
    "--busy-wait",
    "busy_wait",
    type=int,
    default=10,
    show_default=True,
    metavar="MINUTES",
    help="How long to wait for a speaker playing something else.",
)
def add(
    script: str,
    times: tuple[str, ...],
    days: str,
    target: str,
    until: str | None,
    quiet: str | None,
    busy_wait: int,
) -> None:
    """Play SCRIPT at the given times."""
    at = sorted({parse_clock(t, "--at").strftime("%H:%M") for t in times})
    weekdays = parse_days(days)
    quiet_text = None
    if quiet is not None:
        start, end = parse_quiet(quiet)
        quiet_text = f"{start:%H:%M}-{end:%H:%M}"
    if not 0 <= busy_wait <= MAX_BUSY_WAIT_MINUTES:
        raise UsageError(f"--busy-wait {busy_wait}: give 0 to {MAX_BUSY_WAIT_MINUTES} minutes")
    zone_name, note = local_zone_name()
    zone = ZoneInfo(zone_name)
    last_day = _until(until, zone)
    to = _target(target)
    stored = _script(script)
    with closing(connect()) as connection:
        schedules = Schedules(connection)
        ident = schedules.add(
            stored, at, weekdays, to, zone_name, datetime.now(UTC), last_day, quiet_text, busy_wait
        )
        added = schedules.get(ident)
    if note:
        click.echo(f"voiceguide: {note}", err=True)
    assert added is not None
    click.echo(f"added schedule {ident}: {_describe(added)}")
    if added.quiet and all(_in_quiet(added, t) for t in at):
        click.echo("voiceguide: every time is inside the quiet hours: nothing will play", err=True)


def _in_quiet(schedule: Schedule, clock: str) -> bool:
    from .core.recurrence import in_quiet_hours

    quiet = schedule.recurrence.quiet
    return in_quiet_hours(datetime.strptime(clock, "%H:%M").time(), quiet)


def _describe(schedule: Schedule) -> str:
    parts = [
        _title(schedule),
        f"at {', '.join(schedule.times)}",
        days_text(schedule.days),
        "on this computer" if schedule.target == "here" else f"on {schedule.target}",
    ]
    if schedule.until:
        parts.append(f"until {schedule.until.isoformat()}")
    if schedule.quiet:
        parts.append(f"quiet {schedule.quiet}")
    parts.append(f"busy wait {schedule.busy_wait_minutes} min")
    parts.append(schedule.time_zone)
    return ", ".join(parts)


def _title(schedule: Schedule) -> str:
    """The session's title; its path where the script is gone or broken since."""
    try:
        return pipeline.load_session(script_path(schedule.script)).title
    except UserError:
        return schedule.script


@schedule.command("list")
def list_command() -> None:
    """List the schedules, with the next time each plays."""
    with closing(connect()) as connection:
        found = Schedules(connection).all()
    if not found:
        click.echo("no schedules (add one with `voiceguide schedule add`)")
        return
    now = datetime.now(UTC)
    for item in found:
        state = "paused" if item.paused else _next_text(item, now)
        click.echo(f"{item.id:>3}  {_describe(item)}  [{state}]")


def _next_text(schedule: Schedule, now: datetime) -> str:
    due = next_due(schedule.recurrence, schedule.zone, now)
    if due is None:
        return "ended"
    local = due.at.astimezone(schedule.zone)
    return f"next {local:%a %Y-%m-%d %H:%M}" + (" (quiet)" if due.quiet else "")


def _ident(text: str) -> int:
    if not text.isdigit():
        raise UsageError(f"ID {text}: give a schedule's number (see `voiceguide schedule list`)")
    return int(text)


@schedule.command("remove")
@click.argument("ident", metavar="ID")
def remove(ident: str) -> None:
    """Remove schedule ID (what it played stays in the log)."""
    number = _ident(ident)
    with closing(connect()) as connection:
        if not Schedules(connection).remove(number):
            raise UsageError(f"ID {ident}: there is no schedule {number}")
    click.echo(f"removed schedule {number}")


def _set_paused(ident: str | None, paused: bool) -> None:
    number = None if ident is None else _ident(ident)
    verb = "paused" if paused else "resumed"
    with closing(connect()) as connection:
        schedules = Schedules(connection)
        if number is not None and schedules.get(number) is None:
            raise UsageError(f"ID {ident}: there is no schedule {number}")
        changed = schedules.set_paused(number, paused, datetime.now(UTC))
    if number is None:
        click.echo(f"{verb} {changed} schedule{'s' if changed != 1 else ''}")
    elif changed:
        click.echo(f"{verb} schedule {number}")
    else:
        click.echo(f"schedule {number} was already {verb}")


@schedule.command("pause")
@click.argument("ident", metavar="[ID]", required=False)
def pause(ident: str | None) -> None:
    """Pause schedule ID, or every schedule."""
    _set_paused(ident, True)


@schedule.command("resume")
@click.argument("ident", metavar="[ID]", required=False)
def resume(ident: str | None) -> None:
    """Resume schedule ID, or every schedule; times that fell while paused are not missed."""
    _set_paused(ident, False)
