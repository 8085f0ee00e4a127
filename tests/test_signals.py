"""Stopping real `voiceguide` processes mid-work: SIGTERM, SIGINT and kill -9.

Each command runs in a session of its own with SIGINT at its default. Once it
is really rendering (its worker's CPU time grows, or its temporary files
exist), its whole process tree is read from /proc; after the signal the
command must exit within 5 s, say at most one line, and leave none of
those processes and no temporary file behind. Whatever happens, the
process group is killed at the end, so a failing test leaves no junk.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from processes import Proc, descendants, kill_group, read_proc, start_in_own_group, wait_gone
from pulse_server import missing, pulse_server
from test_cast_homeassistant import (
    CAST,
    ENTITY,
    TOKEN,
    FakeHomeAssistant,
    home_assistant,  # noqa: F401  (a fixture)
)
from test_cast_homeassistant import SCRIPT as HA_SCRIPT

VOICEGUIDE = [sys.executable, "-m", "voiceguide"]
# Every command is gone this soon after SIGTERM or Ctrl-C, mid-render included.
EXIT_WITHIN_S = 5.0
# A worker orphaned by kill -9 notices within a fifth of a second, then unwinds.
ORPHAN_EXITS_WITHIN_S = 5.0
# About two hours of audio: rendering it takes far longer than any test waits
# (33 s on the 2-core test machine); the test engine makes its phrases at once.
LONG_SCRIPT = """\
title: Long enough to stop
steps:
  - say: Settle in.
  - repeat: 40
    steps:
      - exercise: Knee hug
        say: Hug your knee.
        hold: 170s
        release: Let go.
