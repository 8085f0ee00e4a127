"""First-sound latency of `voiceguide play` with an empty phrase cache.

Plays the two-hour benchmark session (bench/sessions.py) through a private
PulseAudio null sink and times, from starting the command to the first
non-silent sample recorded from the sink's monitor. Every run starts a fresh
process with a fresh, empty phrase cache, so interpreter start-up, imports,
speech synthesis and mastering all count. Goal (issue 3): at most 1 s.

Usage (needs Debian's pulseaudio and pulseaudio-utils)::

    .venv/bin/python bench/first_sound.py            # 5 runs, best and median, piper
    .venv/bin/python bench/first_sound.py --runs 3 --script scripts/back-spasm-relief.yaml
    .venv/bin/python bench/first_sound.py --engine espeak   # default: the script's (auto)

The last line printed is JSON (script, engine, runs_s, best_s, median_s),
for bench/run.py.
"""

from __future__ import annotations

import argparse
import json
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests"))

from pulse_server import Recording, missing, pulse_server  # noqa: E402
from sessions import write_sessions  # noqa: E402

TIMEOUT_S = 30.0


def first_sound_s(
    script: Path, env: dict[str, str], recording: Recording, engine: str | None = None
) -> float:
    """Seconds from starting `voiceguide play` to its first sound at the sink."""
    with tempfile.TemporaryDirectory() as cache:
        seen = len(recording.data) // 2 * 2
        started = time.monotonic()
        player = subprocess.Popen(
            [sys.executable, "-m", "voiceguide", "play", str(script)]
            + (["--engine", engine] if engine else []),
            env={**env, "XDG_CACHE_HOME": cache, "XDG_DATA_HOME": cache},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            while time.monotonic() - started < TIMEOUT_S:
                usable = len(recording.data) // 2 * 2
                new = np.frombuffer(bytes(recording.data[seen:usable]), dtype="<i2")
                if np.any(np.abs(new) > 32):
                    return time.monotonic() - started
                seen = usable
                if player.poll() is not None:
                    err = player.stderr.read().decode() if player.stderr else ""
                    raise RuntimeError(f"voiceguide play ended early: {err.strip()}")
                time.sleep(0.002)
            raise RuntimeError("no sound within 30 s")
        finally:
            player.send_signal(signal.SIGINT)
            try:
                player.wait(timeout=10)
            except subprocess.TimeoutExpired:
                player.kill()
                player.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--script", type=Path, help="default: the two-hour benchmark session")
    parser.add_argument("--engine", help="passed to `voiceguide play --engine`")
    args = parser.parse_args()
    reason = missing()
    if reason is not None:
        sys.exit(f"first_sound: {reason}")
    with tempfile.TemporaryDirectory() as folder:
        script = args.script or write_sessions(Path(folder))["session-2h"]
        with pulse_server() as server:
            recording = server.record()
            recording.wait_until_flowing()
            times = []
            for _ in range(args.runs):
                times.append(first_sound_s(script, server.env, recording, args.engine))
                time.sleep(0.5)
            recording.stop()
    print(
        f"first sound of `voiceguide play {script.name} --engine {args.engine}` (empty cache): "
        f"best {min(times):.3f} s, median {statistics.median(times):.3f} s "
        f"over {len(times)} runs" + (f", --engine {args.engine}" if args.engine else "")
    )
    summary = {
        "script": str(script),
        "engine": args.engine or "script's",
        "runs_s": [round(t, 3) for t in times],
        "best_s": round(min(times), 3),
        "median_s": round(statistics.median(times), 3),
    }
    print(json.dumps(summary), flush=True)


if __name__ == "__main__":
    main()
