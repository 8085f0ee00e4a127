"""`voiceguide schedule add/list/remove/pause/resume`: what lands in the database,
and one sentence with exit status 2 for each kind of bad input."""

from __future__ import annotations

import sqlite3
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from cli_helpers import run_cli

from voiceguide.history import Log, connect
from voiceguide.history.schedules import Schedules
from voiceguide.schedule_cli import local_zone_name

SCRIPT = "title: Morning stretch\nsteps:\n  - say: Stretch.\n"


@pytest.fixture(autouse=True)
def data_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("TZ", "Europe/Berlin")
    return tmp_path / "data"


@pytest.fixture
def script(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "stretch.yaml"
    path.write_text(SCRIPT)
    monkeypatch.chdir(tmp_path)
    return path


def stored() -> Schedules:
    return Schedules(connect())


def test_add_stores_the_schedule_with_an_absolute_path_and_the_zone(
    script: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["schedule", "add", "stretch.yaml", "--at", "13:00", "--at", "8:00", "--days",
            "mon-fri", "--to", "Living room", "--until", "2099-12-14", "--quiet",
            "22:00-07:00", "--busy-wait", "5"]  # fmt: skip
    code, out, err = run_cli(args, capsys)
    assert (code, err) == (0, "")
    assert out.startswith("added schedule 1: Morning stretch, at 08:00, 13:00, mon-fri,")
    [schedule] = stored().all()
    assert schedule.script == str(script.resolve())
    assert schedule.times == ("08:00", "13:00")
    assert schedule.days == frozenset(range(5))
    assert schedule.target == "Living room"
    assert schedule.time_zone == "Europe/Berlin"
    assert schedule.until == date(2099, 12, 14)
    assert schedule.quiet == "22:00-07:00"
    assert schedule.busy_wait_minutes == 5
    assert not schedule.paused


def test_a_bundled_script_is_stored_by_name(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, _ = run_cli(["schedule", "add", "example:back-spasm-relief", "--at", "08:00"], capsys)
    assert code == 0
    [schedule] = stored().all()
    assert (schedule.script, schedule.target, schedule.days) == (
        "example:back-spasm-relief",
        "here",
        frozenset(range(7)),
    )


@pytest.mark.parametrize(
    ("extra", "named"),
    [
        (["--at", "25:00"], "--at 25:00"),
        (["--at", "8"], "--at 8"),
        (["--at", "08:00", "--days", "mon-fry"], "--days mon-fry"),
        (["--at", "08:00", "--until", "14.12.2026"], "--until 14.12.2026"),
        (["--at", "08:00", "--until", "2020-01-01"], "--until 2020-01-01"),
        (["--at", "08:00", "--quiet", "22:00"], "--quiet 22:00"),
        (["--at", "08:00", "--quiet", "22:00-31:00"], "--quiet 31:00"),
        (["--at", "08:00", "--busy-wait", "500"], "--busy-wait 500"),
        (["--at", "08:00", "--to", "ha:kitchen"], "--to ha:kitchen"),
    ],
)
def test_bad_input_is_one_sentence_naming_the_option_and_nothing_is_stored(
    script: Path, capsys: pytest.CaptureFixture[str], extra: list[str], named: str
) -> None:
    code, _, err = run_cli(["schedule", "add", "stretch.yaml", *extra], capsys)
    assert code == 2
    assert len(err.strip().splitlines()) == 1, err
    assert named in err
    assert stored().all() == []


def test_a_broken_or_missing_script_is_refused_when_added(
    tmp_path: Path, script: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run_cli(["schedule", "add", "missing.yaml", "--at", "08:00"], capsys)
    assert code == 2 and "missing.yaml: no such file" in err
    (tmp_path / "broken.yaml").write_text("title: x\nsteps:\n  - pause: soon\n")
    code, _, err = run_cli(["schedule", "add", "broken.yaml", "--at", "08:00"], capsys)
    assert code == 2 and "broken.yaml:3" in err
    assert stored().all() == []


def test_list_pause_resume_remove(script: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for at in ("07:00", "19:00"):
        assert run_cli(["schedule", "add", "stretch.yaml", "--at", at], capsys)[0] == 0
    code, out, _ = run_cli(["schedule", "list"], capsys)
    assert code == 0
    lines = out.splitlines()
    assert len(lines) == 2 and "[next " in lines[0] and "Europe/Berlin" in lines[0]

    assert run_cli(["schedule", "pause", "2"], capsys)[1] == "paused schedule 2\n"
    assert [s.paused for s in stored().all()] == [False, True]
    assert "[paused]" in run_cli(["schedule", "list"], capsys)[1].splitlines()[1]
    assert run_cli(["schedule", "pause"], capsys)[1] == "paused 1 schedule\n"
    before = stored().get(2)
    assert run_cli(["schedule", "resume"], capsys)[1] == "resumed 2 schedules\n"
    after = stored().get(2)
    assert before is not None and after is not None
    # Resuming starts counting afresh: what fell due while paused is not "missed".
    assert after.since > before.since

    assert run_cli(["schedule", "remove", "1"], capsys)[1] == "removed schedule 1\n"
    assert [s.id for s in stored().all()] == [2]
    code, _, err = run_cli(["schedule", "remove", "1"], capsys)
    assert code == 2 and err == "voiceguide: ID 1: there is no schedule 1\n"
    code, _, err = run_cli(["schedule", "pause", "x"], capsys)
    assert code == 2 and "ID x" in err


def test_removing_a_schedule_keeps_the_runs_it_played(script: Path) -> None:
    connection = connect()
    schedules = Schedules(connection)
    now = datetime(2026, 12, 1, 8, tzinfo=UTC)
    ident = schedules.add(str(script), ["08:00"], frozenset(range(7)), "here", "UTC", now)
    run = Log(connection).start_run("stretch", "Morning stretch", "schedule", "here", 1000)
    assert schedules.record(ident, now, "started", run_id=run)
    assert not schedules.record(ident, now, "missed")  # one outcome per due time
    assert schedules.remove(ident)
    assert connection.execute("SELECT COUNT(*) FROM runs").fetchone()[0] == 1
    assert connection.execute("SELECT COUNT(*) FROM schedule_runs").fetchone()[0] == 0
    with pytest.raises(sqlite3.IntegrityError):
        connection.execute(
            "INSERT INTO schedule_runs (schedule_id, due_at, outcome) VALUES (99, 'x', 'late')"
        )


def test_the_local_zone_comes_from_tz_then_the_system(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", ":America/New_York")
    assert local_zone_name() == ("America/New_York", None)
    monkeypatch.setenv("TZ", "Not/AZone")
    name, note = local_zone_name()
    # This machine's /etc/localtime, or UTC with a note saying so.
    assert (note is None) or (name == "UTC" and "UTC" in note)
