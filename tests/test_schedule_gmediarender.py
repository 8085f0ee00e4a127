"""`serve` carries schedules out on a real UPnP renderer: Debian's gmediarender.

The renderer runs in one private network namespace and `voiceguide serve` in
another (tests/netns.py), with the hub's clock moved by the hidden
`--clock-offset` so that a due time comes a minute after it starts, not at
the next wall-clock minute. A probe that does not use voiceguide's code
(tests/upnp_probe.py) watches the renderer; the session log is read back
from the database file.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import netns  # tests/netns.py
import pytest
from processes import stop  # tests/processes.py
from test_cast_gmediarender import (
    LOCATION,
    RENDERER_NAME,
    _probe,
    _unavailable,
    _voiceguide,
    _wait_playing,
)
from test_cast_gmediarender import renderer as renderer

from voiceguide.history import Log, Run, connect
from voiceguide.history.schedules import Schedules
from voiceguide.pipeline import VoiceOptions, prepare

pytestmark = pytest.mark.network

SCRIPT = """\
title: Scheduled test
steps:
  - say: Lie down.
  - pause: 6s
  - say: That is all.
"""
OTHER = """\
title: Something else
steps:
  - say: Another programme.
  - pause: 60s
"""
ON_TIME_S = 5.0


@pytest.fixture(scope="module")
def pair() -> Iterator[netns.Pair]:
    reason = _unavailable()
    if reason:
        pytest.skip(reason)
    made = netns.make_pair(f"s{os.getpid() % 100000}")
    try:
        yield made
    finally:
        made.close()


@pytest.fixture
def home(tmp_path: Path) -> dict[str, str]:
    """Where serve keeps its log and cache: this test's own folders."""
    scripts = tmp_path / "scripts"
    scripts.mkdir()
    (scripts / "scheduled.yaml").write_text(SCRIPT)
    (scripts / "other.yaml").write_text(OTHER)
    return {
        **os.environ,
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
        "TZ": "UTC",
    }


def _database(home: dict[str, str]) -> Path:
    return Path(home["XDG_DATA_HOME"]) / "voiceguide" / "history.sqlite3"


def _add(home: dict[str, str], at: datetime, since: datetime, **settings: object) -> int:
    """A schedule due at ``at`` (UTC, to the minute), counted from ``since``."""
    connection = connect(_database(home))
    try:
        schedules = Schedules(connection)
        script = str(Path(home["XDG_DATA_HOME"]).parent / "scripts" / "scheduled.yaml")
        ident = schedules.add(
            script,
            [f"{at:%H:%M}"],
            frozenset(range(7)),
            str(settings.get("target", RENDERER_NAME)),
            "UTC",
            since,
            quiet=settings.get("quiet"),  # type: ignore[arg-type]
            busy_wait_minutes=int(settings.get("busy_wait", 10)),  # type: ignore[call-overload]
        )
    finally:
        connection.close()
    return ident


def _rows(home: dict[str, str]) -> list[tuple[object, ...]]:
    with sqlite3.connect(_database(home)) as connection:
        return connection.execute(
            "SELECT schedule_id, due_at, outcome, reason, run_id FROM schedule_runs ORDER BY id"
        ).fetchall()


@contextmanager
def _serving(pair: netns.Pair, home: dict[str, str], offset_s: float, *args: str) -> Iterator[None]:
    scripts = Path(home["XDG_DATA_HOME"]).parent / "scripts"
    log = Path(home["XDG_DATA_HOME"]).parent / "serve.log"
    process = subprocess.Popen(
        _voiceguide(
            pair,
            "serve",
            str(scripts),
            "--engine",
            "test",
            "--clock-offset",
            f"{offset_s:.3f}",
            *(args or ("--port", "0")),
        ),
        env=home,
        stdout=subprocess.DEVNULL,
        stderr=log.open("w"),
    )
    try:
        yield
    finally:
        # Ctrl-C alone: a SIGTERM right behind it would cut serve's clean-up short.
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            stop(process, grace_s=5)


def _next_minute(after: datetime) -> datetime:
    return (after + timedelta(minutes=1)).replace(second=0, microsecond=0)


