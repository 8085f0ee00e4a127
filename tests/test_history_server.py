"""The session log over HTTP: the web player's API, the History page, and who may see them.

A real server (aiohttp on a socket), requests over real connections. The
privacy tests bind it to a non-loopback address of this machine, so the
server sees a client that is not loopback, as a phone on the network is.
"""

from __future__ import annotations

import html
import http.client
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import urllib.parse
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from server_helpers import TINY, running_server

from voiceguide import lan
from voiceguide.history import Log
from voiceguide.history.summary import streak
from voiceguide.server import Access
from voiceguide.server.journal import where_played
from voiceguide.server.private import FAILED_TRIES

NOTES = ("NOTE-stiff-from-the-drive", "NOTE-much-looser-now")


@pytest.fixture
def scripts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    # A log of this test's own: the browser tests before it in the same run play
    # sessions into the run's shared one, and the History page counts them.
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    folder = tmp_path / "scripts"
    folder.mkdir()
    (folder / "tiny.yaml").write_text(TINY)
    return folder


def lan_address() -> str:
    found = [a for a in lan.reachable_addresses("0.0.0.0") if ":" not in a]
    if not found:
        pytest.skip("this machine has no non-loopback IPv4 address to serve on")
    return found[0]


class Client:
    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.cookie: str | None = None

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
        form: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, str], str]:
        connection = http.client.HTTPConnection(self.host, self.port, timeout=30)
        sent = dict(headers or {})
        data: bytes | None = None
        if form is not None:
            data = urllib.parse.urlencode(form).encode()
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        elif body is not None:
            data = json.dumps(body).encode()
            sent["Content-Type"] = "application/json"
        if self.cookie:
            sent["Cookie"] = self.cookie
        connection.request(method, path, data, sent)
        response = connection.getresponse()
        text = response.read().decode("utf-8", "replace")
        got = {k.lower(): v for k, v in response.getheaders()}
        connection.close()
        return response.status, got, text


@pytest.fixture
def local(scripts: Path, tmp_path: Path) -> Iterator[Client]:
    with running_server([scripts], tmp_path / "cache") as server:
        yield Client("127.0.0.1", server.port)


def log_path() -> Path:
    from voiceguide.history import default_path

    return default_path()


def test_a_web_session_with_check_ins_lands_in_the_log_and_on_the_history_page(
    local: Client,
) -> None:
    chrome = "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 Chrome/131.0 Mobile Safari/537.36"
    status, _, text = local.request(
        "POST", "/api/checkins", {"moment": "before", "pain": 7, "note": NOTES[0],
                                  "session": "tiny"}
    )  # fmt: skip
    assert status == 201, text
    before = json.loads(text)["id"]
    status, _, text = local.request(
        "POST", "/api/runs", {"session": "tiny", "checkins": [before]}, {"User-Agent": chrome}
    )
    assert status == 201, text
    run = json.loads(text)["id"]
    status, _, _ = local.request("POST", f"/api/runs/{run}", {"reached_s": 4.5, "steps_skipped": 1})
    assert status == 200
    # What a closed tab's beacon sends: text, no JSON content type.
    status, _, _ = local.request(
        "POST", f"/api/runs/{run}", None, {"Content-Type": "text/plain;charset=UTF-8"}
    )
    assert status == 200
    status, _, _ = local.request(
        "POST", f"/api/runs/{run}", {"reached_s": 9, "outcome": "finished"}
    )
    assert status == 200
    status, _, _ = local.request(
        "POST", "/api/checkins", {"moment": "after", "pain": 3, "note": NOTES[1], "run": run}
    )
    assert status == 201
    # A finished run is not changed again.
    assert local.request("POST", f"/api/runs/{run}", {"reached_s": 1})[0] == 404
    with Log.open(log_path()) as log:
        (played,) = [r for r in log.runs() if r.id == run]
        checkins = [c for c in log.checkins() if c.run_id == run]
    assert (played.via, played.target, played.outcome) == (
        "web", "web player (Chrome on Android)", "finished"
    )  # fmt: skip
    assert (played.reached_ms, played.steps_skipped) == (9000, 1)
    assert played.planned_ms > 0 and played.title == "Small session"
    assert [(c.moment, c.pain, c.note) for c in checkins] == [
        ("before", 7, NOTES[0]), ("after", 3, NOTES[1])
    ]  # fmt: skip
    status, _, text = local.request("GET", "/api/log")
    assert status == 200 and NOTES[0] in text
    status, headers, page = local.request("GET", "/history")
    assert status == 200 and headers["cache-control"] == "no-store"
    assert '<svg id="pain-chart"' in page and 'role="img"' in page
    assert re.search(r'<circle class="dot dot-before"', page)
    assert re.search(r'<rect class="dot dot-after"', page)
    # The table under the chart holds the day's figures: the chart's text alternative.
    figures = re.findall(r"<td [^>]*>([^<]*)</td>", page)
    assert figures == ["1", "7", "3"], page


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"moment": "during", "pain": 3}, "moment"),
        ({"moment": "after", "pain": 11}, "pain"),
        ({"moment": "after", "pain": True}, "pain"),
        ({"moment": "after", "pain": None, "note": ""}, "pain"),
        ({"moment": "after", "pain": 2, "note": "x" * 2001}, "note"),
        ({"moment": "after", "pain": 2, "session": "../etc"}, "session"),
    ],
)
def test_a_bad_check_in_is_400_naming_the_field(
    local: Client, body: dict[str, Any], field: str
) -> None:
    status, _, text = local.request("POST", "/api/checkins", body)
    assert status == 400 and text.startswith(f"{field}: "), text


