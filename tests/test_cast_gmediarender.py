"""`speakers` and `cast` against a real UPnP renderer: Debian's gmediarender.

gmediarender runs in one private network namespace and voiceguide in another
(see tests/netns.py). It plays into `fakesink sync=true`, so it consumes the
MP3 in real time. A probe that does not use voiceguide's code checks what the
renderer says: the URI and metadata it was given, its position against wall
time, its state after Ctrl-C. The file server's request log shows the
renderer's Range request after a seek being answered 206.
"""

from __future__ import annotations

import json
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import netns  # tests/netns.py
import pytest
from processes import stop  # tests/processes.py

from voiceguide.history import Log, Run, default_path

pytestmark = pytest.mark.network

RENDERER_NAME = "voiceguide test renderer"
RENDERER_PORT = 49494
LOCATION = f"http://{netns.RENDERER_ADDRESS}:{RENDERER_PORT}/description.xml"
PROBE = Path(__file__).with_name("upnp_probe.py")
SCRIPT = """\
title: Cast test
steps:
  - say: Lie down.
  - pause: 30s
  - say: That is all.
"""
SERVED = re.compile(
    r"served (?P<remote>\S+) (?P<method>GET|HEAD) (?P<path>\S+)"
    r"(?: Range: (?P<range>\S+))? -> (?P<status>\d+)"
)


def _unavailable() -> str | None:
    if shutil.which("gmediarender") is None:
        return (
            "needs Debian's gmediarender (apt-get install gmediarender "
            "gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-ugly)"
        )
    try:
        import async_upnp_client  # noqa: F401
    except ModuleNotFoundError:
        return "needs async-upnp-client (pip install -e '.[cast]')"
    return netns.unavailable()


@pytest.fixture(scope="module")
def pair() -> Iterator[netns.Pair]:
    reason = _unavailable()
    if reason:
        pytest.skip(reason)
    made = netns.make_pair(str(os.getpid()))
    try:
        yield made
    finally:
        made.close()


