"""The HTTP server against real clients on loopback: listing, audio, feed, playlist, errors."""

from __future__ import annotations

import asyncio
import json
import random
import socket
import struct
from pathlib import Path
from typing import Any

import aiohttp
import feedparser
import pytest
from multidict import CIMultiDict
from server_helpers import BROKEN, TINY, raw_request, running_server, status_of

from voiceguide import pipeline
from voiceguide.server.feed import clock_hms, normal_play_time


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    scripts = tmp_path / "scripts"
    scripts.mkdir()
    (scripts / "tiny.yaml").write_text(TINY)
    (scripts / "Second One.yml").write_text(TINY.replace("Small session", "Second & <one>"))
    (scripts / "broken.yaml").write_text(BROKEN)
    (scripts / "notes.txt").write_text("not a script")
    return scripts


def planned(path: Path) -> pipeline.Prepared:
    return pipeline.prepare(path, pipeline.VoiceOptions(engine="test", use_cache=False))


async def fetch(
    url: str, headers: dict[str, str] | None = None
) -> tuple[int, CIMultiDict[str], bytes]:
    async with (
        aiohttp.ClientSession() as client,
        client.get(url, headers=headers or {}) as response,
    ):
        return response.status, CIMultiDict(response.headers), await response.read()


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, CIMultiDict[str], bytes]:
    return asyncio.run(fetch(url, headers))


def get_file(url: str) -> tuple[int, CIMultiDict[str], bytes]:
    """The finished file: a GET while it renders streams the audio instead, a HEAD
    is answered once the file is there."""

    async def head_then_get() -> tuple[int, CIMultiDict[str], bytes]:
        async with aiohttp.ClientSession() as client, client.head(url) as response:
            assert response.status == 200
        return await fetch(url)

    return asyncio.run(head_then_get())


def test_sessions_json_lists_every_script_with_its_plan_or_error(
    folder: Path, tmp_path: Path
) -> None:
    """A fresh cache: the listing and the library page start no render and carry
    plans estimated from the scripts; once a session is rendered, its real plan."""
    with running_server([folder], tmp_path / "cache") as server:
        status, headers, body = get(server.url + "/sessions.json")
        page_status, _, page = get(server.url + "/")
        player_status, _, player = get(server.url + "/play/tiny")
        assert sum(server.renders.started.values()) == 0
        get(server.url + "/sessions/tiny.mp3")
        _, _, after = get(server.url + "/sessions.json")
    assert status == 200 and page_status == 200
    assert headers["Content-Type"].startswith("application/json")
    sessions = {s["id"]: s for s in json.loads(body)["sessions"]}
    assert sorted(sessions) == ["broken", "second-one", "tiny"]
    tiny = sessions["tiny"]
    plan = planned(folder / "tiny.yaml").timeline
    session = pipeline.load_session(folder / "tiny.yaml")
    estimate = pipeline.estimated_plan(session)
    assert tiny["title"] == "Small session"
    assert tiny["duration_estimated"] is True
    assert tiny["duration"] == round(estimate.duration_s, 6) != round(plan.duration_s, 6)
    # The estimate goes through the same planner: the same chapters, near their places.
    assert [c["title"] for c in tiny["chapters"]] == [c.title for c in plan.chapters]
    assert tiny["duration"] == pytest.approx(plan.duration_s, rel=0.2)
    assert tiny["url"] == server.url + "/sessions/tiny.mp3"
    assert tiny["error"] is None
    assert sessions["second-one"]["title"] == "Second & <one>"
    broken = sessions["broken"]
    assert broken["error"].startswith("broken.yaml:5:5: ") and "hodl" in broken["error"]
    assert "duration" not in broken
    assert b"about 1 min" in page and b"hodl" in page
    assert player_status == 200
    assert b'data-estimated="true"' in player and b'data-cached="false"' in player
    rendered = {s["id"]: s for s in json.loads(after)["sessions"]}
    assert rendered["tiny"]["duration_estimated"] is False
    assert rendered["tiny"]["duration"] == round(plan.duration_s, 6)
    assert rendered["second-one"]["duration_estimated"] is True


