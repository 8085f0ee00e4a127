"""Stopping the helper processes tests start (sound servers, renderers), and the
process trees of the commands under test."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any


def stop(process: subprocess.Popen[bytes] | subprocess.Popen[str], grace_s: float) -> None:
    """Ask ``process`` to end; kill it if it has not within ``grace_s``."""
    process.terminate()
    try:
        process.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


# -- process trees, read from /proc (Linux) -------------------------------------------------


@dataclass(frozen=True)
class Proc:
    """One process as /proc shows it; ``started`` tells it from a later one with its pid."""

    pid: int
    ppid: int
    started: int  # clock ticks after boot
    state: str
    cpu_ticks: int  # user + system time
    cmdline: str


def read_proc(pid: int) -> Proc | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (FileNotFoundError, ProcessLookupError):
        return None
    # The command name, in parentheses, may hold spaces and parentheses itself.
    fields = stat[stat.rindex(")") + 2 :].split()
    return Proc(
        pid=pid,
        ppid=int(fields[1]),
        started=int(fields[19]),
        state=fields[0],
        cpu_ticks=int(fields[11]) + int(fields[12]),
        cmdline=cmdline.replace(b"\0", b" ").decode(errors="replace").strip(),
    )


def all_processes() -> list[Proc]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            proc = read_proc(int(entry.name))
            if proc is not None:
                found.append(proc)
    return found


def descendants(pid: int) -> list[Proc]:
    """Every process below ``pid``: children, their children, and so on."""
    children: dict[int, list[Proc]] = {}
    for proc in all_processes():
        children.setdefault(proc.ppid, []).append(proc)
    found: list[Proc] = []
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child.pid)
    return found


def is_running(proc: Proc) -> bool:
    """Still there and not a zombie (an orphan's zombie waits for init, which may not reap)."""
    now = read_proc(proc.pid)
    return now is not None and now.started == proc.started and now.state not in ("Z", "X")


def wait_gone(procs: list[Proc], timeout_s: float) -> list[Proc]:
    """Those of ``procs`` still running after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    running = [p for p in procs if is_running(p)]
    while running and time.monotonic() < deadline:
        time.sleep(0.05)
        running = [p for p in running if is_running(p)]
    return running


def start_in_own_group(
    command: list[str], *, ignore_sigint: bool = False, **kwargs: Any
) -> subprocess.Popen[str]:
    """``command`` in a new session, with SIGINT at its default: a background job of
    a non-interactive shell (and so pytest run from one) ignores SIGINT, and its
    children would inherit that, making any Ctrl-C test pass for nothing.
    ``ignore_sigint`` starts it as such a background job would be."""
    disposition = signal.SIG_IGN if ignore_sigint else signal.SIG_DFL
    return subprocess.Popen(
        command,
        start_new_session=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, disposition),
        text=True,
        **kwargs,
    )


def kill_group(process: subprocess.Popen[str] | subprocess.Popen[bytes]) -> None:
    """Kill everything left in ``process``'s group (it leads one of its own): no junk
    outlives a test, whatever it found."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=10)
