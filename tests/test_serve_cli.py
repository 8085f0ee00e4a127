"""`voiceguide serve` as a person runs it: real espeak, a worker process, Ctrl-C."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import miniaudio
import pytest
from cli_helpers import exit_and_stderr
from server_helpers import TINY

SERVE = [sys.executable, "-m", "voiceguide", "serve"]


def _wait_for_address(process: subprocess.Popen[str]) -> str:
    assert process.stderr is not None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        if not line:
            break
        found = re.search(r"Serving on (http://\S+/)", line)
        if found:
            return found.group(1)
    process.kill()
    raise AssertionError("voiceguide serve did not print its address within 60 s")


@pytest.mark.espeak
def test_serve_renders_with_espeak_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    scripts = tmp_path / "scripts"
    scripts.mkdir()
    (scripts / "tiny.yaml").write_text(TINY)
    process = subprocess.Popen(
        [*SERVE, str(scripts), "--port", "0", "--cache-dir", str(tmp_path / "cache")],
        stderr=subprocess.PIPE,
        text=True,
        env={"XDG_CACHE_HOME": str(tmp_path / "xdg"), "PATH": "/usr/bin:/bin"},
    )
    try:
        url = _wait_for_address(process)
        assert url.startswith("http://127.0.0.1:")
        # Nothing rendered yet: the audio as it is made, then the finished file.
        with urllib.request.urlopen(url + "sessions/tiny.mp3", timeout=120) as response:
            assert response.headers["Content-Type"] == "audio/mpeg"
            assert response.headers["Transfer-Encoding"] == "chunked"
            streamed = response.read()
        with urllib.request.urlopen(url + "sessions/tiny.json", timeout=60) as response:
            plan = json.load(response)
        head = urllib.request.Request(url + "sessions/tiny.mp3", method="HEAD")
        with urllib.request.urlopen(head, timeout=120) as response:
            length = int(response.headers["Content-Length"])
        with urllib.request.urlopen(url + "sessions/tiny.mp3", timeout=120) as response:
            mp3 = response.read()
    finally:
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=30)
    assert process.returncode == 0
    decoded = miniaudio.decode(mp3, nchannels=1, sample_rate=44100)
    # The timing contract: the served file is as long as the plan it is served with.
    assert decoded.num_frames == plan["duration_samples"] and len(mp3) == length
    # The stream has no Info frame: LAME's delay and padding are heard in it.
    heard = miniaudio.decode(streamed, nchannels=1, sample_rate=44100).num_frames
    assert plan["duration_samples"] + 576 <= heard <= plan["duration_samples"] + 3 * 1152
    speech = [e["text"] for e in plan["events"] if e["kind"] == "speech"]
    assert "Hug your left knee." in speech
    requests = [line for line in err.splitlines() if '"GET ' in line]
    assert len(requests) == 3
    assert requests[0].startswith('127.0.0.1 "GET /sessions/tiny.mp3 HTTP/1.1" 200 ')
    assert requests[2].startswith('127.0.0.1 "GET /sessions/tiny.mp3 HTTP/1.1" 200 ')
    assert err.rstrip().endswith("voiceguide: stopped")
    assert "Traceback" not in err


run = exit_and_stderr


def test_serve_refuses_a_missing_folder_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = run(["serve", str(tmp_path / "nowhere"), "--cache-dir", str(tmp_path)], capsys)
    assert code == 2
    assert err == f"voiceguide: {tmp_path / 'nowhere'}: no such file or folder\n"


def test_serve_reports_a_busy_port_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import socket

    (tmp_path / "tiny.yaml").write_text(TINY)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code, err = run(
            ["serve", str(tmp_path / "tiny.yaml"), "-p", str(port), "--cache-dir", str(tmp_path)],
            capsys,
        )
    assert code == 1
    assert (
        err.splitlines()[-1] == f"voiceguide: cannot listen on 127.0.0.1:{port}: the port is in use"
    )
