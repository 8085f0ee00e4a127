"""`cast --to ha:media_player.NAME` against a local endpoint that answers like Home Assistant.

The endpoint (aiohttp on 127.0.0.1, in a thread) records each request's URL,
Authorization header and JSON body, plays the part of the media player by
fetching the URL it was given, and reports the state the player would be in.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("aiohttp", reason="needs aiohttp (pip install -e '.[cast]')")

import aiohttp
from aiohttp import web
from test_cli import run  # tests/test_cli.py

from voiceguide.cast import session

TOKEN = "test-token-abc"
ENTITY = "media_player.kitchen"
SCRIPT = """\
title: Kitchen stretch
steps:
  - say: Stand tall.
  - pause: 3s
"""


@dataclass
class Recorded:
    method: str
    path: str
    authorization: str | None
    body: Any


@dataclass
class FakeHomeAssistant:
    """Idle until play_media; then playing for ``plays_for_polls`` status polls; then idle."""

    plays_for_polls: int = 2
    requests: list[Recorded] = field(default_factory=list)
    fetched: list[tuple[int, str, bytes]] = field(default_factory=list)
    state: str = "idle"
    polls_while_playing: int = 0
    url: str = ""

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self.handle)
        return app

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.json() if request.can_read_body else None
        self.requests.append(
            Recorded(request.method, request.path, request.headers.get("Authorization"), body)
        )
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return web.json_response({"message": "Invalid authentication"}, status=401)
        if request.path == "/api/services/media_player/play_media":
            # The media player fetches what it was given, as a real one would.
            async with (
                aiohttp.ClientSession() as client,
                client.get(body["media_content_id"], headers={"Range": "bytes=0-2"}) as reply,
            ):
                self.fetched.append(
                    (reply.status, reply.headers["Content-Type"], await reply.read())
                )
            self.state = "playing"
            return web.json_response([])
        if request.path == "/api/services/media_player/media_stop":
            self.state = "idle"
            return web.json_response([])
        if request.path == f"/api/states/{ENTITY}":
            if self.state == "playing":
                self.polls_while_playing += 1
                if self.polls_while_playing > self.plays_for_polls:
                    self.state = "idle"
            attributes = {
                "media_duration": 3.9,
                "media_position": 3.9 if self.state == "idle" else 1.0,
            }
            if self.state == "playing":
                attributes["media_position_updated_at"] = "2026-01-01T00:00:00+00:00"
            return web.json_response(
                {"entity_id": ENTITY, "state": self.state, "attributes": attributes}
            )
        return web.json_response({"message": "Entity not found."}, status=404)


@pytest.fixture
def home_assistant() -> Iterator[FakeHomeAssistant]:
    fake = FakeHomeAssistant()
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    runner = web.AppRunner(fake.app(), handle_signals=False)

    async def start() -> None:
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        fake.url = f"http://127.0.0.1:{runner.addresses[0][1]}"
        ready.set()

    thread = threading.Thread(target=lambda: (loop.run_until_complete(start()), loop.run_forever()))
    thread.start()
    assert ready.wait(10)
    try:
        yield fake
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


@pytest.fixture(autouse=True)
def no_home_assistant_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only what a test sets: a developer's own Home Assistant stays out of it."""
    for name in ("HASS_SERVER", "HASS_TOKEN", "HA_URL", "HA_TOKEN"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def script(tmp_path: Path) -> Path:
    path = tmp_path / "kitchen.yaml"
    path.write_text(SCRIPT)
    return path


CAST = ["--engine", "test", "--no-cache", "--host", "127.0.0.1"]


def cast_to_kitchen(
    script: Path | str,
    env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> tuple[int, str]:
    """The exit status and stderr of `voiceguide cast SCRIPT --to ha:ENTITY` under ``env``."""
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(session, "POLL_S", 0.05)
    code, _, err = run(["cast", str(script), "--to", f"ha:{ENTITY}", *CAST], capsys)
    return code, err


def test_plays_through_home_assistant_and_follows_to_the_end(
    home_assistant: FakeHomeAssistant,
    script: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    env = {"HA_URL": home_assistant.url + "/", "HA_TOKEN": TOKEN}
    code, err = cast_to_kitchen(script, env, monkeypatch, capsys)
    assert code == 0, err
    assert err.strip().splitlines()[-1] == f"finished on {ENTITY}"
    play, *polls = home_assistant.requests
    assert (play.method, play.path, play.authorization) == (
        "POST",
        "/api/services/media_player/play_media",
        f"Bearer {TOKEN}",
    )
    url = play.body["media_content_id"]
    assert url.startswith("http://127.0.0.1:") and url.endswith("/kitchen.mp3")
    assert play.body == {
        "entity_id": ENTITY,
        "media_content_id": url,
        "media_content_type": "music",
        "extra": {
            "title": "Kitchen stretch",
            "metadata": {
                "metadataType": 3,
                "title": "Kitchen stretch",
                "artist": "voiceguide",
                "albumName": "Kitchen stretch",
            },
        },
    }
    # The player got the MP3 (its first bytes: an ID3 tag) from our server.
    assert home_assistant.fetched == [(206, "audio/mpeg", b"ID3")]
    assert [(p.method, p.path) for p in polls] == [("GET", f"/api/states/{ENTITY}")] * 3
    assert all(p.authorization == f"Bearer {TOKEN}" for p in polls)


def test_a_refused_token_is_one_line(
    home_assistant: FakeHomeAssistant,
    script: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("HA_URL", home_assistant.url)
    monkeypatch.setenv("HA_TOKEN", "wrong")
    code, _, err = run(["cast", str(script), "--to", f"ha:{ENTITY}", *CAST], capsys)
    assert code == 1
    assert err.strip().splitlines()[-1] == (
        "voiceguide: Home Assistant refused the token in HA_TOKEN (401)"
    )
    assert "playing" not in err  # it never played: nothing may say it did
    assert [r.authorization for r in home_assistant.requests] == ["Bearer wrong"]


@pytest.mark.parametrize(
    ("target", "env", "message"),
    [
        (f"ha:{ENTITY}", {"HA_URL": "http://127.0.0.1:8123"}, "needs HASS_SERVER (e.g. "),
        (f"ha:{ENTITY}", {"HASS_TOKEN": "t"}, "needs HASS_SERVER (e.g. "),
        (f"ha:{ENTITY}", {"HASS_SERVER": "kitchen", "HASS_TOKEN": "t"}, "HASS_SERVER 'kitchen' "),
        (
            "ha:light.kitchen",
            {"HA_URL": "http://x", "HA_TOKEN": "t"},
            "is not a Home Assistant media player",
        ),
    ],
)
def test_home_assistant_setup_mistakes_exit_2(
    target: str,
    env: dict[str, str],
    message: str,
    script: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.delenv("HA_TOKEN", raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    code, _, err = run(["cast", str(script), "--to", target, *CAST], capsys)
    assert code == 2
    assert message in err and len(err.strip().splitlines()) == 1
    assert "Traceback" not in err


@pytest.mark.parametrize(
    "names",
    [("HASS_SERVER", "HASS_TOKEN"), ("HA_URL", "HA_TOKEN"), ("HASS_SERVER", "HA_TOKEN")],
)
def test_home_assistants_own_variable_names_work_and_the_old_ones_too(
    names: tuple[str, str],
    home_assistant: FakeHomeAssistant,
    script: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    server, token = names
    code, err = cast_to_kitchen(
        script, {server: home_assistant.url, token: TOKEN}, monkeypatch, capsys
    )
    assert code == 0, err
    assert err.strip().splitlines()[-1] == f"finished on {ENTITY}"
    assert home_assistant.requests[0].authorization == f"Bearer {TOKEN}"


def test_home_assistants_names_come_first_and_a_refusal_names_the_one_used(
    home_assistant: FakeHomeAssistant,
    script: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    env = {
        "HASS_SERVER": home_assistant.url,
        "HA_URL": "http://127.0.0.1:9",  # nothing listens there
        "HASS_TOKEN": "stale",
        "HA_TOKEN": TOKEN,
    }
    code, err = cast_to_kitchen(script, env, monkeypatch, capsys)
    assert code == 1
    assert err.strip().splitlines()[-1] == (
        "voiceguide: Home Assistant refused the token in HASS_TOKEN (401)"
    )
    assert [r.authorization for r in home_assistant.requests] == ["Bearer stale"]


def test_cast_plays_a_bundled_example(
    home_assistant: FakeHomeAssistant,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    env = {"HASS_SERVER": home_assistant.url, "HASS_TOKEN": TOKEN}
    code, err = cast_to_kitchen("example:espalda-suave", env, monkeypatch, capsys)
    assert code == 0, err
    play = home_assistant.requests[0]
    assert play.body["extra"]["title"] == "Espalda suave"
    assert play.body["media_content_id"].endswith("/espalda-suave.mp3")


def test_stopping_posts_media_stop(home_assistant: FakeHomeAssistant) -> None:
    from voiceguide.cast.homeassistant import HomeAssistantSpeaker

    speaker = HomeAssistantSpeaker(home_assistant.url, TOKEN, ENTITY)
    asyncio.run(speaker.stop())
    (stop,) = home_assistant.requests
    assert (stop.method, stop.path, stop.body) == (
        "POST",
        "/api/services/media_player/media_stop",
        {"entity_id": ENTITY},
    )


def test_ctrl_c_stops_the_media_player(home_assistant: FakeHomeAssistant, script: Path) -> None:
    home_assistant.plays_for_polls = 10_000  # plays until stopped
    env = {**os.environ, "HA_URL": home_assistant.url, "HA_TOKEN": TOKEN}
    process = subprocess.Popen(
        [sys.executable, "-m", "voiceguide", "cast", str(script), "--to", f"ha:{ENTITY}", *CAST],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    try:
        assert process.stderr is not None
        first = process.stderr.readline()
        assert first.startswith("playing Kitchen stretch (0:03.")
        deadline = time.monotonic() + 20
        while not any(r.path.startswith("/api/states/") for r in home_assistant.requests):
            assert time.monotonic() < deadline, "no status poll"
            time.sleep(0.05)
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=20) == 130
        assert process.stderr.read().strip() == f"voiceguide: stopped {ENTITY}"
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    stop = home_assistant.requests[-1]
    assert (stop.method, stop.path, stop.body, stop.authorization) == (
        "POST",
        "/api/services/media_player/media_stop",
        {"entity_id": ENTITY},
        f"Bearer {TOKEN}",
    )
    assert home_assistant.state == "idle"