@pytest.fixture(scope="module")
def renderer(pair: netns.Pair, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """gmediarender, up and announcing itself; yields its log file."""
    log = tmp_path_factory.mktemp("gmediarender") / "gmediarender.log"
    process = subprocess.Popen(
        pair.command(
            pair.renderer_ns,
            [
                "gmediarender",
                f"--interface-name={pair.renderer_ns}0",
                f"--port={RENDERER_PORT}",
                f"--friendly-name={RENDERER_NAME}",
                "--uuid=5a1e0000-0000-4000-8000-00000000ca57",
                # A plain fakesink would swallow the whole file at once.
                "--gstout-audiopipe=fakesink sync=true",
                f"--logfile={log}",
            ],
        ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while "Ready for rendering" not in (log.read_text() if log.exists() else ""):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"gmediarender did not start:\n{log.read_text()[-2000:]}")
            time.sleep(0.1)
        yield log
    finally:
        stop(process, grace_s=10)


def _voiceguide(pair: netns.Pair, *args: str) -> list[str]:
    return pair.command(pair.client_ns, [sys.executable, "-m", "voiceguide", *args])


def _probe(pair: netns.Pair, *command: str) -> dict[str, object]:
    done = subprocess.run(
        pair.command(pair.client_ns, [sys.executable, str(PROBE), LOCATION, *command]),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0, done.stderr
    answer: dict[str, object] = json.loads(done.stdout)
    return answer


def _seconds(clock: object) -> float:
    hours, minutes, seconds = str(clock).split(":")
    return int(hours) * 3600 + int(minutes) * 60 + float(seconds)


class Lines:
    """A process's stderr, line by line, read by a thread so nothing blocks."""

    def __init__(self, stream: object) -> None:
        self.seen: list[str] = []
        self._queue: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, args=(stream,), daemon=True).start()

    def _read(self, stream: object) -> None:
        for line in stream:  # type: ignore[attr-defined]
            self._queue.put(line.rstrip("\n"))

    def wait_for(self, pattern: str, timeout_s: float) -> re.Match[str]:
        deadline = time.monotonic() + timeout_s
        compiled = re.compile(pattern)
        for line in self.seen:
            if match := compiled.search(line):
                return match
        while time.monotonic() < deadline:
            try:
                line = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break
            self.seen.append(line)
            if match := compiled.search(line):
                return match
        raise AssertionError(f"no line matching {pattern!r} in:\n" + "\n".join(self.seen))


def _wait_playing(pair: netns.Pair, at_least_s: float, timeout_s: float) -> dict[str, object]:
    deadline = time.monotonic() + timeout_s
    while True:
        answer = _probe(pair)
        if answer["state"] == "PLAYING" and _seconds(answer["rel_time"]) >= at_least_s:
            return answer
        assert time.monotonic() < deadline, f"not playing past {at_least_s} s: {answer}"
        time.sleep(0.3)


def test_speakers_finds_the_renderer(pair: netns.Pair, renderer: Path) -> None:
    done = subprocess.run(
        _voiceguide(pair, "speakers", "--timeout", "2"), capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    listed = [re.split(r"\s{2,}", line) for line in done.stdout.splitlines()]
    assert [RENDERER_NAME, "upnp", LOCATION] in listed


@contextmanager
def _casting(pair: netns.Pair, *args: str) -> Iterator[tuple[subprocess.Popen[str], Lines]]:
    """`voiceguide cast ARGS` in the client namespace; killed if the test leaves it running."""
    process = subprocess.Popen(
        _voiceguide(pair, "cast", *args, "--engine", "test", "--no-cache"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        yield process, Lines(process.stderr)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


@pytest.fixture
def script(tmp_path: Path) -> Path:
    path = tmp_path / "cast-test.yaml"
    path.write_text(SCRIPT)
    return path


def test_cast_plays_seeks_and_stops_on_ctrl_c(
    pair: netns.Pair, renderer: Path, script: Path
) -> None:
    args = [str(script), "--to", RENDERER_NAME, "--timeout", "2", "--verbose"]
    with _casting(pair, *args) as (process, lines):
        started = lines.wait_for(
            r"playing Cast test \((?P<length>[\d:.]+)\) on .* from (?P<url>\S+)", 60
        )
        url = started["url"]
        # Served on the address that faces the renderer, not on loopback.
        assert url.startswith(f"http://{netns.CLIENT_ADDRESS}:")
        length_s = _seconds(f"0:{started['length']}")
        assert 30 < length_s < 36

        # The renderer was given our URL with DIDL-Lite metadata.
        first = _wait_playing(pair, at_least_s=1, timeout_s=20)
        assert first["track_uri"] == url
        metadata = str(first["track_metadata"])
        assert "<dc:title>Cast test</dc:title>" in metadata
        assert 'protocolInfo="http-get:*:audio/mpeg:' in metadata
        didl_duration = re.search(r' duration="([\d:.]+)"', metadata)
        assert didl_duration, metadata
        assert abs(_seconds(didl_duration[1]) - length_s) < 0.06
        assert abs(_seconds(first["track_duration"]) - length_s) <= 1

        # Its position advances with wall time (RelTime has whole seconds).
        time.sleep(3)
        later = _probe(pair)
        assert later["state"] == "PLAYING"
        played_s = _seconds(later["rel_time"]) - _seconds(first["rel_time"])
        wall_s = float(later["at"]) - float(first["at"])  # type: ignore[arg-type]
        assert wall_s >= 2.5
        assert abs(played_s - wall_s) <= 1.5, (played_s, wall_s)

        # A seek makes it fetch again with a Range request, answered 206 with
        # exactly the rest of the file. (gstreamer reconnects where its
        # download stood and parses forward to the target.)
        whole = lines.wait_for(
            rf"served {netns.RENDERER_ADDRESS} GET \S+ -> 200 \((\d+) bytes\)", 5
        )
        size = int(whole[1])
        _probe(pair, "seek", "0:00:20")
        ranged = lines.wait_for(
            rf"served {netns.RENDERER_ADDRESS} GET \S+ Range: bytes=(\d+)- -> 206 \((\d+) bytes\)",
            15,
        )
        start_byte, promised = int(ranged[1]), int(ranged[2])
        assert 0 < start_byte < size
        assert promised == size - start_byte
        after_seek = _wait_playing(pair, at_least_s=20, timeout_s=15)
        assert _seconds(after_seek["rel_time"]) < 26

        # Ctrl-C stops the renderer and exits 130.
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=20) == 130
        lines.wait_for(rf"stopped {RENDERER_NAME}", 5)
        assert _probe(pair)["state"] == "STOPPED"
    # The session log has the run: on the speaker by name, stopped past the seek.
    run = _last_cast()
    assert (run.session_id, run.title, run.target) == ("cast-test", "Cast test", RENDERER_NAME)
    assert run.outcome == "stopped" and 20_000 <= run.reached_ms < run.planned_ms


def test_cast_ends_when_the_renderer_reaches_the_end(
    pair: netns.Pair, renderer: Path, script: Path
) -> None:
    with _casting(pair, str(script), "--to", LOCATION) as (process, lines):
        lines.wait_for(r"playing Cast test .* from http://127\.0\.0\.3:", 60)
        _wait_playing(pair, at_least_s=1, timeout_s=20)
        _probe(pair, "seek", "0:00:29")
        assert process.wait(timeout=30) == 0
        lines.wait_for(rf"^finished on {RENDERER_NAME}$", 5)
        assert _probe(pair)["state"] == "STOPPED"
    run = _last_cast()
    assert run.outcome == "finished" and run.reached_ms == run.planned_ms


def _last_cast() -> Run:
    # The commands ran with this test session's XDG_DATA_HOME (tests/conftest.py).
    with Log.open(default_path()) as log:
        return [run for run in log.runs() if run.via == "cast"][-1]
