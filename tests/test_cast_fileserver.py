"""The file server a speaker fetches from: HEAD, ranges, ETag, one record per request."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Mapping
from pathlib import Path

import pytest

pytest.importorskip("aiohttp", reason="needs aiohttp (pip install -e '.[cast]')")

import aiohttp

from voiceguide.cast.fileserver import FileServer, ServedRequest, address_facing
from voiceguide.errors import OutputError

DATA = bytes(range(256)) * 40  # 10240 bytes, every offset distinguishable


@pytest.fixture
def media(tmp_path: Path) -> Path:
    path = tmp_path / "back relief.mp3"
    path.write_bytes(DATA)
    return path


async def _exchange(
    media: Path, requests: list[tuple[str, str, dict[str, str]]]
) -> tuple[FileServer, list[tuple[int, Mapping[str, str], bytes]], list[ServedRequest]]:
    served: list[ServedRequest] = []
    server = FileServer(media, "127.0.0.1", on_request=served.append)
    await server.start()
    answers = []
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as client:
            for method, url_path, headers in requests:
                url = server.url if url_path == "" else server.url.rsplit("/", 2)[0] + url_path
                async with client.request(method, url, headers=headers) as reply:
                    answers.append((reply.status, reply.headers.copy(), await reply.read()))
        # The access record is written once the response has finished.
        for _ in range(100):
            if len(served) == len(requests):
                break
            await asyncio.sleep(0.01)
    finally:
        await server.close()
    return server, answers, served


def test_whole_file_range_head_and_etag(media: Path) -> None:
    server, answers, served = asyncio.run(
        _exchange(
            media,
            [
                ("GET", "", {}),
                ("HEAD", "", {}),
                ("GET", "", {"Range": "bytes=1000-1999"}),
                ("GET", "", {"Range": "bytes=10000-"}),
            ],
        )
    )
    assert server.url.startswith("http://127.0.0.1:")
    assert server.url.endswith("/back%20relief.mp3")
    (s1, h1, b1), (s2, h2, b2), (s3, h3, b3), (s4, h4, b4) = answers
    assert h4["Content-Range"] == f"bytes 10000-{len(DATA) - 1}/{len(DATA)}"
    assert (s1, b1) == (200, DATA)
    assert h1["Content-Type"] == "audio/mpeg"
    assert h1["Content-Length"] == str(len(DATA))
    assert h1["Accept-Ranges"] == "bytes"
    assert h1["ETag"]
    assert h1["contentFeatures.dlna.org"].startswith("DLNA.ORG_PN=MP3;DLNA.ORG_OP=01")
    assert (s2, b2, h2["Content-Length"], h2["ETag"]) == (200, b"", str(len(DATA)), h1["ETag"])
    assert (s3, b3) == (206, DATA[1000:2000])
    assert h3["Content-Range"] == f"bytes 1000-1999/{len(DATA)}"
    assert (s4, b4) == (206, DATA[10000:])
    assert [(r.method, r.range, r.status, r.bytes_sent) for r in served] == [
        ("GET", None, 200, len(DATA)),
        ("HEAD", None, 200, len(DATA)),
        ("GET", "bytes=1000-1999", 206, 1000),
        ("GET", "bytes=10000-", 206, len(DATA) - 10000),
    ]
    assert all(r.remote == "127.0.0.1" for r in served)
    assert "Range: bytes=1000-1999 -> 206 (1000 bytes)" in served[2].line()


def test_unchanged_file_is_not_sent_again(media: Path) -> None:
    async def run() -> list[int]:
        server = FileServer(media, "127.0.0.1")
        await server.start()
        try:
            async with aiohttp.ClientSession() as client:
                async with client.get(server.url) as first:
                    etag = first.headers["ETag"]
                async with client.get(server.url, headers={"If-None-Match": etag}) as again:
                    return [first.status, again.status]
        finally:
            await server.close()

    assert asyncio.run(run()) == [200, 304]


def test_only_the_one_file_is_served(media: Path, tmp_path: Path) -> None:
    (tmp_path / "secret.txt").write_text("not for speakers")
    _, answers, _ = asyncio.run(
        _exchange(
            media,
            [
                ("GET", "/back%20relief.mp3", {}),  # without the random segment
                ("GET", "/../secret.txt", {}),
                ("POST", "", {}),
            ],
        )
    )
    assert [status for status, _, _ in answers] == [404, 404, 405]
    assert all(b"not for speakers" not in body for _, _, body in answers)


def test_a_taken_port_is_one_clear_error(media: Path) -> None:
    async def run() -> None:
        first = FileServer(media, "127.0.0.1")
        await first.start()
        try:
            await FileServer(media, "127.0.0.1", port=first.port).start()
        finally:
            await first.close()

    # reuse_address lets a second listener bind on Linux only for TIME_WAIT
    # sockets, not a listening one.
    with pytest.raises(OutputError, match=r"cannot serve on 127\.0\.0\.1:\d+: address already"):
        asyncio.run(run())


def test_address_facing_a_loopback_peer_is_loopback() -> None:
    assert address_facing("127.0.0.1") == "127.0.0.1"


def test_address_facing_an_unknown_host_is_one_clear_error() -> None:
    with pytest.raises(OutputError, match=r"cannot resolve the host name nowhere\.invalid"):
        address_facing("nowhere.invalid")


def test_without_aiohttp_the_server_is_one_clear_error(
    media: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "aiohttp", None)
    with pytest.raises(OutputError, match=r"needs aiohttp \(pip install 'voiceguide\[cast\]'\)"):
        asyncio.run(FileServer(media, "127.0.0.1").start())
