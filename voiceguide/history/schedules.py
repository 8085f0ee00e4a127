"""Schedules and what became of each time one was due, in the session log's database.

``schedule_runs`` holds one row per schedule and due instant (UTC): 'started'
(with the run it started), 'missed' (due while no hub ran), 'skipped' (the
speaker stayed busy, or could not be reached: ``reason`` says), 'quiet'
(inside quiet hours) or 'snoozed' (moved to ``play_at``, which gets its own
row when it comes). A due time with no row has not been dealt with yet.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

from .. import examples
from ..core.recurrence import Recurrence, parse_quiet
from .log import from_utc_text, utc_text

HERE = "here"  # the target that plays on the hub's own sound device
RunOutcome = Literal["started", "missed", "skipped", "snoozed", "quiet"]


@dataclass(frozen=True)
class Schedule:
    id: int
    script: str  # an absolute path, or example:NAME
    times: tuple[str, ...]  # local "HH:MM"
    days: frozenset[int]  # 0 = Monday
    target: str  # a speaker's name or URL, "here", or ha:media_player.NAME
    time_zone: str  # IANA name
    until: date | None
    quiet: str | None  # "HH:MM-HH:MM"
    busy_wait_minutes: int
    paused: bool
    created_at: datetime
    since: datetime

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    @property
    def recurrence(self) -> Recurrence:
        times = tuple(time.fromisoformat(t) for t in self.times)
        quiet = parse_quiet(self.quiet) if self.quiet else None
        return Recurrence(times, self.days, self.until, quiet)


@dataclass(frozen=True)
class ScheduleRun:
    schedule_id: int
    due_at: datetime
    outcome: RunOutcome
    reason: str
    run_id: int | None
    play_at: datetime | None


_COLUMNS = (
    "id, script, times, days, target, time_zone, until, quiet, busy_wait_minutes,"
    " paused, created_at, since"
)


def script_path(stored: str) -> Path:
    """The script file a schedule names (example:NAME is a bundled one)."""
    return examples.expand(stored) or Path(stored)


def _schedule(row: tuple[Any, ...]) -> Schedule:
    return Schedule(
        id=row[0],
        script=row[1],
        times=tuple(json.loads(row[2])),
        days=frozenset(json.loads(row[3])),
        target=row[4],
        time_zone=row[5],
        until=date.fromisoformat(row[6]) if row[6] else None,
        quiet=row[7],
        busy_wait_minutes=row[8],
        paused=bool(row[9]),
        created_at=from_utc_text(row[10]),
        since=from_utc_text(row[11] or row[10]),
    )


def _schedule_run(row: tuple[Any, ...]) -> ScheduleRun:
    play_at = from_utc_text(row[5]) if row[5] else None
    return ScheduleRun(row[0], from_utc_text(row[1]), row[2], row[3], row[4], play_at)


class Schedules:
    """The schedules on one connection (from ``history.connect``)."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self.connection = connection

    def add(
        self,
        script: str,
        times: list[str],
        days: frozenset[int],
        target: str,
        time_zone: str,
        now: datetime,
        until: date | None = None,
        quiet: str | None = None,
        busy_wait_minutes: int = 10,
    ) -> int:
        cursor = self.connection.execute(
            f"INSERT INTO schedules ({_COLUMNS.removeprefix('id, ')})"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?)",
            (
                script,
                json.dumps(sorted(set(times))),
                json.dumps(sorted(days)),
                target,
                time_zone,
                until.isoformat() if until else None,
                quiet,
                busy_wait_minutes,
                utc_text(now),
                utc_text(now),
            ),
        )
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    def all(self) -> list[Schedule]:
        rows = self.connection.execute(f"SELECT {_COLUMNS} FROM schedules ORDER BY id")
        return [_schedule(row) for row in rows.fetchall()]

    def get(self, schedule_id: int) -> Schedule | None:
        row = self.connection.execute(
            f"SELECT {_COLUMNS} FROM schedules WHERE id = ?", (schedule_id,)
        ).fetchone()
        return None if row is None else _schedule(row)

    def remove(self, schedule_id: int) -> bool:
        cursor = self.connection.execute("DELETE FROM schedules WHERE id = ?", (schedule_id,))
        return cursor.rowcount > 0

    def set_paused(self, schedule_id: int | None, paused: bool, now: datetime) -> int:
        """Pauses or resumes one schedule, or all; how many changed. Resuming starts
        counting afresh: what fell due while paused is not missed."""
        where = "paused != ?" + ("" if schedule_id is None else " AND id = ?")
        arguments: tuple[Any, ...] = (int(paused),)
        if schedule_id is not None:
            arguments += (schedule_id,)
        since = "since" if paused else "?"
        if not paused:
            arguments = (utc_text(now), *arguments)
        cursor = self.connection.execute(
            f"UPDATE schedules SET paused = {int(paused)}, since = {since} WHERE {where}",
            arguments,
        )
        return cursor.rowcount

    # --- what became of each due time -------------------------------------------

    def runs(
        self, schedule_id: int | None = None, since: datetime | None = None
    ) -> list[ScheduleRun]:
        """Rows due at or after ``since``, oldest first."""
        sql = (
            "SELECT schedule_id, due_at, outcome, reason, run_id, play_at FROM schedule_runs"
            " WHERE due_at >= ?"
        )
        arguments: tuple[Any, ...] = ("" if since is None else utc_text(since),)
        if schedule_id is not None:
            sql += " AND schedule_id = ?"
            arguments += (schedule_id,)
        rows = self.connection.execute(sql + " ORDER BY due_at, schedule_id", arguments)
        return [_schedule_run(row) for row in rows.fetchall()]

    def record(
        self,
        schedule_id: int,
        due_at: datetime,
        outcome: RunOutcome,
        reason: str = "",
        run_id: int | None = None,
        play_at: datetime | None = None,
    ) -> bool:
        """Records a due time's outcome; False if it already had one (another hub,
        or a snooze, got there first), and nothing changes."""
        try:
            cursor = self.connection.execute(
                "INSERT OR IGNORE INTO schedule_runs"
                " (schedule_id, due_at, outcome, reason, run_id, play_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (
                    schedule_id,
                    utc_text(due_at),
                    outcome,
                    reason,
                    run_id,
                    utc_text(play_at) if play_at else None,
                ),
            )
        except sqlite3.IntegrityError:  # the schedule was removed meanwhile
            return False
        return cursor.rowcount > 0

    def snooze(self, schedule_id: int, due_at: datetime, minutes: int) -> datetime | None:
        """Moves the run due at ``due_at`` ``minutes`` later; the new time, or None
        if that due time was already dealt with."""
        play_at = due_at + timedelta(minutes=minutes)
        if self.record(schedule_id, due_at, "snoozed", f"snoozed {minutes} min", play_at=play_at):
            return play_at
        return None
