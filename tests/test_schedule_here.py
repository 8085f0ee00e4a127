"""`--to here`: `serve` plays a scheduled session on its own sound device.

A private PulseAudio server with a null sink (tests/pulse_server.py) is
recorded with parec while the real `serve` runs with its clock moved a few
seconds before a due time; the log is read back from the database file.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from processes import stop  # tests/processes.py
from pulse_server import RATE_HZ, PulseServer
from test_play import pulse as pulse  # the private PulseAudio server, a fixture

from voiceguide.history import Log, connect
from voiceguide.history.schedules import Schedules
from voiceguide.pipeline import VoiceOptions, prepare

pytestmark = pytest.mark.pulseaudio

SCRIPT = "title: Here test\nsteps:\n  - say: Lie down.\n  - pause: 2s\n  - say: Done.\n"
LEAD_S = 8.0


def test_a_schedule_here_plays_on_this_machine_and_is_logged(
    pulse: PulseServer, tmp_path: Path
) -> None:
    scripts = tmp_path / "scripts"
    scripts.mkdir()
    (scripts / "here.yaml").write_text(SCRIPT)
    env = {
        **pulse.env,
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
    }
    database = tmp_path / "data" / "voiceguide" / "history.sqlite3"
    real_start = datetime.now(UTC)
    due = (real_start + timedelta(minutes=6)).replace(second=0, microsecond=0)
    offset_s = (due - timedelta(seconds=LEAD_S) - real_start).total_seconds()
    connection = connect(database)
    ident = Schedules(connection).add(
        str(scripts / "here.yaml"),
        [f"{due:%H:%M}"],
        frozenset(range(7)),
        "here",
        "UTC",
        real_start + timedelta(seconds=offset_s),
    )
    connection.close()

    recording = pulse.record()
    recording.wait_until_flowing()
    process = subprocess.Popen(
        [sys.executable, "-m", "voiceguide", "serve", str(scripts), "--port", "0",
         "--engine", "espeak", "--clock-offset", f"{offset_s:.3f}"],
        env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + LEAD_S + 60
        while True:
            with Log.open(database) as log:
                runs = log.runs()
            if runs and runs[0].outcome != "playing":
                break
            assert time.monotonic() < deadline, runs
            time.sleep(0.3)
        time.sleep(1.5)  # what the sound server still held
        heard = recording.stop()
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            stop(process, grace_s=5)
    [run] = runs
    assert (run.via, run.target, run.title) == ("schedule", "here", "Here test")
    assert run.outcome == "finished"
    assert run.reached_ms >= run.planned_ms - 50
    with Log.open(database) as log:
        [row] = Schedules(log.connection).runs()
    assert (row.schedule_id, row.due_at, row.outcome, row.run_id) == (ident, due, "started", run.id)
    # Heard: the announcement and the session, nothing before the due time.
    loud = np.flatnonzero(np.abs(heard) > 0.005)
    assert loud.size, "nothing was heard"
    heard_s = (loud[-1] - loud[0]) / RATE_HZ
    options = VoiceOptions(engine="espeak", cache_dir=tmp_path / "cache" / "voiceguide")
    planned = prepare(scripts / "here.yaml", options, announce=True).timeline
    speech = [e for e in planned.events if e.kind == "speech"]
    assert speech[0].text == "Time for your session: Here test."
    spoken_s = (speech[-1].end_sample - speech[0].start_sample) / planned.sample_rate_hz
    assert abs(heard_s - spoken_s) < 0.5, (heard_s, spoken_s)
    assert loud[0] / RATE_HZ >= LEAD_S - 3