def test_a_run_of_a_session_not_offered_is_refused(local: Client) -> None:
    status, _, text = local.request("POST", "/api/runs", {"session": "nope"})
    assert status == 400 and text.startswith("session: ")


def test_another_site_cannot_post_and_a_rebound_name_cannot_read(local: Client) -> None:
    status, _, _ = local.request(
        "POST", "/api/checkins", {"moment": "after", "pain": 1}, {"Origin": "http://evil.example"}
    )
    assert status == 403
    # DNS rebinding: a page on evil.example whose name now resolves to 127.0.0.1.
    status, _, text = local.request("GET", "/api/log", headers={"Host": "evil.example:80"})
    assert status == 403 and NOTES[0] not in text


def test_off_loopback_without_a_secret_the_log_is_403_in_one_sentence(
    scripts: Path, tmp_path: Path
) -> None:
    address = lan_address()
    with running_server([scripts], tmp_path / "cache", host=address) as server:
        client = Client(address, server.port)
        status, _, text = client.request("GET", "/api/log")
        assert status == 403
        assert "--passphrase" in text and text.count(".") == 1, text
        # A phone that opened the History page gets the same sentence as a page.
        status, headers, page = client.request("GET", "/history")
        assert status == 403 and headers["content-type"].startswith("text/html")
        assert f"<p>{html.escape(text.strip())}</p>" in page
        assert '<html lang="en">' in page and '<a class="back" href="/">' in page
        status, _, _ = client.request("POST", "/api/checkins", {"moment": "after", "pain": 2})
        assert status == 403
        assert client.request("GET", "/")[0] == 200  # the player itself is for everyone


def test_off_loopback_with_a_passphrase_devices_sign_in(scripts: Path, tmp_path: Path) -> None:
    address = lan_address()
    access = Access(passphrase="correct horse battery", token="t0ken-for-home-assistant")
    with running_server([scripts], tmp_path / "cache", host=address, access=access) as server:
        phone = Client(address, server.port)
        status, _, page = phone.request("GET", "/history")
        assert status == 401 and 'action="/signin"' in page
        status, headers, _ = phone.request("GET", "/api/log")
        assert status == 401 and headers["www-authenticate"].startswith("Bearer")
        status, _, _ = phone.request("GET", "/api/log", headers={"Authorization": "Bearer nope"})
        assert status == 401
        status, _, _ = phone.request(
            "GET", "/api/log", headers={"Authorization": "Bearer t0ken-for-home-assistant"}
        )
        assert status == 200
        status, headers, _ = phone.request(
            "POST", "/signin", form={"passphrase": "correct horse battery", "next": "/history"}
        )
        assert status == 303 and headers["location"] == "/history"
        cookie = headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Max-Age=" in cookie
        phone.cookie = cookie.split(";", 1)[0]
        assert phone.request("GET", "/history")[0] == 200
        assert phone.request("GET", "/api/log")[0] == 200
        # A made-up cookie is not a session.
        phone.cookie = "voiceguide_session=" + "A" * 43
        assert phone.request("GET", "/history")[0] == 401
        # A sign-in can only send the browser to a page of this server.
        status, headers, _ = phone.request(
            "POST",
            "/signin",
            form={"passphrase": "correct horse battery", "next": "//evil.example/"},
        )
        assert status == 303 and headers["location"] == "/history"


def test_failed_sign_ins_are_limited_per_address(scripts: Path, tmp_path: Path) -> None:
    address = lan_address()
    access = Access(passphrase="correct horse battery")
    with running_server([scripts], tmp_path / "cache", host=address, access=access) as server:
        phone = Client(address, server.port)
        for _ in range(FAILED_TRIES):
            assert phone.request("POST", "/signin", form={"passphrase": "guess"})[0] == 401
        status, headers, _ = phone.request("POST", "/signin", form={"passphrase": "guess"})
        assert status == 429 and int(headers["retry-after"]) >= 1
        # Even the right one waits: the limit is on the address, not on the guess.
        right = {"passphrase": "correct horse battery"}
        assert phone.request("POST", "/signin", form=right)[0] == 429
        # Wrong bearer tokens count too: no guessing through the API instead.
        status, _, _ = phone.request("GET", "/api/log", headers={"Authorization": "Bearer x"})
        assert status == 429


