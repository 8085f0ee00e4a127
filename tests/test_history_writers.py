"""The session log under several writers at once, killed with SIGKILL at random moments.

Four processes write runs and check-ins as `play`, `cast` and `serve` do.
Each notes every id the log gave it in a side file, fsync'd, only after the
write returned: an id in a side file is a committed row. The writers are
killed (kill -9) at random moments, mid-transaction as often as not, and
started again; in the end the database must pass integrity_check and hold
every row a side file names, as far as that row had got.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from voiceguide.history import Log

WRITERS = 4
KILLS = 24

WRITER = textwrap.dedent(
    """
    import os, sys
    from voiceguide.history import Log

    path, side, name = sys.argv[1], sys.argv[2], sys.argv[3]
    log = Log.open(__import__("pathlib").Path(path))
    out = open(side, "a", encoding="utf-8")

    def committed(kind, ident):
        out.write(f"{kind} {ident}\\n")
        out.flush()
        os.fsync(out.fileno())

    n = 0
    while True:
        n += 1
        run = log.start_run(name, f"{name} {n}", "play", "here", 60_000)
        committed("run", run)
        checkin = log.add_checkin("before", n % 11, f"{name} note {n}", run_id=run)
        committed("checkin", checkin)
        log.progress(run, 30_000, steps_skipped=1, holds_extended=2)
        committed("progress", run)
        log.end_run(run, "finished", 60_000)
        committed("ended", run)
    """
)


def start(path: Path, side: Path, name: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path), str(side), name],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def wait_for_a_commit(side: Path, before: int, process: subprocess.Popen[bytes]) -> None:
    """Until the writer has committed something more (so every kill lands on work)."""
    deadline = time.monotonic() + 60
    while (side.stat().st_size if side.exists() else 0) <= before:
        assert process.poll() is None, process.stderr.read() if process.stderr else ""
        assert time.monotonic() < deadline, "a writer committed nothing within 60 s"
        time.sleep(0.01)


def test_four_writers_killed_at_random_lose_no_committed_row(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    Log.open(path).close()  # created and migrated once, as the first command does
    sides = [tmp_path / f"writer{i}.ids" for i in range(WRITERS)]
    processes = [start(path, side, f"w{i}") for i, side in enumerate(sides)]
    chance = random.Random()
    try:
        for _ in range(KILLS):
            victim = chance.randrange(WRITERS)
            size = sides[victim].stat().st_size if sides[victim].exists() else 0
            wait_for_a_commit(sides[victim], size, processes[victim])
            time.sleep(chance.uniform(0, 0.05))  # somewhere in its next transactions
            processes[victim].send_signal(signal.SIGKILL)
            processes[victim].wait()
            processes[victim] = start(path, sides[victim], f"w{victim}")
    finally:
        for process in processes:
            process.send_signal(signal.SIGKILL)
            process.wait()

    check = sqlite3.connect(path)
    assert check.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    runs = {
        row[0]: row[1:]
        for row in check.execute("SELECT id, outcome, reached_ms, steps_skipped FROM runs")
    }
    checkins = {row[0] for row in check.execute("SELECT id FROM checkins")}
    check.close()
    noted = 0
    for side in sides:
        for line in side.read_text(encoding="utf-8").splitlines():
            kind, ident = line.split()
            noted += 1
            if kind == "checkin":
                assert int(ident) in checkins, line
                continue
            assert int(ident) in runs, line
            outcome, reached_ms, skipped = runs[int(ident)]
            if kind == "progress":
                assert (reached_ms, skipped) >= (30_000, 1), line
            if kind == "ended":
                assert (outcome, reached_ms) == ("finished", 60_000), line
    assert noted >= KILLS
    with Log.open(path) as log:  # and it opens and reads as before
        assert len(log.runs()) == len(runs)
    # The file is private however it was left.
    assert os.stat(path).st_mode & 0o077 == 0