def test_a_broken_script_answers_422_and_the_server_goes_on(folder: Path, tmp_path: Path) -> None:
    with running_server([folder], tmp_path / "cache") as server:
        for suffix in (".mp3", ".vtt", ".json"):
            status, _, body = get(server.url + "/sessions/broken" + suffix)
            assert status == 422
            assert b"hodl" in body
        assert get(server.url + "/play/broken")[0] == 422
        status, headers, body = get(server.url + "/sessions/tiny.mp3")
        assert status == 200 and headers["Content-Type"] == "audio/mpeg"
        # The failure is remembered for this version of the script: no second try.
        assert server.renders.started[("audio", "broken")] == 1


def test_vtt_and_timeline_match_the_plan(folder: Path, tmp_path: Path) -> None:
    from voiceguide.outputs.vtt import timeline_to_webvtt
    from voiceguide.report import timeline_json

    plan = planned(folder / "tiny.yaml").timeline
    with running_server([folder], tmp_path / "cache") as server:
        status, headers, body = get(server.url + "/sessions/tiny.vtt")
        assert status == 200 and headers["Content-Type"] == "text/vtt; charset=utf-8"
        assert body.decode() == timeline_to_webvtt(plan)
        status, _, body = get(server.url + "/sessions/tiny.json")
        assert json.loads(body) == timeline_json(plan)


# --- the audio: ranges, HEAD, validators, one render for many clients ------------------


