"""The recorder `play` and `cast` write a run through: throttled, and never in the way."""

from __future__ import annotations

from pathlib import Path

from voiceguide.history import Log
from voiceguide.history.recorder import PROGRESS_EVERY_S, Recorder


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_progress_is_written_at_each_step_and_every_few_seconds(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite3"
    clock = Clock()
    recorder = Recorder(Log.open(path), monotonic=clock)
    recorder.start("s", "S", "play", "here", 60_000)

    def stored() -> int:
        with Log.open(path) as log:
            return log.runs()[0].reached_ms

    recorder.progress(1000, step=0)  # the first step: written
    assert stored() == 1000
    clock.now += 1
    recorder.progress(2000, step=0)  # same step, a second later: not yet
    assert stored() == 1000
    clock.now += PROGRESS_EVERY_S
    recorder.progress(7000, step=0)  # five seconds on: written
    assert stored() == 7000
    recorder.progress(7500, step=1)  # a new step: written at once
    assert stored() == 7500
    recorder.skipped()
    recorder.progress(7600, step=1)  # a skip counted: written at once
    with Log.open(path) as log:
        assert log.runs()[0].steps_skipped == 1
    recorder.end("finished", 60_000)
    recorder.close()
    with Log.open(path) as log:
        (run,) = log.runs()
    assert (run.outcome, run.reached_ms) == ("finished", 60_000)


def test_a_log_that_fails_mid_session_is_one_warning_and_then_silence(tmp_path: Path) -> None:
    warnings: list[str] = []
    log = Log.open(tmp_path / "h.sqlite3")
    recorder = Recorder(log, warn=warnings.append)
    recorder.start("s", "S", "play", "here", 60_000)
    log.connection.close()  # as a disk gone away would leave it
    for step in range(5):
        recorder.progress(step * 1000, step=step)
    recorder.end("finished")
    assert len(warnings) == 1 and "not recorded" in warnings[0]
    assert not recorder.recording


def test_a_log_that_cannot_be_opened_gives_a_recorder_that_records_nothing(
    tmp_path: Path,
) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    warnings: list[str] = []
    recorder = Recorder.open(path=blocked / "h.sqlite3", warn=warnings.append)
    recorder.start("s", "S", "play", "here", 1000)
    recorder.end("finished", 1000)
    assert not recorder.recording and len(warnings) == 1
    assert warnings[0].endswith("playing without recording this session")
    assert Recorder.open(enabled=False, warn=warnings.append).log is None
    assert len(warnings) == 1
