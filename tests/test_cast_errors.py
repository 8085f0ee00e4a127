"""`speakers` and `cast` when the network fails them: one line that says why, no false claims."""

from __future__ import annotations

import errno
import http.server
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_cast_homeassistant import ENTITY, SCRIPT, TOKEN, FakeHomeAssistant
from test_cast_homeassistant import home_assistant as home_assistant  # the fixture
from test_cli import run  # tests/test_cli.py

from voiceguide.cast import session
from voiceguide.cast.base import reason

VOICEGUIDE = [sys.executable, "-m", "voiceguide"]
CAST = ["--engine", "test", "--no-cache", "--host", "127.0.0.1"]


@pytest.fixture
def script(tmp_path: Path) -> Path:
    path = tmp_path / "kitchen.yaml"
    path.write_text(SCRIPT)
    return path


# --- no network at all -----------------------------------------------------------------


def in_loopback_only_namespace(args: list[str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """``voiceguide ARGS`` in a network namespace whose only interface is loopback."""
    probe = subprocess.run(["unshare", "-n", "true"], capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.skip(f"cannot make a network namespace (needs root): {probe.stderr.strip()}")
    return subprocess.run(
        ["unshare", "-n", "sh", "-c", 'ip link set lo up && exec "$@"', "sh", *VOICEGUIDE, *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")},
    )


@pytest.mark.network
def test_speakers_with_no_network_says_so_in_one_line(tmp_path: Path) -> None:
    done = in_loopback_only_namespace(["speakers", "--timeout", "2"], tmp_path)
    assert done.returncode == 1
    assert done.stderr == (
        "voiceguide: no network to search for speakers: "
        "this machine has no address besides loopback\n"
    )
    assert done.stdout == ""


@pytest.mark.network
def test_cast_to_a_name_with_no_network_says_so_in_one_line(tmp_path: Path, script: Path) -> None:
    done = in_loopback_only_namespace(["cast", str(script), "--to", "Kitchen", *CAST], tmp_path)
    assert done.returncode == 1
    assert done.stderr == (
        "voiceguide: no network to search for the speaker 'Kitchen': "
        "this machine has no address besides loopback\n"
    )


# --- a URL that no renderer answers at -------------------------------------------------


@pytest.fixture
def refused_url() -> Iterator[str]:
    """A URL on a port that is bound and never listens: connecting is refused."""
    with socket.socket() as bound:
        bound.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{bound.getsockname()[1]}/description.xml"


class _Answers(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == "/missing.xml":
            self.send_error(404)
            return
        body = b"<html><body>Router login</body></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def web_server() -> Iterator[str]:
    """A web server that is no UPnP device: a 404, and an HTML page."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Answers)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_cast_to_a_refused_url_is_one_line(
    refused_url: str, script: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(["cast", str(script), "--to", refused_url, *CAST], capsys)
    assert code == 1
    assert err == (
        f"voiceguide: no UPnP renderer answers at {refused_url}: "
        "the connection was refused (nothing listens there)\n"
    )
    assert out == ""


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("/missing.xml", "it answered HTTP 404"),
        ("/index.html", "what it answered is not a UPnP device description"),
    ],
)
def test_cast_to_a_web_page_that_is_no_renderer_is_one_line(
    web_server: str, path: str, reason: str, script: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = web_server + path
    code, _, err = run(["cast", str(script), "--to", url, *CAST], capsys)
    assert code == 1
    assert err == f"voiceguide: no UPnP renderer answers at {url}: {reason}\n"


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://127.0.0.1:99999/d.xml", "port out of range 0-65535"),
        ("http:///d.xml", "it names no host"),
    ],
)
def test_cast_to_a_malformed_url_is_refused_with_exit_2(
    url: str, reason: str, script: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(["cast", str(script), "--to", url, *CAST], capsys)
    assert code == 2
    assert err == f"voiceguide: --to {url}: not a URL a speaker answers at: {reason}\n"


# --- Home Assistant: "playing" only once it plays --------------------------------------


@pytest.fixture
def ha_env(home_assistant: FakeHomeAssistant, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HA_URL", home_assistant.url)
    monkeypatch.setenv("HA_TOKEN", TOKEN)
    monkeypatch.setattr(session, "POLL_S", 0.05)


def test_a_player_that_never_starts_never_says_playing(
    home_assistant: FakeHomeAssistant,
    ha_env: None,
    script: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    home_assistant.plays_for_polls = 0  # reports idle from the first poll: it is off, say
    monkeypatch.setattr(session, "START_TIMEOUT_S", 0.5)
    code, out, err = run(["cast", str(script), "--to", f"ha:{ENTITY}", *CAST], capsys)
    assert code == 1
    assert err == f"voiceguide: {ENTITY} did not start playing within 0 s\n"
    assert "playing Kitchen" not in out + err
    assert any(r.path.endswith("/play_media") for r in home_assistant.requests)


def test_playing_is_said_after_the_player_reports_it(
    home_assistant: FakeHomeAssistant,
    ha_env: None,
    script: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, _, err = run(["cast", str(script), "--to", f"ha:{ENTITY}", *CAST], capsys)
    assert code == 0, err
    lines = err.strip().splitlines()
    assert lines[0].startswith("playing Kitchen stretch (0:03.") and f"on {ENTITY}" in lines[0]
    assert lines[-1] == f"finished on {ENTITY}"


def test_an_unreachable_home_assistant_is_one_line(
    refused_url: str,
    script: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    base = refused_url.removesuffix("/description.xml")
    monkeypatch.setenv("HA_URL", base)
    monkeypatch.setenv("HA_TOKEN", TOKEN)
    code, out, err = run(["cast", str(script), "--to", f"ha:{ENTITY}", *CAST], capsys)
    assert code == 1
    assert err == (
        f"voiceguide: cannot reach Home Assistant at {base}: "
        "the connection was refused (nothing listens there)\n"
    )
    assert "playing" not in out


@pytest.mark.network
def test_an_address_with_no_route_is_one_line_in_words(tmp_path: Path, script: Path) -> None:
    # 192.0.2.0/24 is for documentation: with only loopback, no route leads there.
    url = "http://192.0.2.7:1400/description.xml"
    done = in_loopback_only_namespace(["cast", str(script), "--to", url, *CAST], tmp_path)
    assert done.returncode == 1
    assert done.stderr == f"voiceguide: no UPnP renderer answers at {url}: network is unreachable\n"


def test_a_failed_connect_is_said_by_its_errno_not_by_asyncios_text() -> None:
    # What asyncio's sock_connect raises when a host does not answer.
    failed = OSError(errno.EHOSTUNREACH, "Connect call failed ('192.0.2.7', 1400)")
    assert reason(failed) == "no route to host"


class _Renderer:
    """async-upnp-client's DmrDevice, as far as UpnpSpeaker.play uses it: Play is
    refused ``refusals`` times (gmediarender's 500 while its last track ends)."""

    def __init__(self, refusals: int) -> None:
        self.name = "Kitchen"
        self.refusals = refusals
        self.plays = 0
        action = type("Action", (), {"async_call": self._play})()
        service = type(
            "Service", (), {"service_type": "AVTransport:1", "action": lambda s, n: action}
        )()
        self.profile_device = type("Device", (), {"all_services": [service]})()

    async def async_set_transport_uri(self, url: str, title: str, didl: str) -> None:
        return None

    async def async_wait_for_can_play(self, timeout_s: float) -> None:
        return None

    async def _play(self, **arguments: object) -> dict[str, object]:
        self.plays += 1
        if self.plays <= self.refusals:
            raise RuntimeError("UpnpActionResponseError: 500 Internal Server Error")
        return {}


@pytest.mark.parametrize("refusals", [1, 2])
def test_a_refused_play_is_asked_again_and_plays(refusals: int) -> None:
    import asyncio

    from voiceguide.cast.base import Metadata
    from voiceguide.cast.upnp import UpnpSpeaker

    renderer = _Renderer(refusals)
    speaker = UpnpSpeaker(renderer)
    asyncio.run(
        speaker.play(
            "http://127.0.0.1:1/a.mp3", Metadata(title="Back", duration_s=60.0, size_bytes=1000)
        )
    )
    assert renderer.plays == refusals + 1


def test_a_play_refused_every_time_is_one_error_naming_play() -> None:
    import asyncio

    from voiceguide.cast.base import CastError, Metadata
    from voiceguide.cast.upnp import PLAY_RETRY_DELAYS_S, UpnpSpeaker

    renderer = _Renderer(refusals=99)
    with pytest.raises(CastError, match="Kitchen: Play failed"):
        asyncio.run(
            UpnpSpeaker(renderer).play(
                "http://127.0.0.1:1/a.mp3", Metadata(title="Back", duration_s=60.0, size_bytes=1000)
            )
        )
    assert renderer.plays == len(PLAY_RETRY_DELAYS_S) + 1