def _first_playing(pair: netns.Pair, timeout_s: float) -> tuple[float, dict[str, object]]:
    """The wall time at which the renderer first says PLAYING a URL of ours."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        answer = _probe(pair)
        if answer["state"] == "PLAYING" and str(answer["track_uri"]).startswith(
            f"http://{netns.CLIENT_ADDRESS}:"
        ):
            return float(answer["at"]), answer  # type: ignore[arg-type]
        time.sleep(0.2)
    raise AssertionError(f"the renderer did not start within {timeout_s} s: {_probe(pair)}")


def _wait_rows(home: dict[str, str], count: int, timeout_s: float) -> list[tuple[object, ...]]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if _database(home).exists() and len(rows := _rows(home)) >= count:
            return rows
        time.sleep(0.2)
    raise AssertionError(f"fewer than {count} outcomes: {_rows(home)}")


def test_a_schedule_starts_on_the_renderer_at_its_time_and_the_log_records_it(
    pair: netns.Pair, renderer: Path, home: dict[str, str]
) -> None:
    real_start = datetime.now(UTC)
    due = _next_minute(real_start + timedelta(minutes=5))
    # The hub's clock reads `due - 60 s` now: the time comes in one minute.
    offset_s = (due - timedelta(seconds=60) - real_start).total_seconds()
    hub_now = real_start + timedelta(seconds=offset_s)
    on_time = _add(home, due, since=hub_now)
    # Another, due as the hub starts, inside its quiet hours: logged, never played.
    quiet_due = due - timedelta(minutes=1)
    quiet_window = f"{quiet_due:%H:%M}-{due:%H:%M}"
    quiet = _add(home, quiet_due, since=hub_now - timedelta(minutes=2), quiet=quiet_window)
    # And one due an hour earlier, while no hub ran: missed, not played late.
    missed = _add(home, due - timedelta(hours=1), since=hub_now - timedelta(hours=2))

    with _serving(pair, home, offset_s):
        rows = _wait_rows(home, 2, 30)
        assert {(r[0], r[2]) for r in rows} == {(missed, "missed"), (quiet, "quiet")}
        assert _probe(pair)["state"] != "PLAYING"  # the quiet run did not play

        started_at, answer = _first_playing(pair, timeout_s=90)
        expected = real_start.timestamp() + 60
        assert abs(started_at - expected) <= ON_TIME_S, started_at - expected
        metadata = str(answer["track_metadata"])
        assert "<dc:title>Scheduled test</dc:title>" in metadata

        rows = _wait_rows(home, 3, 10)
        [(_, due_text, outcome, reason, run_id)] = [r for r in rows if r[0] == on_time]
        assert (due_text, outcome, reason) == (f"{due:%Y-%m-%dT%H:%M:%S}.000000Z", "started", "")
        run = _only_run(home)
        assert run.id == run_id
        assert (run.via, run.target, run.title) == ("schedule", RENDERER_NAME, "Scheduled test")
        # Recorded on the hub's clock, when the renderer said it plays.
        assert abs((run.started_at - due).total_seconds()) <= ON_TIME_S
        # Followed to its end through the renderer's own state.
        deadline = time.monotonic() + 40
        while (run := _only_run(home)).outcome == "playing":
            assert time.monotonic() < deadline, run
            time.sleep(0.5)
        assert run.outcome == "finished"
        assert run.reached_ms == run.planned_ms > 8000  # the announcement, then the session


def _scheduled_runs(home: dict[str, str]) -> list[Run]:
    with Log.open(_database(home)) as log:
        return [run for run in log.runs() if run.via == "schedule"]


def _only_run(home: dict[str, str]) -> Run:
    [run] = _scheduled_runs(home)
    return run


def test_a_busy_renderer_is_waited_for_then_the_run_is_skipped(
    pair: netns.Pair, renderer: Path, home: dict[str, str]
) -> None:
    # The renderer plays something else, started by someone else.
    other = Path(home["XDG_DATA_HOME"]).parent / "scripts" / "other.yaml"
    casting = subprocess.Popen(
        _voiceguide(pair, "cast", str(other), "--to", LOCATION, "--engine", "test"),
        env=home,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _, answer = _first_playing(pair, timeout_s=60)
        other_uri = answer["track_uri"]
        real_start = datetime.now(UTC)
        due = _next_minute(real_start + timedelta(minutes=5))
        offset_s = (due - timedelta(seconds=10) - real_start).total_seconds()
        hub_now = real_start + timedelta(seconds=offset_s)
        busy = _add(home, due, since=hub_now, target=LOCATION, busy_wait=0)
        with _serving(pair, home, offset_s):
            [row] = _wait_rows(home, 1, 40)
        assert row[0] == busy
        assert row[2] == "skipped"
        assert row[3] == f"{RENDERER_NAME} was playing something else"
        assert row[4] is None
        # Left alone: still the other programme.
        still = _probe(pair)
        assert (still["state"], still["track_uri"]) == ("PLAYING", other_uri)
        assert _scheduled_runs(home) == []
    finally:
        casting.send_signal(signal.SIGINT)
        try:
            casting.wait(timeout=15)
        except subprocess.TimeoutExpired:
            stop(casting, grace_s=5)


POST = """\
import json, sys, urllib.error, urllib.request
request = urllib.request.Request(sys.argv[1], data=sys.argv[2].encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
try:
    with urllib.request.urlopen(request, timeout=60) as answer:
        print(json.dumps([answer.status, json.load(answer)]))
except urllib.error.HTTPError as error:
    print(json.dumps([error.code, json.load(error)]))
"""


def test_post_api_play_starts_a_session_on_the_renderer(
    pair: netns.Pair, renderer: Path, home: dict[str, str]
) -> None:
    port = 8765
    with _serving(pair, home, 0.0, "--port", str(port)):
        url = f"http://127.0.0.1:{port}/api/play"
        deadline = time.monotonic() + 60
        while True:
            done = subprocess.run(
                pair.command(pair.client_ns, [sys.executable, "-c", POST, url,
                             json.dumps({"session": "scheduled", "target": RENDERER_NAME})]),
                capture_output=True, text=True, timeout=90,
            )  # fmt: skip
            if done.returncode == 0 or time.monotonic() > deadline:
                break
            time.sleep(0.5)  # serve is still starting
        assert done.returncode == 0, done.stderr
        status, body = json.loads(done.stdout)
        assert status == 202, body
        _, answer = _first_playing(pair, timeout_s=10)
        assert "<dc:title>Scheduled test</dc:title>" in str(answer["track_metadata"])
        with Log.open(_database(home)) as log:
            [run] = [r for r in log.runs() if r.id == body["run"]]
        assert (run.via, run.target, run.session_id) == (
            "cast",
            f"{RENDERER_NAME} (api)",
            "scheduled",
        )
        assert body == {"run": run.id, "session": "scheduled", "target": RENDERER_NAME}
        # (A Stop while gstreamer still prerolls can be overtaken by its start.)
        _wait_playing(pair, at_least_s=1, timeout_s=20)
    # Stopping serve stops what it started, and the run says so.
    assert _probe(pair)["state"] == "STOPPED"
    assert _only_cast_run(home).outcome == "stopped"


def _only_cast_run(home: dict[str, str]) -> Run:
    with Log.open(_database(home)) as log:
        [run] = [r for r in log.runs() if r.via == "cast"]
    return run


DRIVER = Path(__file__).with_name("hub_driver.py")


def test_a_busy_renderer_is_waited_for_and_the_run_starts_when_it_is_free(
    pair: netns.Pair, renderer: Path, home: dict[str, str], tmp_path: Path
) -> None:
    short_other = tmp_path / "short-other.yaml"
    short_other.write_text("title: Something short\nsteps:\n  - say: Another.\n  - pause: 6s\n")
    driver: subprocess.Popen[str] | None = None
    casting = subprocess.Popen(
        _voiceguide(pair, "cast", str(short_other), "--to", LOCATION, "--engine", "test"),
        env=home,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        other_started, _ = _first_playing(pair, timeout_s=60)
        due = datetime.now(UTC).replace(second=0, microsecond=0)  # due now: within the grace
        _add(home, due, since=due - timedelta(seconds=1), target=LOCATION, busy_wait=1)
        driver = subprocess.Popen(
            pair.command(pair.client_ns, [sys.executable, str(DRIVER),
                         str(_database(home)), "1", "60"]),
            env=home, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        out, err = driver.communicate(timeout=60)
        assert driver.returncode == 0, err
    finally:
        for process in (casting, driver):
            if process is not None and process.poll() is None:
                process.kill()  # not Ctrl-C: that would stop the renderer
                process.wait()
    [outcome] = [json.loads(line) for line in out.splitlines()]
    assert outcome["outcome"] == "started", outcome
    run = _only_run(home)
    assert run.id == outcome["run"]
    # It waited for the other programme to end (seen playing within a second of
    # its start), checking every second, rather than starting at once.
    other_s = prepare(short_other, VoiceOptions(engine="test")).timeline.duration_s
    waited_s = run.started_at.timestamp() - other_started
    assert other_s - 1.5 <= waited_s <= other_s + 5, (waited_s, other_s)
