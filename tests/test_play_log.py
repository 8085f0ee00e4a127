"""`play` records each session in the session log, and asks the check-ins on a terminal.

Real PulseAudio (a null sink), real `voiceguide play` processes on a
pseudo-terminal, the real log read back after each.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from played import TWO_PARTS, PtyPlay
from pulse_server import PulseServer, missing, pulse_server

from voiceguide.core.phrases import TABLES
from voiceguide.history import Log

pytestmark = pytest.mark.pulseaudio


LONG = """\
title: Long hold
steps:
  - say: Lie down.
  - exercise: Knee hug
    say: Hug your knee.
    hold: 60s
    release: Let go.
"""


@pytest.fixture(scope="module")
def pulse() -> Iterator[PulseServer]:
    reason = missing()
    if reason:
        pytest.skip(reason)
    with pulse_server() as server:
        yield server


@pytest.fixture
def env(pulse: PulseServer, tmp_path: Path) -> dict[str, str]:
    return {
        **pulse.env,
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
    }


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "two-parts.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def the_log(env: dict[str, str]) -> Path:
    return Path(env["XDG_DATA_HOME"]) / "voiceguide" / "history.sqlite3"


def test_a_played_session_is_recorded_with_its_skips_extends_and_check_ins(
    pulse: PulseServer, env: dict[str, str], tmp_path: Path
) -> None:
    script = write(tmp_path, TWO_PARTS)
    recording = pulse.record()
    recording.wait_until_flowing()
    player = PtyPlay([str(script), "--check-in", "--extend", "1"], env)
    try:
        player.wait_for("How is your back")
        # Said while the session waits for the answer: nothing else plays yet.
        recording.wait_until_heard(0.05, timeout_s=30)
        time.sleep(1.0)
        heard = recording.stop()
        player.press("7")
        player.wait_for(r"Knee hug · hold 0:0[34]\.\d left")
        player.press("+")
        player.wait_for(r"Knee hug · hold")
        player.press("n")
        player.wait_for(r"Cat stretch")
        player.wait_for("How is your back")
        player.press("t")  # ten
        assert player.finish() == 0, player.output[-500:]
    finally:
        player.close()
    # Nothing of the session plays before the answer: what was heard is the question.
    assert (np.abs(heard) > 0.05).sum() > 0.05 * 44100, "the question was not heard"
    with Log.open(the_log(env)) as log:
        (run,) = log.runs()
        checkins = log.checkins()
    assert (run.session_id, run.title, run.via, run.target) == (
        "two-parts",
        "Two parts",
        "play",
        "here",
    )
    assert run.outcome == "finished" and run.ended_at is not None
    assert (run.steps_skipped, run.holds_extended) == (1, 1)
    assert 0 < run.reached_ms <= run.planned_ms
    assert [(c.moment, c.pain, c.run_id) for c in checkins] == [
        ("before", 7, run.id),
        ("after", 10, run.id),
    ]


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
def test_a_session_stopped_by_a_signal_is_recorded_as_stopped(
    env: dict[str, str], tmp_path: Path, stop: signal.Signals
) -> None:
    script = write(tmp_path, LONG)
    process = subprocess.Popen(
        [sys.executable, "-m", "voiceguide", "play", str(script)],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        reached = 0
        while reached < 3000:  # until it has recorded a few seconds of progress
            assert process.poll() is None and time.monotonic() < deadline
            time.sleep(0.2)
            if the_log(env).exists():
                with Log.open(the_log(env)) as log:
                    runs = log.runs()
                reached = runs[0].reached_ms if runs else 0
        process.send_signal(stop)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    with Log.open(the_log(env)) as log:
        (run,) = log.runs()
    assert run.outcome == "stopped" and run.ended_at is not None
    assert 3000 <= run.reached_ms < run.planned_ms


def test_no_check_in_without_a_terminal_and_no_log_records_nothing(
    env: dict[str, str], tmp_path: Path
) -> None:
    script = write(tmp_path, TWO_PARTS)
    done = subprocess.run(
        [sys.executable, "-m", "voiceguide", "play", str(script), "--check-in", "--no-log"],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "How is your back" not in done.stdout + done.stderr
    assert not the_log(env).exists() or Log.open(the_log(env)).runs() == []
    by_environment = {**env, "VOICEGUIDE_NO_LOG": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "voiceguide", "play", str(script)],
        env=by_environment,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert not the_log(env).exists() or Log.open(the_log(env)).runs() == []


def test_a_log_that_cannot_be_opened_is_one_warning_and_the_session_plays(
    env: dict[str, str], tmp_path: Path
) -> None:
    script = write(tmp_path, TWO_PARTS)
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the log's folder should be")
    done = subprocess.run(
        [sys.executable, "-m", "voiceguide", "play", str(script)],
        env={**env, "XDG_DATA_HOME": str(blocked)},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    warnings = [line for line in done.stderr.splitlines() if "session log" in line]
    assert len(warnings) == 1, done.stderr
    assert "playing without recording" in warnings[0]


def test_the_check_in_question_is_in_every_language() -> None:
    questions = {language: table["checkin_question"] for language, table in TABLES.items()}
    assert questions["en"] == "How is your back, from 0 to 10?"
    assert len(set(questions.values())) == len(questions)
    assert all("0" in q and "10" in q for q in questions.values())
