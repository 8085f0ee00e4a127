"""Reading and writing the session log: runs (sessions played) and check-ins.

Times are stored as UTC in one fixed-width ISO 8601 form, so text order is
time order and SQLite compares them without parsing. Each write is one short
transaction: a process killed at any moment leaves every row it committed,
and none half-written.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, Self

from .database import connect

Via = Literal["play", "cast", "web", "schedule"]
Outcome = Literal["playing", "finished", "stopped", "failed"]
Moment = Literal["before", "after"]
_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


@dataclass(frozen=True)
class Run:
    """One session played: where, how far it got, how it ended. A run left
    ``playing`` by a process that died keeps the last progress it wrote."""

    id: int
    session_id: str
    title: str
    via: Via
    target: str
    started_at: datetime
    ended_at: datetime | None
    planned_ms: int
    reached_ms: int
    outcome: Outcome
    steps_skipped: int
    holds_extended: int


@dataclass(frozen=True)
class CheckIn:
    """A pain rating (0 to 10, or None for a note alone) before or after a session."""

    id: int
    run_id: int | None
    session_id: str | None
    at: datetime
    moment: Moment
    pain: int | None
    note: str


def utc_text(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("the log stores aware times only")
    return moment.astimezone(UTC).strftime(_TIME_FORMAT)


def from_utc_text(text: str) -> datetime:
    return datetime.strptime(text, _TIME_FORMAT).replace(tzinfo=UTC)


def _now() -> datetime:
    return datetime.now(UTC)


class Log:
    """The session log on one connection. Use as a context manager, or close()."""

    def __init__(
        self, connection: sqlite3.Connection, clock: Callable[[], datetime] = _now
    ) -> None:
        self.connection = connection
        self.clock = clock

    @classmethod
    def open(cls, path: Path | None = None, clock: Callable[[], datetime] = _now) -> Self:
        return cls(connect(path), clock)

    def close(self) -> None:
        self.connection.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # --- runs ---------------------------------------------------------------------

    def start_run(self, session_id: str, title: str, via: Via, target: str, planned_ms: int) -> int:
        cursor = self.connection.execute(
            "INSERT INTO runs (session_id, title, via, target, started_at, planned_ms)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (session_id, title, via, target, utc_text(self.clock()), planned_ms),
        )
        return _rowid(cursor)

    def progress(
        self,
        run_id: int,
        reached_ms: int,
        steps_skipped: int | None = None,
        holds_extended: int | None = None,
        planned_ms: int | None = None,
    ) -> None:
        """How far a run has got; the counts and the planned length, when given,
        replace the stored ones (a live session knows its length only once the
        whole of it is planned)."""
        self.connection.execute(
            "UPDATE runs SET reached_ms = MAX(reached_ms, ?),"
            " steps_skipped = COALESCE(?, steps_skipped),"
            " holds_extended = COALESCE(?, holds_extended),"
            " planned_ms = COALESCE(?, planned_ms) WHERE id = ?",
            (reached_ms, steps_skipped, holds_extended, planned_ms, run_id),
        )

    def end_run(self, run_id: int, outcome: Outcome, reached_ms: int | None = None) -> None:
        self.connection.execute(
            "UPDATE runs SET outcome = ?, ended_at = ?,"
            " reached_ms = MAX(reached_ms, COALESCE(?, 0)) WHERE id = ?",
            (outcome, utc_text(self.clock()), reached_ms, run_id),
        )

    def run(self, run_id: int) -> Run | None:
        row = self.connection.execute(_RUN_COLUMNS + " WHERE id = ?", (run_id,)).fetchone()
        return None if row is None else _run(row)

    def runs(self, since: datetime | None = None, until: datetime | None = None) -> list[Run]:
        """Runs started in [since, until), oldest first."""
        rows = self.connection.execute(
            _RUN_COLUMNS + " WHERE started_at >= ? AND started_at < ? ORDER BY started_at, id",
            _span(since, until),
        ).fetchall()
        return [_run(row) for row in rows]

    # --- check-ins ----------------------------------------------------------------

    def add_checkin(
        self,
        moment: Moment,
        pain: int | None,
        note: str = "",
        run_id: int | None = None,
        session_id: str | None = None,
    ) -> int:
        if pain is not None and not 0 <= pain <= 10:
            raise ValueError(f"a pain rating is 0 to 10, not {pain}")
        cursor = self.connection.execute(
            "INSERT INTO checkins (run_id, session_id, at, moment, pain, note)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (run_id, session_id, utc_text(self.clock()), moment, pain, note),
        )
        return _rowid(cursor)

    def link_checkins(self, run_id: int, checkin_ids: list[int]) -> None:
        """Ties check-ins made before a run started to it (the web player asks first)."""
        for checkin_id in checkin_ids:
            self.connection.execute(
                "UPDATE checkins SET run_id = ? WHERE id = ? AND run_id IS NULL",
                (run_id, checkin_id),
            )

    def checkins(
        self, since: datetime | None = None, until: datetime | None = None
    ) -> list[CheckIn]:
        """Check-ins made in [since, until), oldest first."""
        rows = self.connection.execute(
            "SELECT id, run_id, session_id, at, moment, pain, note FROM checkins"
            " WHERE at >= ? AND at < ? ORDER BY at, id",
            _span(since, until),
        ).fetchall()
        return [CheckIn(r[0], r[1], r[2], from_utc_text(r[3]), *r[4:]) for r in rows]

    # --- schedules, as far as the History page shows them -------------------------

    def missed(
        self, since: datetime | None = None, until: datetime | None = None
    ) -> list[datetime]:
        """When scheduled runs were due and missed (the hub was down), oldest first."""
        rows = self.connection.execute(
            "SELECT due_at FROM schedule_runs WHERE outcome = 'missed'"
            " AND due_at >= ? AND due_at < ? ORDER BY due_at",
            _span(since, until),
        ).fetchall()
        return [_any_time(row[0]) for row in rows]

    # --- the person's control over their data ------------------------------------

    def forget(self, before: datetime | None = None) -> tuple[int, int]:
        """Deletes runs and check-ins from before ``before`` (all of them without
        it); returns how many of each. The space they took is overwritten."""
        limit = "9999" if before is None else utc_text(before)
        self.connection.execute("BEGIN IMMEDIATE")
        try:
            checkins = self.connection.execute("DELETE FROM checkins WHERE at < ?", (limit,))
            runs = self.connection.execute("DELETE FROM runs WHERE started_at < ?", (limit,))
            self.connection.execute("COMMIT")
        except BaseException:
            self.connection.execute("ROLLBACK")
            raise
        # Deleted rows may still sit in the write-ahead log until it is checkpointed.
        self.connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return runs.rowcount, checkins.rowcount


_RUN_COLUMNS = (
    "SELECT id, session_id, title, via, target, started_at, ended_at, planned_ms,"
    " reached_ms, outcome, steps_skipped, holds_extended FROM runs"
)


def _run(row: tuple[Any, ...]) -> Run:
    ended = None if row[6] is None else from_utc_text(row[6])
    return Run(
        id=row[0],
        session_id=row[1],
        title=row[2],
        via=row[3],
        target=row[4],
        started_at=from_utc_text(row[5]),
        ended_at=ended,
        planned_ms=row[7],
        reached_ms=row[8],
        outcome=row[9],
        steps_skipped=row[10],
        holds_extended=row[11],
    )


def _any_time(text: str) -> datetime:
    try:
        return from_utc_text(text)
    except ValueError:  # another writer's ISO 8601 form
        moment = datetime.fromisoformat(text)
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _span(since: datetime | None, until: datetime | None) -> tuple[str, str]:
    # "" sorts before every time and "9999" after: no special case for None.
    return ("" if since is None else utc_text(since), "9999" if until is None else utc_text(until))


def _rowid(cursor: sqlite3.Cursor) -> int:
    assert cursor.lastrowid is not None  # an INSERT always sets it
    return cursor.lastrowid
