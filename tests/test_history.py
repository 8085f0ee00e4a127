"""The session log's database: WAL, migrations under a version, round trips, forgetting."""

from __future__ import annotations

import sqlite3
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from voiceguide.errors import UserError
from voiceguide.history import SCHEMA_VERSION, Log, connect, default_path
from voiceguide.history.database import MIGRATIONS


class Clock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


def test_the_log_is_under_xdg_data_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert default_path() == tmp_path / "voiceguide" / "history.sqlite3"
    monkeypatch.setenv("XDG_DATA_HOME", "relative/ignored")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert default_path() == tmp_path / ".local" / "share" / "voiceguide" / "history.sqlite3"


def test_a_new_log_is_wal_at_the_latest_version_and_private(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "history.sqlite3"
    with connect(path) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert connection.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_an_old_log_is_migrated_and_keeps_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    old = sqlite3.connect(path, isolation_level=None)
    old.executescript(MIGRATIONS[0] + ";PRAGMA user_version = 1;")
    old.execute(
        "INSERT INTO checkins (at, moment, pain) VALUES ('2026-11-01T08:00:00.000000Z', 'before', 6)"
    )
    old.close()
    with Log.open(path) as log:
        assert [(c.moment, c.pain) for c in log.checkins()] == [("before", 6)]
        version = log.connection.execute("PRAGMA user_version").fetchone()[0]
        tables = {r[0] for r in log.connection.execute("SELECT name FROM sqlite_master")}
    assert version == SCHEMA_VERSION
    assert {"runs", "checkins", "schedules", "schedule_runs"} <= tables


def test_a_log_from_a_newer_voiceguide_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    newer = sqlite3.connect(path, isolation_level=None)
    newer.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    newer.close()
    with pytest.raises(UserError, match="newer voiceguide"):
        connect(path)
    check = sqlite3.connect(path)
    assert check.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION + 1
    assert check.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] == 0


def test_a_file_that_is_not_a_database_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    path.write_bytes(b"this is not sqlite at all" * 100)
    with pytest.raises(UserError, match=r"history\.sqlite3: the session log cannot be read"):
        connect(path)


def test_runs_and_checkins_round_trip_in_time_order(tmp_path: Path) -> None:
    clock = Clock(datetime(2026, 11, 30, 7, 59, tzinfo=UTC))
    with Log.open(tmp_path / "h.sqlite3", clock) as log:
        before = log.add_checkin("before", 7, "stiff after sleeping", session_id="seed")
        run = log.start_run("seed", "Back spasm relief", "play", "here", planned_ms=600_000)
        clock.now += timedelta(minutes=5)
        log.progress(run, 300_000, steps_skipped=1, holds_extended=2)
        log.progress(run, 200_000)  # a seek back does not undo how far it got
        clock.now += timedelta(minutes=5)
        log.end_run(run, "finished", reached_ms=600_000)
        log.add_checkin("after", 4, run_id=run)
        (played,) = log.runs()
        checkins = log.checkins()
        assert log.runs(since=clock.now) == []
    assert (played.reached_ms, played.steps_skipped, played.holds_extended) == (600_000, 1, 2)
    assert played.outcome == "finished" and played.via == "play"
    assert played.started_at == datetime(2026, 11, 30, 7, 59, tzinfo=UTC)
    assert played.ended_at == played.started_at + timedelta(minutes=10)
    assert [(c.id, c.moment, c.pain, c.run_id) for c in checkins] == [
        (before, "before", 7, None),
        (checkins[1].id, "after", 4, run),
    ]
    assert checkins[0].note == "stiff after sleeping"


def test_a_rating_outside_0_to_10_is_refused(tmp_path: Path) -> None:
    with Log.open(tmp_path / "h.sqlite3") as log:
        with pytest.raises(ValueError, match="0 to 10"):
            log.add_checkin("after", 11)
        with pytest.raises(sqlite3.IntegrityError):
            log.connection.execute(
                "INSERT INTO checkins (at, moment, pain) VALUES ('2026', 'after', -1)"
            )


def test_forget_before_a_date_keeps_the_rest_and_overwrites_the_deleted(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite3"
    clock = Clock(datetime(2026, 11, 1, 9, 0, tzinfo=UTC))
    with Log.open(path, clock) as log:
        log.add_checkin("before", 8, "SECRET-NOTE-OLD")
        clock.now = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
        log.add_checkin("before", 3, "kept")
        assert log.forget(before=datetime(2026, 11, 10, tzinfo=UTC)) == (0, 1)
        assert [c.note for c in log.checkins()] == ["kept"]
        assert log.forget() == (0, 1)
        assert log.checkins() == []
    for leftover in tmp_path.iterdir():
        assert b"SECRET-NOTE-OLD" not in leftover.read_bytes(), leftover
