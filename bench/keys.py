"""Key-to-silence and key-to-sound of `voiceguide play`, measured at the sink.

Plays a session of continuous sound through a private PulseAudio null sink
(the built-in test engine: each phrase one unbroken voiced tone, so that a
gap heard is the pause and never a gap between words; `--engine espeak` for
real speech),
presses space (pause) and space again (resume) through a pseudo-terminal, and
places the sink's recording on the same monotonic clock as the key presses
(tests/pulse_server.py: Recording.clock_s, from the least-delayed of parec's
chunks; the null sink keeps the system's time: 47.39 s recorded in 47.39 s;
about 10 ms of uncertainty, on the late side).

- key to silence: from writing the pause key to the last audible sample
  before the resume;
- key to sound: from writing the resume key to the first audible sample
  after it (the recap that resuming says, after its 0.4 s lead-in).

Goal (issue 14): both at most 100 ms.

Usage (needs Debian's pulseaudio and pulseaudio-utils)::

    .venv/bin/python bench/keys.py                  # 10 pauses, test engine
    .venv/bin/python bench/keys.py --presses 20 --engine espeak
    .venv/bin/python bench/keys.py --busy            # every core kept busy meanwhile

The last line printed is JSON (pause_ms, resume_ms lists, worst and median).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

from played import PtyPlay, busy_cores  # noqa: E402
from pulse_server import RATE_HZ, missing, pulse_server  # noqa: E402

AUDIBLE = 0.003
PAUSED_S = 3.0
# Longer than the recap that resuming says and its pause after: the next
# pause key then falls in the session's own speech.
PLAYING_S = 6.0
WINDOW = RATE_HZ // 200  # 5 ms
SPEECH = (
    "Lie on your back with your knees bent and your feet flat on the floor, "
    "let your arms rest by your sides with the palms turned up, and breathe "
    "in slowly through your nose and out through your mouth, letting the "
    "floor hold the whole weight of your body as you settle a little more "
    "with every breath that goes out. "
)
SCRIPT = "title: Keys\nsteps:\n" + "".join(f"  - say: {SPEECH}\n" for _ in range(30))


def audible(samples: np.ndarray) -> np.ndarray:
    """Per 5 ms window: whether anything was heard in it."""
    usable = len(samples) // WINDOW * WINDOW
    peaks = np.abs(samples[:usable]).reshape(-1, WINDOW).max(axis=1)
    return peaks > AUDIBLE


def measure(presses: int, engine: str, busy: bool) -> tuple[list[float], list[float]]:
    with tempfile.TemporaryDirectory() as folder, pulse_server() as server:
        script = Path(folder) / "keys.yaml"
        script.write_text(SCRIPT, encoding="utf-8")
        env = {**server.env, "XDG_CACHE_HOME": str(Path(folder) / "cache")}
        recording = server.record()
        recording.wait_until_flowing()
        times: list[tuple[float, float]] = []
        load = busy_cores() if busy else contextlib.nullcontext()
        with load:
            player = PtyPlay([str(script), "--engine", engine], env)
            try:
                recording.wait_until_heard()
                time.sleep(1.0)
                # Paused longer than the sound device holds, so that the
                # silence begins before the resume key.
                for _ in range(presses):
                    paused = player.press(" ")
                    time.sleep(PAUSED_S)
                    resumed = player.press(" ")
                    times.append((paused, resumed))
                    time.sleep(PLAYING_S)
                player.press("q")
                player.finish(timeout_s=30)
            finally:
                player.close()
        samples = recording.stop()
    heard = audible(samples)
    # Recording samples to 5 ms windows: a window is 220 samples (44100 / 200
    # is not whole), so times are placed in samples first.
    window_s = WINDOW / RATE_HZ
    clock = recording.clock_s()
    pause_ms, resume_ms = [], []
    for paused, resumed in times:
        paused_at = round((paused - clock) / window_s)
        resumed_at = round((resumed - clock) / window_s)
        second = round(1 / window_s)
        before = np.flatnonzero(heard[paused_at - second : resumed_at])
        after = np.flatnonzero(heard[resumed_at : resumed_at + second * round(PLAYING_S)])
        if len(before) == 0 or len(after) == 0:
            raise RuntimeError("nothing heard around a key press")
        last = paused_at - second + int(before[-1]) + 1
        pause_ms.append((last - paused_at) * window_s * 1000)
        resume_ms.append(int(after[0]) * window_s * 1000)
    return pause_ms, resume_ms


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--presses", type=int, default=10)
    parser.add_argument("--engine", default="test")
    parser.add_argument("--busy", action="store_true", help="every core kept busy meanwhile")
    args = parser.parse_args()
    reason = missing()
    if reason is not None:
        sys.exit(f"keys: {reason}")
    pause_ms, resume_ms = measure(args.presses, args.engine, args.busy)
    for name, found in (("key to silence", pause_ms), ("key to sound", resume_ms)):
        shown = ", ".join(f"{ms:.0f}" for ms in found)
        print(
            f"{name}: worst {max(found):.0f} ms, median {statistics.median(found):.0f} ms ({shown})"
        )
    print(
        json.dumps(
            {
                "engine": args.engine,
                "busy": args.busy,
                "pause_ms": pause_ms,
                "resume_ms": resume_ms,
                "pause_worst_ms": max(pause_ms),
                "resume_worst_ms": max(resume_ms),
            }
        )
    )


if __name__ == "__main__":
    main()