async def hang_up_mid_transfer(port: int, path: str, read_bytes: int) -> int:
    """Reads the start of the answer, then resets the connection (RST, not FIN)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
    await writer.drain()
    got = await asyncio.wait_for(reader.readexactly(read_bytes), 60)
    sock = writer.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.close()
    return len(got)


async def hang_up_before_answer(port: int, path: str) -> None:
    _, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
    await writer.drain()
    writer.close()


async def many_clients(url: str, port: int, count: int, seed: int) -> list[tuple]:
    rng = random.Random(seed)
    fractions = [(rng.random(), rng.random()) for _ in range(count)]
    connector = aiohttp.TCPConnector(limit=0)
    timeout = aiohttp.ClientTimeout(total=300)

    async def one(index: int, client: aiohttp.ClientSession) -> tuple:
        headers = {}
        if index % 2:
            # The length is known once the (single) render is done; the HEAD waits for it.
            async with client.head(url) as head:
                length = int(head.headers["Content-Length"])
            a, b = sorted(fractions[index])
            first, last = int(a * length), max(int(a * length), int(b * length) - 1)
            headers["Range"] = f"bytes={first}-{last}"
        async with client.get(url, headers=headers) as response:
            body = await response.read()
            return index, response.status, CIMultiDict(response.headers), headers.get("Range"), body

    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as client:
        tasks = [one(i, client) for i in range(count)]
        # Clients that give up while the render runs, and some that leave mid-transfer.
        leavers = [hang_up_before_answer(port, "/sessions/tiny.mp3") for _ in range(5)]
        results = await asyncio.gather(*tasks, *leavers)
        mid = await asyncio.gather(
            *(hang_up_mid_transfer(port, "/sessions/tiny.mp3", 20_000) for _ in range(5))
        )
        assert mid == [20_000] * 5
        # ...and a client after all of them still gets the whole file.
        async with client.get(url) as response:
            after = await response.read()
    return [r for r in results if r is not None] + [(-1, 200, CIMultiDict(), None, after)]


def test_100_concurrent_clients_get_identical_bytes_from_one_render(
    folder: Path, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    # The real set-up: a worker process renders while the loop keeps serving.
    with running_server([folder], cache) as server:
        url = server.url + "/sessions/tiny.mp3"
        results = asyncio.run(many_clients(url, server.port, 100, seed=4))
        assert server.renders.started[("audio", "tiny")] == 1
    mp3s = list(cache.glob("tiny-*.mp3"))
    assert len(mp3s) == 1
    whole = mp3s[0].read_bytes()
    assert len(whole) > 20_000
    etags = set()
    ranged = 0
    streams = set()
    for index, status, headers, asked, body in results:
        if index >= 0 and asked is None and "ETag" not in headers:
            # Asked while it rendered: the audio as it was made, the same for all.
            assert status == 200 and headers["Transfer-Encoding"] == "chunked"
            assert headers["Accept-Ranges"] == "none"
            streams.add(body)
            continue
        if asked is None:
            assert status == 200
            assert body == whole
        else:
            ranged += 1
            first, last = (int(x) for x in asked.removeprefix("bytes=").split("-"))
            assert status == 206
            assert headers["Content-Range"] == f"bytes {first}-{last}/{len(whole)}"
            assert body == whole[first : last + 1]
        if headers:
            assert headers["Content-Type"] == "audio/mpeg"
            assert headers["Accept-Ranges"] == "bytes"
            assert int(headers["Content-Length"]) == len(body)
            etags.add(headers["ETag"])
    assert ranged == 50
    assert len(results) == 101
    assert len(etags) == 1
    assert len(streams) <= 1
    # The last client came after the render: the file itself.
    assert results[-1][4] == whole


def test_head_validators_and_odd_ranges(folder: Path, tmp_path: Path) -> None:
    async def scenario(url: str) -> None:
        async with aiohttp.ClientSession() as client:
            async with client.head(url) as response:
                await response.read()  # answered once the file is rendered
            async with client.get(url) as response:
                whole = await response.read()
                etag = response.headers["ETag"]
            async with client.head(url) as response:
                assert response.status == 200
                assert int(response.headers["Content-Length"]) == len(whole)
                assert response.headers["Accept-Ranges"] == "bytes"
                assert response.headers["ETag"] == etag
                assert await response.read() == b""
            async with client.get(url, headers={"Range": "bytes=-500"}) as response:
                assert response.status == 206
                assert await response.read() == whole[-500:]
            async with client.get(url, headers={"Range": f"bytes={len(whole) - 10}-"}) as response:
                assert response.status == 206
                assert await response.read() == whole[-10:]
            async with client.get(url, headers={"Range": f"bytes={len(whole) + 5}-"}) as response:
                assert response.status == 416
            async with client.get(url, headers={"If-None-Match": etag}) as response:
                assert response.status == 304
            # If-Range with a stale ETag (the script changed): the whole new file.
            headers = {"Range": "bytes=0-9", "If-Range": '"stale-etag"'}
            async with client.get(url, headers=headers) as response:
                assert response.status == 200
                assert await response.read() == whole
            headers = {"Range": "bytes=0-9", "If-Range": etag}
            async with client.get(url, headers=headers) as response:
                assert response.status == 206
                assert await response.read() == whole[:10]

    with running_server([folder], tmp_path / "cache") as server:
        asyncio.run(scenario(server.url + "/sessions/tiny.mp3"))


def test_an_edited_script_is_rendered_again_and_old_files_go(folder: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    with running_server([folder], cache) as server:
        _, first_headers, first = get_file(server.url + "/sessions/tiny.mp3")
        get_file(server.url + "/sessions/tiny.mp3")
        assert server.renders.started[("audio", "tiny")] == 1
        (folder / "tiny.yaml").write_text(TINY.replace("Settle on the mat.", "Settle slowly."))
        _, headers, second = get_file(server.url + "/sessions/tiny.mp3")
        assert server.renders.started[("audio", "tiny")] == 2
        assert headers["ETag"] != first_headers["ETag"] and second != first
        _, _, plan = get(server.url + "/sessions/tiny.json")
        assert "Settle slowly." in [e.get("text") for e in json.loads(plan)["events"]]
    assert len(list(cache.glob("tiny-*.mp3"))) == 1
    # Nothing hidden beside them either (an export's list of its transcript).
    assert not [p.name for p in cache.iterdir() if p.name.startswith(".tiny")]


def test_files_removed_from_the_cache_are_rendered_again(folder: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    with running_server([folder], cache) as server:
        _, _, before = get_file(server.url + "/sessions/tiny.mp3")
        for path in cache.iterdir():
            path.unlink()
        status, _, after = get_file(server.url + "/sessions/tiny.mp3")
        assert server.renders.started[("audio", "tiny")] == 2
    assert status == 200 and after == before


def test_a_restarted_server_reuses_its_renders(folder: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    with running_server([folder], cache) as server:
        _, _, before = get_file(server.url + "/sessions/tiny.mp3")
    with running_server([folder], cache) as server:
        _, _, after = get_file(server.url + "/sessions/tiny.mp3")
        assert server.renders.started[("audio", "tiny")] == 0
    assert after == before


def test_new_and_removed_scripts_show_without_a_restart(folder: Path, tmp_path: Path) -> None:
    with running_server([folder], tmp_path / "cache") as server:
        (folder / "later.yaml").write_text(TINY)
        (folder / "Second One.yml").unlink()
        ids = [s["id"] for s in json.loads(get(server.url + "/sessions.json")[2])["sessions"]]
        assert ids == ["broken", "later", "tiny"]
        assert get(server.url + "/sessions/second-one.mp3")[0] == 404
        # A bookmark of the removed one: a page that leads back, not bare text.
        status, headers, body = get(server.url + "/play/second-one")
        assert status == 404 and headers["Content-Type"] == "text/html; charset=utf-8"
        assert b"\xe2\x80\x9csecond-one\xe2\x80\x9d" in body and b'href="/"' in body


# --- feed and playlist ---------------------------------------------------------------


def test_the_feed_reads_in_a_podcast_parser_with_every_session_and_chapter(
    folder: Path, tmp_path: Path
) -> None:
    host = {"Host": "mat.local:8080"}
    with running_server([folder], tmp_path / "cache") as server:
        get_file(server.url + "/sessions/tiny.mp3")  # one rendered, one not yet
        status, headers, body = get(server.url + "/feed.xml", host)
    assert status == 200 and headers["Content-Type"].startswith("application/rss+xml")
    feed = feedparser.parse(body)
    assert not feed.bozo, feed.get("bozo_exception")
    assert feed.feed.title == "voiceguide sessions"
    entries = {e.title: e for e in feed.entries}
    assert sorted(entries) == ["Second & <one>", "Small session"]  # the broken one is left out
    plan = planned(folder / "tiny.yaml").timeline
    rendered = next((tmp_path / "cache").glob("tiny-*.mp3"))
    for title, entry in entries.items():
        (enclosure,) = entry.enclosures
        assert enclosure.type == "audio/mpeg"
        assert enclosure.href.startswith("http://mat.local:8080/sessions/")
        assert entry.itunes_duration == clock_hms(plan.duration_s)
        chapters = entry.psc_chapters["chapters"]
        assert [c["title"] for c in chapters] == [c.title for c in plan.chapters]
        starts_ms = [c["start_parsed"].total_seconds() * 1000 for c in chapters]
        expected_ms = [c.start_sample * 1000 / plan.sample_rate_hz for c in plan.chapters]
        assert starts_ms == pytest.approx(expected_ms, abs=0.51)
        if title == "Small session":
            assert enclosure.href == "http://mat.local:8080/sessions/tiny.mp3"
            assert int(enclosure.length) == rendered.stat().st_size
    assert entries["Small session"].id != entries["Second & <one>"].id


def test_chapter_times_in_the_feed_format() -> None:
    assert normal_play_time(3723.4567) == "01:02:03.457"
    assert clock_hms(59.5) == "00:01:00"


def test_the_playlist_has_absolute_urls_on_the_address_used(folder: Path, tmp_path: Path) -> None:
    with running_server([folder], tmp_path / "cache") as server:
        status, headers, body = get(server.url + "/playlist.m3u", {"Host": "[::1]:9000"})
        _, _, default_host = get(server.url + "/playlist.m3u")
        # A Host header that is not a host name falls back to the address connected to.
        _, _, odd = get(server.url + "/playlist.m3u", {"Host": 'evil"<x>/path'})
    assert status == 200 and headers["Content-Type"].startswith("audio/x-mpegurl")
    lines = body.decode().splitlines()
    duration = round(planned(folder / "tiny.yaml").timeline.duration_s)
    assert lines[0] == "#EXTM3U"
    assert lines[1:] == [
        f"#EXTINF:{duration},Second & <one>",
        "http://[::1]:9000/sessions/second-one.mp3",
        f"#EXTINF:{duration},Small session",
        "http://[::1]:9000/sessions/tiny.mp3",
    ]
    assert f"{server.url}/sessions/tiny.mp3" in default_host.decode()
    assert f"{server.url}/sessions/tiny.mp3" in odd.decode()


def test_every_request_is_logged_on_one_line(
    folder: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger="aiohttp.access")
    with running_server([folder], tmp_path / "cache") as server:
        get(server.url + "/sessions/tiny.mp3", {"Range": "bytes=0-99"})
        get(server.url + "/nothing-here")
    lines = [r.getMessage() for r in caplog.records if r.name == "aiohttp.access"]
    assert len(lines) == 2
    assert '"GET /sessions/tiny.mp3 HTTP/1.1" 206' in lines[0]
    assert '"GET /nothing-here HTTP/1.1" 404' in lines[1]


def test_raw_http_gets_the_same_answer(folder: Path, tmp_path: Path) -> None:
    with running_server([folder], tmp_path / "cache") as server:
        answer = asyncio.run(
            raw_request(server.port, b"HEAD /sessions.json HTTP/1.1\r\nHost: x\r\n\r\n")
        )
    assert status_of(answer) == 200


def test_a_render_worker_that_dies_costs_one_503_not_the_server(
    folder: Path, tmp_path: Path
) -> None:
    import os
    import signal
    import time

    async def scenario(server: Any) -> tuple[int, int, bytes]:
        async with aiohttp.ClientSession() as client:
            first = asyncio.create_task(client.get(server.url + "/sessions/tiny.mp3"))
            deadline = time.monotonic() + 30
            processes: dict[int, Any] = {}
            while not processes and time.monotonic() < deadline:
                await asyncio.sleep(0.005)
                processes = getattr(server.renders.executor, "_processes", None) or {}
            for pid in list(processes):
                os.kill(pid, signal.SIGKILL)
            response = await first
            lost = response.status
            response.release()
            async with client.head(server.url + "/sessions/tiny.mp3") as again:
                await again.read()
            async with client.get(server.url + "/sessions/tiny.mp3") as again:
                return lost, again.status, await again.read()

    with running_server([folder], tmp_path / "cache") as server:
        lost, status, body = asyncio.run(scenario(server))
        assert server.renders.started[("audio", "tiny")] == 2
    assert lost == 503
    assert status == 200
    assert body == next((tmp_path / "cache").glob("tiny-*.mp3")).read_bytes()


def urllib_get(url: str) -> tuple[int, str]:
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_a_request_while_the_pool_stops_gets_503_and_no_traceback(
    folder: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Ctrl-C stops the render pool while a request may still be on its way to it."""
    from voiceguide.processes import PoolStopped, WorkerPool

    pool = WorkerPool(1)
    pool.stop()
    with pytest.raises(PoolStopped, match="stopping"):
        pool.submit(print, "never")
    with running_server([folder], tmp_path / "cache", executor=pool) as server:
        answer = urllib_get(server.url + "/sessions/tiny.mp3")
    assert answer == (503, "the server is stopping; tiny was not rendered; try again\n")
    assert "Traceback" not in caplog.text and "Error handling request" not in caplog.text
