"""Opening the log's SQLite file: WAL mode, a busy timeout, and the migrations.

Every migration runs in one ``BEGIN IMMEDIATE`` transaction together with the
``user_version`` it sets, so two processes opening an old file at once cannot
both migrate it, and a process killed mid-migration leaves the previous
version intact. A file from a newer voiceguide is refused rather than guessed at.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from ..errors import UserError

# Append only: a migration that has shipped is never edited, since databases
# out there already ran it.
MIGRATIONS: tuple[str, ...] = (
    # 1: sessions played, and the check-ins around them.
    """
    CREATE TABLE runs (
        id INTEGER PRIMARY KEY,
        session_id TEXT NOT NULL,
        title TEXT NOT NULL,
        via TEXT NOT NULL CHECK (via IN ('play', 'cast', 'web', 'schedule')),
        target TEXT NOT NULL,
        started_at TEXT NOT NULL,
        ended_at TEXT,
        planned_ms INTEGER NOT NULL CHECK (planned_ms >= 0),
        reached_ms INTEGER NOT NULL DEFAULT 0 CHECK (reached_ms >= 0),
        outcome TEXT NOT NULL DEFAULT 'playing'
            CHECK (outcome IN ('playing', 'finished', 'stopped', 'failed')),
        steps_skipped INTEGER NOT NULL DEFAULT 0,
        holds_extended INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX runs_by_start ON runs (started_at);
    CREATE TABLE checkins (
        id INTEGER PRIMARY KEY,
        run_id INTEGER REFERENCES runs (id) ON DELETE SET NULL,
        session_id TEXT,
        at TEXT NOT NULL,
        moment TEXT NOT NULL CHECK (moment IN ('before', 'after')),
        pain INTEGER CHECK (pain BETWEEN 0 AND 10),
        note TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX checkins_by_time ON checkins (at);
    """,
    # 2: schedules, and what became of each time one was due.
    """
    CREATE TABLE schedules (
        id INTEGER PRIMARY KEY,
        script TEXT NOT NULL,
        times TEXT NOT NULL,
        days TEXT NOT NULL,
        target TEXT NOT NULL,
        time_zone TEXT NOT NULL,
        until TEXT,
        quiet TEXT,
        busy_wait_minutes INTEGER NOT NULL DEFAULT 10 CHECK (busy_wait_minutes >= 0),
        paused INTEGER NOT NULL DEFAULT 0 CHECK (paused IN (0, 1)),
        created_at TEXT NOT NULL,
        -- Due times before this instant (its last resume, NULL: its creation)
        -- are not this schedule's: they are neither played nor missed.
        since TEXT
    );
    CREATE TABLE schedule_runs (
        id INTEGER PRIMARY KEY,
        schedule_id INTEGER NOT NULL REFERENCES schedules (id) ON DELETE CASCADE,
        due_at TEXT NOT NULL,
        outcome TEXT NOT NULL
            CHECK (outcome IN ('started', 'missed', 'skipped', 'snoozed', 'quiet')),
        reason TEXT NOT NULL DEFAULT '',
        run_id INTEGER REFERENCES runs (id) ON DELETE SET NULL,
        -- For 'snoozed': when the run moved to (it gets its own row then).
        play_at TEXT,
        UNIQUE (schedule_id, due_at)
    );
    CREATE INDEX schedule_runs_by_due ON schedule_runs (due_at);
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)
FILE_NAME = "history.sqlite3"
# Long enough for another process's write to finish on a loaded machine; a
# write is a handful of rows, so waiting longer would mean something is wrong.
BUSY_TIMEOUT_MS = 10_000


def default_path() -> Path:
    """``$XDG_DATA_HOME/voiceguide/history.sqlite3`` (default ``~/.local/share``)."""
    base = os.environ.get("XDG_DATA_HOME", "")
    # The XDG spec says relative paths in these variables are to be ignored.
    root = Path(base) if base and os.path.isabs(base) else Path.home() / ".local" / "share"
    return root / "voiceguide" / FILE_NAME


def connect(path: Path | None = None) -> sqlite3.Connection:
    """The log at ``path`` (default: :func:`default_path`), created and migrated
    as needed. Autocommit mode: every write says where its transaction begins."""
    path = default_path() if path is None else path
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # The log holds health data: only its owner reads it.
        if not path.exists():
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
        connection = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
    except (OSError, sqlite3.Error) as exc:
        raise UserError(f"{path}: cannot open the session log: {_reason(exc)}") from exc
    try:
        _configure(connection)
        _migrate(connection, path)
    except sqlite3.DatabaseError as exc:
        connection.close()
        raise UserError(f"{path}: the session log cannot be read: {_reason(exc)}") from exc
    except BaseException:
        connection.close()
        raise
    return connection


def _configure(connection: sqlite3.Connection) -> None:
    connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    # WAL: readers (the History page) never block writers (a session in play).
    mode = connection.execute("PRAGMA journal_mode = WAL").fetchone()[0]
    if mode.lower() != "wal":
        raise sqlite3.DatabaseError(f"journal mode {mode}, not WAL")
    # FULL: a committed check-in survives even a power cut, not only kill -9;
    # the log writes a few rows per session, so the fsync costs nothing.
    connection.execute("PRAGMA synchronous = FULL")
    connection.execute("PRAGMA foreign_keys = ON")
    # What `log --forget` deletes is overwritten, not left in free pages.
    connection.execute("PRAGMA secure_delete = ON")


def _migrate(connection: sqlite3.Connection, path: Path) -> None:
    if _version(connection) == SCHEMA_VERSION:
        return
    connection.execute("BEGIN IMMEDIATE")
    try:
        # Read again inside the write lock: another process may have migrated.
        version = _version(connection)
        if version > SCHEMA_VERSION:
            raise UserError(
                f"{path}: the session log is from a newer voiceguide "
                f"(schema {version}; this one knows up to {SCHEMA_VERSION})"
            )
        for number in range(version + 1, SCHEMA_VERSION + 1):
            for statement in _statements(MIGRATIONS[number - 1]):
                connection.execute(statement)
            connection.execute(f"PRAGMA user_version = {number}")
        connection.execute("COMMIT")
    except BaseException:
        connection.execute("ROLLBACK")
        raise


def _version(connection: sqlite3.Connection) -> int:
    return int(connection.execute("PRAGMA user_version").fetchone()[0])


def _statements(script: str) -> list[str]:
    # executescript() would COMMIT the open transaction first; one statement
    # at a time keeps the migration and its version number in one transaction.
    return [s.strip() for s in script.split(";") if s.strip()]


def _reason(exc: BaseException) -> str:
    return getattr(exc, "strerror", None) or str(exc)
