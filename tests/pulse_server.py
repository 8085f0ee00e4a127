"""A private PulseAudio server with a null sink, and recordings of what it plays.

Used by the live-playback tests and by bench/first_sound.py. The server runs
in its own runtime folder (``XDG_RUNTIME_DIR``), so it works as root and never
touches a desktop's sound server.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from processes import stop  # tests/processes.py

SINK = "vg"
MIC = "mic"  # add_microphone's sink
RATE_HZ = 44100
# The null sink's monitor delivers nothing for the first ~1.2 s.
READY_TIMEOUT_S = 15.0


def missing() -> str | None:
    """Why a server cannot be started here, or None."""
    for tool in ("pulseaudio", "parec", "pactl"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (apt-get install pulseaudio pulseaudio-utils)"
    return None


@dataclass
class PulseServer:
    runtime_dir: Path
    process: subprocess.Popen[bytes]

    @property
    def env(self) -> dict[str, str]:
        """The environment in which a client finds this server and no other."""
        env = dict(os.environ)
        env["XDG_RUNTIME_DIR"] = str(self.runtime_dir)
        env["PULSE_SERVER"] = f"unix:{self.runtime_dir}/pulse/native"
        env["HOME"] = str(self.runtime_dir)
        return env

    def pactl(self, *args: str) -> None:
        subprocess.run(["pactl", *args], env=self.env, check=True, capture_output=True)

    def add_microphone(self) -> None:
        """A second null sink, ``MIC``, whose monitor is the default source: what
        plays into it is what a microphone hears. What the output sink plays
        comes back into it, as in a room (module-loopback)."""
        self.pactl("load-module", "module-null-sink", f"sink_name={MIC}")
        self.pactl("set-default-source", f"{MIC}.monitor")
        self.pactl("set-default-sink", SINK)
        self.pactl(
            "load-module",
            "module-loopback",
            f"source={SINK}.monitor",
            f"sink={MIC}",
            "latency_msec=20",
        )

    def record(self, source: str = f"{SINK}.monitor") -> Recording:
        process = subprocess.Popen(
            [
                "parec",
                "-d",
                source,
                "--format=s16le",
                f"--rate={RATE_HZ}",
                "--channels=1",
                "--latency-msec=10",
                "--raw",
            ],
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        return Recording(process)


class Recording:
    """parec reading the sink's monitor into memory, on a thread."""

    def __init__(self, process: subprocess.Popen[bytes]) -> None:
        import threading

        self.process = process
        self.data = bytearray()
        self.started = time.monotonic()
        self.first_data: float | None = None
        # (when a chunk arrived, samples recorded by then): to place samples in time.
        self.arrivals: list[tuple[float, int]] = []
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        while True:
            chunk = self.process.stdout.read1(4096)  # type: ignore[attr-defined]
            if not chunk:
                return
            if self.first_data is None:
                self.first_data = time.monotonic()
            self.data.extend(chunk)
            self.arrivals.append((time.monotonic(), len(self.data) // 2))

    def wait_until_flowing(self, timeout_s: float = READY_TIMEOUT_S) -> None:
        deadline = time.monotonic() + timeout_s
        while len(self.data) < RATE_HZ // 5:
            if time.monotonic() > deadline:
                raise RuntimeError("the null sink's monitor delivered no data")
            time.sleep(0.02)

    def wait_until_heard(self, level: float = 0.05, timeout_s: float = 60) -> None:
        """Until the sink has played something louder than ``level``: a player's
        device has started, for sure."""
        deadline = time.monotonic() + timeout_s
        while np.max(np.abs(self.samples()), initial=0.0) < level:
            if time.monotonic() > deadline:
                raise RuntimeError(f"nothing was played within {timeout_s:g} s")
            time.sleep(0.05)

    def clock_s(self, near_s: float | None = None, within_s: float = 1.5) -> float:
        """The monotonic time of sample 0, as the chunks that arrived within
        ``within_s`` of ``near_s`` place it (the sink's clock drifts from the
        system's): the least-delayed of them places it best (parec is asked for
        10 ms of latency)."""
        offsets = [
            at - count / RATE_HZ
            for at, count in self.arrivals
            if near_s is None or abs(at - near_s) <= within_s
        ]
        return min(offsets)

    def samples(self) -> np.ndarray:
        usable = len(self.data) // 2 * 2
        return np.frombuffer(bytes(self.data[:usable]), dtype="<i2").astype(np.float32) / 32768

    def stop(self) -> np.ndarray:
        self.process.terminate()
        self.process.wait(timeout=5)
        self._thread.join(timeout=5)
        return self.samples()


@contextlib.contextmanager
def pulse_server() -> Iterator[PulseServer]:
    runtime = Path(tempfile.mkdtemp(prefix="vg-pulse-"))
    runtime.chmod(0o700)
    process = subprocess.Popen(
        [
            "pulseaudio",
            "--daemonize=no",
            "--exit-idle-time=-1",
            "--system=false",
            "--disallow-exit",
            "-n",
            "-L",
            f"module-null-sink sink_name={SINK} norewinds=1",
            "-L",
            "module-native-protocol-unix",
            "--log-target=stderr",
            "--log-level=error",
        ],
        env={**os.environ, "XDG_RUNTIME_DIR": str(runtime), "HOME": str(runtime)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    server = PulseServer(runtime, process)
    try:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while True:
            done = subprocess.run(
                ["pactl", "info"], env=server.env, capture_output=True, check=False
            )
            if done.returncode == 0:
                break
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("PulseAudio did not start")
            time.sleep(0.05)
        yield server
    finally:
        stop(process, grace_s=5)
        shutil.rmtree(runtime, ignore_errors=True)
