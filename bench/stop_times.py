"""How fast `serve` and `export --jobs 2` stop mid-render, and whether anything is left.

Each run starts the real command on a two-hour script (test engine), waits
until its workers are busy, sends the signal and reports the seconds until
the command exited and until its last descendant was gone; for kill -9,
the seconds until the orphaned workers were gone. SIGINT goes to the whole
process group, as a terminal sends it.

    .venv/bin/python bench/stop_times.py --runs 5
"""

from __future__ import annotations

import argparse
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

from processes import descendants, kill_group, wait_gone  # noqa: E402
from test_signals import (  # noqa: E402
    busy_workers,
    encoding_both,
    request_audio,
    start_export,
    start_serve,
    stop_and_time,
    wait_until,
)


def serve_once(folder: Path, signum: int) -> tuple[float, float, int]:
    process, port = start_serve(folder)
    try:
        client = request_audio(port)
        busy_workers(process.pid, 1, cpu_s=1.0)
        tree = descendants(process.pid)
        sent = time.monotonic()
        if signum == signal.SIGKILL:
            process.kill()
            process.wait()
            exited_s = time.monotonic() - sent
        else:
            exited_s = stop_and_time(process, signum, group=signum == signal.SIGINT)
        left = wait_gone(tree, 30)
        gone_s = time.monotonic() - sent
        client.close()
    finally:
        kill_group(process)
    return exited_s, gone_s, len(left)


def export_once(folder: Path, signum: int) -> tuple[float, float, int]:
    process, out = start_export(folder)
    try:
        busy_workers(process.pid, 2, cpu_s=0.5)
        wait_until(lambda: encoding_both(out), 120, "both exports to be encoding")
        tree = descendants(process.pid)
        sent = time.monotonic()
        if signum == signal.SIGKILL:
            process.kill()
            process.wait()
            exited_s = time.monotonic() - sent
        else:
            exited_s = stop_and_time(process, signum, group=signum == signal.SIGINT)
        left = wait_gone(tree, 30)
        gone_s = time.monotonic() - sent
    finally:
        kill_group(process)
    return exited_s, gone_s, len(left)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    runs = parser.parse_args().runs
    cases = [
        ("serve", serve_once, signal.SIGTERM),
        ("serve", serve_once, signal.SIGINT),
        ("serve", serve_once, signal.SIGKILL),
        ("export --jobs 2", export_once, signal.SIGTERM),
        ("export --jobs 2", export_once, signal.SIGINT),
        ("export --jobs 2", export_once, signal.SIGKILL),
    ]
    print("| command | signal | exited (s), median / max | all gone (s), median / max | left |")
    print("| --- | --- | --- | --- | --- |")
    for name, once, signum in cases:
        exits, gones, lefts = [], [], 0
        for _ in range(runs):
            with tempfile.TemporaryDirectory(prefix="vg-stop-") as folder:
                exited_s, gone_s, left = once(Path(folder), signum)
            exits.append(exited_s)
            gones.append(gone_s)
            lefts += left
        print(
            f"| {name} | {signal.Signals(signum).name} "
            f"| {statistics.median(exits):.2f} / {max(exits):.2f} "
            f"| {statistics.median(gones):.2f} / {max(gones):.2f} | {lefts} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