def test_the_rate_limit_forgets_failures_after_a_minute() -> None:
    now = [1000.0]
    access = Access(passphrase="p", clock=lambda: now[0])
    for _ in range(FAILED_TRIES):
        access.failed("192.0.2.9")
    assert access.retry_after_s("192.0.2.9") is not None
    assert access.retry_after_s("192.0.2.10") is None
    now[0] += 61
    assert access.retry_after_s("192.0.2.9") is None


def test_a_session_cookie_expires() -> None:
    now = [0.0]
    access = Access(passphrase="p", clock=lambda: now[0])
    ident = access.sign_in()
    assert access.signed_in(ident) and not access.signed_in(ident[:-1] + "x")
    now[0] += 8 * 24 * 3600
    assert not access.signed_in(ident)


def _public_paths(server_app: Any) -> list[str]:
    paths = []
    for resource in server_app.router.resources():
        info = resource.get_info()
        path = info.get("path") or info.get("formatter")
        if path is None:
            continue
        path = (
            path.replace("{id}", "tiny")
            .replace("{file}", "tiny.json")
            .replace("{name}", "player.js")
            .replace("{size}", "192")
        )
        if "{" not in path:
            paths.append(path)
    return paths


def test_no_health_data_on_any_public_route(scripts: Path, tmp_path: Path) -> None:
    address = lan_address()
    with Log.open(log_path()) as log:
        run = log.start_run("tiny", "Small session", "web", "web player", 9000)
        log.add_checkin("before", 9, NOTES[0], run_id=run, session_id="tiny")
        log.add_checkin("after", 2, NOTES[1], run_id=run, session_id="tiny")
        log.end_run(run, "finished", 9000)
    access = Access(passphrase="correct horse battery")
    with running_server([scripts], tmp_path / "cache", host=address, access=access) as server:
        phone = Client(address, server.port)
        paths = _public_paths(server.app)
        extra = ["/sessions/tiny.mp3", "/sessions/tiny.vtt", "/sessions/tiny.chapters.json"]
        assert {"/", "/sessions.json", "/feed.xml", "/playlist.m3u", "/signin"} <= set(paths)
        for path in paths + extra:
            status, _, text = phone.request("GET", path)
            if path.startswith(("/history", "/api/")):
                assert status in (401, 403), path
            for secret in (*NOTES, '"pain"', 'aria-pressed="true"', "before: 9"):
                assert secret not in text, (path, secret)


def test_the_log_file_is_never_served_and_stays_private() -> None:
    with Log.open(log_path()) as log:
        log.add_checkin("after", 4, "private")
    assert log_path().stat().st_mode & 0o077 == 0
    assert sqlite3.connect(log_path()).execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_where_played_names_the_browser_family_not_its_version() -> None:
    firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
    safari = (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
    )
    assert where_played(firefox) == "web player (Firefox on Linux)"
    assert where_played(safari) == "web player (Safari on iOS)"
    assert where_played("") == "web player"


def test_the_streak_counts_days_in_a_row_up_to_today() -> None:
    today = datetime(2026, 11, 30, tzinfo=UTC).date()
    days = {today - timedelta(days=n) for n in (1, 2, 3, 5)}
    assert streak(days, today) == 3  # today not played yet: yesterday's streak stands
    assert streak(days | {today}, today) == 4
    assert streak({today - timedelta(days=2)}, today) == 0


@pytest.mark.parametrize("how", ["--passphrase", "VOICEGUIDE_PASSPHRASE", None])
def test_serve_takes_the_passphrase_from_its_option_or_the_environment(
    scripts: Path, tmp_path: Path, how: str | None
) -> None:
    address = lan_address()
    command = [
        sys.executable, "-m", "voiceguide", "serve", str(scripts), "--host", address,
        "--port", "0", "--engine", "test", "--cache-dir", str(tmp_path / "cache"),
    ]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith("VOICEGUIDE_")}
    if how == "--passphrase":
        command += ["--passphrase", "open sesame"]
    elif how is not None:
        env[how] = "open sesame"
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert process.stderr is not None
        port = None
        while port is None:
            line = process.stderr.readline()
            assert line, "serve ended before it listened"
            found = re.search(rf"http://{re.escape(address)}:(\d+)/", line)
            port = int(found[1]) if found else None
        phone = Client(address, port)
        status, _, _ = phone.request("GET", "/history")
        assert status == (403 if how is None else 401)
        if how is not None:
            status, _, _ = phone.request("POST", "/signin", form={"passphrase": "open sesame"})
            assert status == 303
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)