"""
TEST_ENGINE = ["--engine", "test", "--no-cache"]


def environment(tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "XDG_CACHE_HOME": str(tmp_path / "xdg"),
        "TMPDIR": str(tmp_path / "tmp"),
        "PYTHONUNBUFFERED": "1",
    }


def start(
    command: list[str],
    tmp_path: Path,
    env: dict[str, str] | None = None,
    ignore_sigint: bool = False,
) -> subprocess.Popen[str]:
    """``command`` in its own group, its stderr in a file (``stderr_of``): a pipe would
    stay open, and a test reading it would hang, while any leftover worker holds it."""
    (tmp_path / "tmp").mkdir(exist_ok=True)
    with (tmp_path / "stderr.txt").open("w") as stderr:
        return start_in_own_group(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            env=env or environment(tmp_path),
            ignore_sigint=ignore_sigint,
        )


def stderr_of(tmp_path: Path) -> str:
    return (tmp_path / "stderr.txt").read_text()


def temps_in(folder: Path) -> list[Path]:
    return sorted(folder.rglob(".*.tmp-*"))


def wait_until(condition, timeout_s: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def busy_workers(parent: int, count: int, cpu_s: float, timeout_s: float = 120) -> list[Proc]:
    """Waits until ``count`` children of ``parent`` have each used ``cpu_s`` more CPU
    time than when first seen: working, not just started."""
    first: dict[tuple[int, int], int] = {}
    busy: list[Proc] = []

    def working() -> bool:
        nonlocal busy
        busy = []
        for proc in descendants(parent):
            if proc.ppid != parent or "resource_tracker" in proc.cmdline:
                continue
            before = first.setdefault((proc.pid, proc.started), proc.cpu_ticks)
            if proc.cpu_ticks - before >= cpu_s * os.sysconf("SC_CLK_TCK"):
                busy.append(proc)
        return len(busy) >= count

    wait_until(working, timeout_s, f"{count} busy worker(s)")
    return busy


def stop_and_time(process: subprocess.Popen[str], signum: int, *, group: bool) -> float:
    """Sends ``signum`` (to the whole group, as a terminal's Ctrl-C does, or to the
    process alone, as `kill PID` does); the seconds until the process exited."""
    sent = time.monotonic()
    if group:
        os.killpg(process.pid, signum)
    else:
        process.send_signal(signum)
    try:
        process.wait(timeout=EXIT_WITHIN_S + 10)
    except subprocess.TimeoutExpired:
        pytest.fail(f"still running {EXIT_WITHIN_S + 10:.0f} s after {signal.Signals(signum).name}")
    return time.monotonic() - sent


def describe(procs: list[Proc]) -> str:
    return "; ".join(f"{p.pid} {p.cmdline[:100]}" for p in procs)


# -- serve ---------------------------------------------------------------------------------


def start_serve(
    tmp_path: Path, ignore_sigint: bool = False, script: str = LONG_SCRIPT
) -> tuple[subprocess.Popen[str], int]:
    scripts = tmp_path / "scripts"
    scripts.mkdir()
    (scripts / "long.yaml").write_text(script, encoding="utf-8")
    command = [*VOICEGUIDE, "serve", str(scripts), "--port", "0"]
    command += ["--cache-dir", str(tmp_path / "cache"), *TEST_ENGINE]
    process = start(command, tmp_path, ignore_sigint=ignore_sigint)
    port: list[int] = []

    def listening() -> bool:
        found = re.search(r"Serving on http://127\.0\.0\.1:(\d+)/", stderr_of(tmp_path))
        if found:
            port.append(int(found.group(1)))
        assert process.poll() is None, stderr_of(tmp_path)
        return bool(found)

    try:
        wait_until(listening, 60, "serve to print its address")
    except BaseException:
        kill_group(process)
        raise
    return process, port[0]


def request_audio(port: int) -> socket.socket:
    """A client that asks for the MP3 and waits: a render starts for it."""
    client = socket.create_connection(("127.0.0.1", port), timeout=30)
    client.sendall(b"GET /sessions/long.mp3 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    return client


@pytest.mark.parametrize(
    ("signum", "group", "ignore_sigint"),
    [(signal.SIGTERM, False, False), (signal.SIGINT, True, False), (signal.SIGTERM, False, True)],
    # The last as `voiceguide serve &` in a script starts it: SIGINT ignored.
    ids=["sigterm", "ctrl-c", "sigterm-in-a-background-job"],
)
def test_serve_stops_mid_render_and_leaves_no_process(
    tmp_path: Path, signum: int, group: bool, ignore_sigint: bool
) -> None:
    process, port = start_serve(tmp_path, ignore_sigint)
    try:
        client = request_audio(port)
        (worker,) = busy_workers(process.pid, 1, cpu_s=1.0)
        assert "multiprocessing" in worker.cmdline
        tree = descendants(process.pid)
        exited_s = stop_and_time(process, signum, group=group)
        left = wait_gone(tree, 2.0)
        client.close()
    finally:
        kill_group(process)
    err = stderr_of(tmp_path)
    assert exited_s < EXIT_WITHIN_S, err
    # A server stopped on request has done its job (Ctrl-C has always exited 0).
    assert process.returncode == 0, err
    assert not left, describe(left)
    assert "Traceback" not in err and "leaked" not in err, err
    assert err.splitlines()[-1] == "voiceguide: stopped"
    cache = tmp_path / "cache"
    assert temps_in(cache) == [] and not list(cache.glob("*.mp3"))


@pytest.mark.slow
def test_a_stalled_download_does_not_hold_serve(tmp_path: Path) -> None:
    """A client that stops reading mid-download (a paused phone) is cut off when
    the server stops, not waited for (aiohttp would wait 60 s, twice)."""
    process, port = start_serve(tmp_path, script=LONG_SCRIPT.replace("repeat: 40", "repeat: 6"))
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/sessions/long.mp3", timeout=120):
            pass  # rendered; the first client hangs up at once
        stalled = socket.create_connection(("127.0.0.1", port), timeout=30)
        stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        stalled.sendall(b"GET /sessions/long.mp3 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        assert stalled.recv(1024).startswith(b"HTTP/1.1 200")
        tree = descendants(process.pid)
        exited_s = stop_and_time(process, signal.SIGTERM, group=False)
        left = wait_gone(tree, 2.0)
        stalled.close()
    finally:
        kill_group(process)
    err = stderr_of(tmp_path)
    assert exited_s < EXIT_WITHIN_S, err
    assert process.returncode == 0, err
    assert not left, describe(left)
    assert err.splitlines()[-1] == "voiceguide: stopped"


def test_ctrl_c_while_the_worker_starts_is_quiet(tmp_path: Path) -> None:
    """Ctrl-C reaches the whole group, the worker too, however young it is: before
    its handlers are in place it must not print a traceback."""
    process, port = start_serve(tmp_path)
    try:
        client = request_audio(port)

        def worker_started() -> bool:
            return any("spawn_main" in p.cmdline for p in descendants(process.pid))

        wait_until(worker_started, 60, "the worker to start")
        tree = descendants(process.pid)
        exited_s = stop_and_time(process, signal.SIGINT, group=True)
        left = wait_gone(tree, 2.0)
        client.close()
    finally:
        kill_group(process)
    err = stderr_of(tmp_path)
    assert exited_s < EXIT_WITHIN_S, err
    assert process.returncode == 0, err
    assert not left, describe(left)
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    assert err.splitlines()[-1] == "voiceguide: stopped"


def test_a_serve_killed_with_9_leaves_no_worker_behind(tmp_path: Path) -> None:
    process, port = start_serve(tmp_path)
    try:
        client = request_audio(port)
        busy_workers(process.pid, 1, cpu_s=1.0)
        tree = descendants(process.pid)
        process.kill()
        process.wait(timeout=10)
        killed = time.monotonic()
        left = wait_gone(tree, ORPHAN_EXITS_WITHIN_S + 5)
        gone_s = time.monotonic() - killed
        client.close()
    finally:
        kill_group(process)
    assert not left, describe(left)
    assert gone_s < ORPHAN_EXITS_WITHIN_S


# -- export --jobs 2 -----------------------------------------------------------------------


def start_export(tmp_path: Path) -> tuple[subprocess.Popen[str], Path]:
    scripts = tmp_path / "scripts"
    scripts.mkdir()
    for name in ("first", "second"):
        (scripts / f"{name}.yaml").write_text(LONG_SCRIPT, encoding="utf-8")
    out = tmp_path / "out"
    command = [*VOICEGUIDE, "export", str(scripts), "-o", str(out), "--jobs", "2"]
    return start([*command, "--subtitles", *TEST_ENGINE], tmp_path), out


def encoding_both(out: Path) -> bool:
    temps = [p.name for p in temps_in(out) if p.suffix == ".mp3" and p.stat().st_size > 0]
    return any(n.startswith(".first.") for n in temps) and any(
        n.startswith(".second.") for n in temps
    )


@pytest.mark.parametrize(
    ("signum", "group", "status"),
    [(signal.SIGTERM, False, 143), (signal.SIGINT, True, 130)],
    ids=["sigterm", "ctrl-c"],
)
def test_export_jobs_stops_mid_render_and_removes_its_temporaries(
    tmp_path: Path, signum: int, group: bool, status: int
) -> None:
    process, out = start_export(tmp_path)
    try:
        busy_workers(process.pid, 2, cpu_s=0.5)
        wait_until(lambda: encoding_both(out), 120, "both exports to be encoding")
        tree = descendants(process.pid)
        assert len(tree) >= 2
        exited_s = stop_and_time(process, signum, group=group)
        left = wait_gone(tree, 2.0)
    finally:
        kill_group(process)
    err = stderr_of(tmp_path)
    assert exited_s < EXIT_WITHIN_S, err
    assert process.returncode == status, err
    assert not left, describe(left)
    assert err.splitlines() == ["voiceguide: interrupted; nothing was written"]
    # Nothing at all: the output folder the export made is removed with its temporaries.
    assert not out.exists(), temps_in(out)


def test_export_jobs_killed_with_9_leaves_no_worker_behind(tmp_path: Path) -> None:
    process, _ = start_export(tmp_path)
    try:
        busy_workers(process.pid, 2, cpu_s=0.5)
        tree = descendants(process.pid)
        process.kill()
        process.wait(timeout=10)
        left = wait_gone(tree, ORPHAN_EXITS_WITHIN_S)
    finally:
        kill_group(process)
    assert not left, describe(left)


# -- export of one script, and cast --------------------------------------------------------


def test_a_single_export_stops_on_sigterm_like_ctrl_c(tmp_path: Path) -> None:
    script = tmp_path / "long.yaml"
    script.write_text(LONG_SCRIPT, encoding="utf-8")
    out = tmp_path / "out"
    command = [*VOICEGUIDE, "export", str(script), "-o", str(out / "long.mp3"), "--split"]
    process = start([*command, *TEST_ENGINE], tmp_path)
    try:
        wait_until(lambda: any(p.suffix == ".mp3" for p in temps_in(out)), 120, "encoding")
        exited_s = stop_and_time(process, signal.SIGTERM, group=False)
    finally:
        kill_group(process)
    err = stderr_of(tmp_path)
    assert exited_s < EXIT_WITHIN_S, err
    assert process.returncode == 143, err
    assert err.splitlines() == ["voiceguide: interrupted; nothing was written"]
    assert not out.exists(), temps_in(out)


def test_cast_stops_mid_render_on_sigterm_and_removes_its_folder(tmp_path: Path) -> None:
    script = tmp_path / "long.yaml"
    script.write_text(LONG_SCRIPT, encoding="utf-8")
    tmp = tmp_path / "tmp"
    env = {
        **environment(tmp_path),
        # Found without a search; nothing is asked of it before the render ends.
        "HA_URL": "http://127.0.0.1:9",
        "HA_TOKEN": "unused",
    }
    command = [*VOICEGUIDE, "cast", str(script), "--to", "ha:media_player.kitchen"]
    process = start([*command, *TEST_ENGINE], tmp_path, env=env)
    try:
        wait_until(lambda: any(p.suffix == ".mp3" for p in temps_in(tmp)), 120, "rendering")
        exited_s = stop_and_time(process, signal.SIGTERM, group=False)
    finally:
        kill_group(process)
    err = stderr_of(tmp_path)
    assert exited_s < EXIT_WITHIN_S, err
    assert process.returncode == 143, err
    assert err.strip().splitlines()[-1] == "voiceguide: interrupted; nothing was written"
    assert "Traceback" not in err
    assert list(tmp.iterdir()) == []


def test_cast_stops_the_speaker_on_sigterm(
    home_assistant: FakeHomeAssistant,  # noqa: F811
    tmp_path: Path,
) -> None:
    script = tmp_path / "kitchen.yaml"
    script.write_text(HA_SCRIPT, encoding="utf-8")
    home_assistant.plays_for_polls = 10_000  # plays until stopped
    env = {**environment(tmp_path), "HA_URL": home_assistant.url, "HA_TOKEN": TOKEN}
    process = start(
        [*VOICEGUIDE, "cast", str(script), "--to", f"ha:{ENTITY}", *CAST], tmp_path, env=env
    )

    def polled() -> bool:
        return any(r.path.startswith("/api/states/") for r in home_assistant.requests)

    try:
        wait_until(polled, 60, "a status poll")
        exited_s = stop_and_time(process, signal.SIGTERM, group=False)
    finally:
        kill_group(process)
    err = stderr_of(tmp_path)
    assert exited_s < EXIT_WITHIN_S, err
    assert process.returncode == 143, err
    assert err.strip().splitlines()[-1] == f"voiceguide: stopped {ENTITY}"
    stop = home_assistant.requests[-1]
    assert (stop.method, stop.path) == ("POST", "/api/services/media_player/media_stop")
    assert home_assistant.state == "idle"


# -- play ----------------------------------------------------------------------------------


@pytest.mark.pulseaudio
def test_play_stops_on_sigterm_like_ctrl_c(tmp_path: Path) -> None:
    reason = missing()
    if reason is not None:
        pytest.skip(reason)
    script = tmp_path / "long.yaml"
    script.write_text(LONG_SCRIPT, encoding="utf-8")
    with pulse_server() as server:
        recording = server.record()
        recording.wait_until_flowing()
        env = {**environment(tmp_path), **server.env}
        process = start([*VOICEGUIDE, "play", str(script), *TEST_ENGINE], tmp_path, env=env)
        try:
            recording.wait_until_heard()
            exited_s = stop_and_time(process, signal.SIGTERM, group=False)
        finally:
            kill_group(process)
            recording.stop()
    err = stderr_of(tmp_path)
    assert exited_s < EXIT_WITHIN_S, err
    assert process.returncode == 143, err
    assert err.splitlines() == ["voiceguide: stopped"]


def test_read_proc_knows_this_process() -> None:
    me = read_proc(os.getpid())
    assert me is not None and me.ppid == os.getppid() and me.state in ("R", "S")
