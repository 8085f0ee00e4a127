"""`voiceguide log`: the table, JSON and CSV, --since, --export and --forget."""

from __future__ import annotations

import csv
import io
import json
import os
import pty
import stat
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cli_helpers import run_cli

from voiceguide.history import Log


@pytest.fixture
def data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    path = tmp_path / "data" / "voiceguide" / "history.sqlite3"
    now = [datetime(2026, 11, 20, 8, 0, tzinfo=UTC)]
    with Log.open(path, clock=lambda: now[0]) as log:
        log.add_checkin("before", 7, "stiff", session_id="back-spasm-relief")
        run = log.start_run("back-spasm-relief", "Back spasm relief", "play", "here", 600_000)
        log.link_checkins(run, [1])
        log.progress(run, 300_000, steps_skipped=2, holds_extended=1)
        log.end_run(run, "stopped")
        log.add_checkin("after", 4, "looser", run_id=run)
        now[0] = datetime(2026, 11, 28, 19, 30, tzinfo=UTC)
        run = log.start_run("gentle-yoga", "Gentle yoga", "cast", "Living Room", 900_000)
        log.end_run(run, "finished", 900_000)
    return path


def test_the_table_has_a_row_per_session_with_how_far_and_the_pain(
    data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run_cli(["log"], capsys)
    assert code == 0
    header, first, second = out.splitlines()
    assert header.split() == ["date", "session", "where", "how", "far", "pain", "note"]
    assert "Back spasm relief" in first and "here" in first
    assert "5:00 / 10:00 stopped" in first and "7 -> 4" in first
    assert first.endswith("stiff / looser")
    assert "Living Room" in second and "15:00 / 15:00 finished" in second and "- -> -" in second


def test_json_csv_and_since(data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(["log", "--json"], capsys)
    rows = json.loads(out)
    assert code == 0 and [r["session"] for r in rows] == ["back-spasm-relief", "gentle-yoga"]
    assert (rows[0]["pain_before"], rows[0]["pain_after"], rows[0]["steps_skipped"]) == (7, 4, 2)
    assert rows[0]["reached_s"] == 300.0 and rows[1]["where"] == "Living Room"
    code, out, _ = run_cli(["log", "--csv", "--since", "2026-11-25"], capsys)
    table = list(csv.DictReader(io.StringIO(out)))
    assert code == 0 and [r["title"] for r in table] == ["Gentle yoga"]
    assert table[0]["outcome"] == "finished"
    code, _, err = run_cli(["log", "--since", "last week"], capsys)
    assert code == 2 and "--since: give a date" in err


def test_export_is_atomic_private_json_of_everything(
    data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "backup.json"
    old_umask = os.umask(0o022)
    try:
        code, _, _ = run_cli(["log", "--export", str(target)], capsys)
    finally:
        os.umask(old_umask)
    assert code == 0
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    exported = json.loads(target.read_text())
    assert len(exported["runs"]) == 2 and len(exported["checkins"]) == 2
    assert {c["note"] for c in exported["checkins"]} == {"stiff", "looser"}
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".backup")] == []


def test_forget_needs_yes_without_a_terminal_and_forgets_before_a_date(
    data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run_cli(["log", "--forget"], capsys)
    assert code == 2 and "--yes" in err
    with Log.open(data) as log:
        assert len(log.runs()) == 2
    code, _, err = run_cli(["log", "--forget", "--before", "2026-11-25", "--yes"], capsys)
    assert code == 0 and "deleted 1 session and 2 check-ins" in err
    with Log.open(data) as log:
        assert [r.title for r in log.runs()] == ["Gentle yoga"] and log.checkins() == []
    assert b"stiff" not in data.read_bytes()
    code, _, err = run_cli(["log", "--before", "2026-11-25"], capsys)
    assert code == 2 and "--before goes with --forget" in err


def test_forget_on_a_terminal_asks_first(data: Path) -> None:
    env = {**os.environ, "XDG_DATA_HOME": str(data.parent.parent)}
    for answer, left in ((b"n\n", 2), (b"y\n", 0)):
        master, slave = pty.openpty()
        process = subprocess.Popen(
            [sys.executable, "-m", "voiceguide", "log", "--forget"],
            stdin=slave, stdout=slave, stderr=slave, env=env,
        )  # fmt: skip
        os.close(slave)
        seen = b""
        while b"[y/N]" not in seen:
            seen += os.read(master, 1024)
        os.write(master, answer)
        assert process.wait(timeout=60) == 0
        os.close(master)
        with Log.open(data) as log:
            assert len(log.runs()) == left


def test_an_empty_log_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "nothing"))
    code, out, err = run_cli(["log"], capsys)
    assert code == 0 and out == "" and "no sessions recorded yet" in err
    assert not (tmp_path / "nothing").exists()
