"""The server against hostile and broken clients: odd ranges, huge headers, slowloris.

Requests go out as raw bytes so no client library tidies them. Each test
also checks the server's own log: a bad request is the client's problem and
must not show up as a crash (a traceback or "Unhandled exception").
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from server_helpers import TINY, Running, running_server, status_of

HEAD_TIMEOUT_S = 30.0


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Running]:
    scripts = tmp_path / "scripts"
    scripts.mkdir()
    (scripts / "tiny.yaml").write_text(TINY)
    with (
        ThreadPoolExecutor(1) as pool,
        running_server([scripts], tmp_path / "cache", executor=pool, idle_timeout_s=3) as running,
    ):
        yield running


@pytest.fixture
def server_log(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO)
    return caplog


def crashes(log: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in log.records
        if r.levelno >= logging.ERROR or r.exc_info or "Unhandled" in r.getMessage()
    ]


async def exchange(port: int, head: bytes) -> tuple[int, dict[str, str], bytes]:
    """One request on its own connection, read to the end (the request asks to close)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(head)
        answer = await asyncio.wait_for(reader.read(), HEAD_TIMEOUT_S)
    finally:
        writer.close()
    top, _, body = answer.partition(b"\r\n\r\n")
    lines = top.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    if headers.get("transfer-encoding") == "chunked":
        body = b""  # only 416s here come chunked, and they carry no content
    return status_of(answer), headers, body


def get(path: str, *extra: str) -> bytes:
    lines = [f"GET {path} HTTP/1.1", "Host: 127.0.0.1", *extra, "Connection: close", "", ""]
    return "\r\n".join(lines).encode()


def whole_file(server: Running) -> tuple[bytes, str]:
    # A GET while the session renders gets the stream; a HEAD waits for the file.
    head = get("/sessions/tiny.mp3").replace(b"GET ", b"HEAD ", 1)
    assert asyncio.run(exchange(server.port, head))[0] == 200
    status, headers, body = asyncio.run(exchange(server.port, get("/sessions/tiny.mp3")))
    assert status == 200 and len(body) == int(headers["content-length"])
    return body, headers["etag"]


# --- malformed ranges -----------------------------------------------------------------

MALFORMED_RANGES = [
    "bytes=abc",
    "bytes=5-2",
    "bytes=-0",
    "bytes=0-0",
    "bytes=99999999999999999999999-",
    "bytes=0-99999999999999999999999",
    "bytes=-99999999999999999999",
    "bytes=18446744073709551616-18446744073709551617",
    "bytes=0-1,5-6",
    "bytes=0-1, 5-6, 9-",
    "bytes=" + ",".join(f"{n}-{n}" for n in range(900)),  # under 8 KB
    "items=0-5",
    "bytes=",
    "bytes=-",
    "bytes=--5",
    "bytes=+1-2",
    "bytes=0x10-20",
    "bytes=1e3-",
    "bytes=1-2-3",
    "bytes=0-5;x",
    "BYTES=0-5",
    "bytes=0-5 ",
    "bytes=00000000000000000000000001-2",
    "bytes=\u0661-2",
    "",
]


def test_malformed_ranges_get_416_or_the_right_bytes_never_a_crash(
    server: Running, server_log: pytest.LogCaptureFixture
) -> None:
    whole, _ = whole_file(server)

    async def ask_all() -> list[tuple[int, dict[str, str], bytes]]:
        heads = [get("/sessions/tiny.mp3", f"Range: {spec}") for spec in MALFORMED_RANGES]
        return [await exchange(server.port, head) for head in heads]

    answers = asyncio.run(ask_all())
    seen = set()
    for spec, (status, headers, body) in zip(MALFORMED_RANGES, answers, strict=True):
        seen.add(status)
        assert status in (200, 206, 416), (spec, status)
        if status == 200:
            assert body == whole, spec
        elif status == 206:
            found = re.fullmatch(r"bytes (\d+)-(\d+)/(\d+)", headers["content-range"])
            assert found is not None, (spec, headers)
            first, last, size = (int(g) for g in found.groups())
            assert size == len(whole) and body == whole[first : last + 1], spec
        else:
            assert headers["content-range"] == f"bytes */{len(whole)}", spec
    assert seen >= {206, 416}
    assert crashes(server_log) == []


def test_if_range_serves_the_range_only_for_the_version_named(
    server: Running, server_log: pytest.LogCaptureFixture
) -> None:
    whole, etag = whole_file(server)
    cases = {
        etag: 206,  # the current version: the rest of it
        "W/" + etag: 200,  # a weak ETag never matches in If-Range
        '"0-0"': 200,  # another version: the whole new file
        '"': 200,
        'W/"': 200,
        "not a date": 200,
        "Tue, 01 Jan 1980 00:00:00 GMT": 200,  # modified since
        "Fri, 01 Jan 2100 00:00:00 GMT": 206,
    }

    async def ask_all() -> list[tuple[int, dict[str, str], bytes]]:
        return [
            await exchange(
                server.port, get("/sessions/tiny.mp3", "Range: bytes=100-", f"If-Range: {value}")
            )
            for value in cases
        ]

    answers = asyncio.run(ask_all())
    for (value, expected), (status, _, body) in zip(cases.items(), answers, strict=True):
        assert status == expected, value
        assert body == (whole[100:] if status == 206 else whole), value
    # Before the fix each stale If-Range sent the file, then raised in aiohttp.
    assert crashes(server_log) == []


def test_if_range_keeps_the_connection_alive(server: Running) -> None:
    whole, _ = whole_file(server)

    async def two_on_one_connection() -> tuple[bytes, bytes]:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        try:
            head = b"GET /sessions/tiny.mp3 HTTP/1.1\r\nHost: x\r\nRange: bytes=0-9\r\n"
            writer.write(head + b'If-Range: "stale"\r\n\r\n')
            first = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), HEAD_TIMEOUT_S)
            length = int(re.search(rb"Content-Length: (\d+)", first)[1])  # type: ignore[index]
            await asyncio.wait_for(reader.readexactly(length), HEAD_TIMEOUT_S)
            writer.write(head + b"\r\n")
            second = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), HEAD_TIMEOUT_S)
            return first, second
        finally:
            writer.close()

    first, second = asyncio.run(two_on_one_connection())
    assert first.startswith(b"HTTP/1.1 200 ") and f"Content-Length: {len(whole)}".encode() in first
    assert second.startswith(b"HTTP/1.1 206 ")


# --- oversized requests ---------------------------------------------------------------

OVERSIZED = {
    "request line": b"GET /" + b"a" * 20_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
    "header value": b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 20_000 + b"\r\n\r\n",
    "header name": b"GET / HTTP/1.1\r\nHost: x\r\n" + b"N" * 20_000 + b": y\r\n\r\n",
    "header count": b"GET / HTTP/1.1\r\nHost: x\r\n"
    + b"".join(b"X-%d: y\r\n" % n for n in range(1000))
    + b"\r\n",
    "a megabyte of headers": b"GET / HTTP/1.1\r\nHost: x\r\n"
    + b"".join(b"X-%d: %s\r\n" % (n, b"v" * 8000) for n in range(130))
    + b"\r\n",
    "binary header": b"GET / HTTP/1.1\r\nHost: x\r\nX: \x00\x01\xff\r\n\r\n",
    "not HTTP at all": b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 64 + b"\r\n\r\n",
}


def test_oversized_and_garbled_requests_get_400s_and_one_log_line(
    server: Running, server_log: pytest.LogCaptureFixture
) -> None:
    async def ask_all() -> list[tuple[int, dict[str, str], bytes]]:
        return [await exchange(server.port, head) for head in OVERSIZED.values()]

    answers = asyncio.run(ask_all())
    for what, (status, _, _) in zip(OVERSIZED, answers, strict=True):
        assert status in (400, 413, 414, 431), (what, status)
    refused = [r for r in server_log.records if "refused a malformed request" in r.getMessage()]
    assert len(refused) >= len(OVERSIZED) - 1  # a TLS hello on a first request is logged at DEBUG
    assert all("\n" not in r.getMessage() and r.exc_info is None for r in refused)
    assert crashes(server_log) == []
    # And the server goes on.
    assert asyncio.run(exchange(server.port, get("/sessions.json")))[0] == 200


# --- slow and idle clients ---------------------------------------------------------------


async def _until_closed(reader: asyncio.StreamReader, bound_s: float) -> bytes:
    return await asyncio.wait_for(reader.read(), bound_s)


def test_slowloris_does_not_hold_the_server_and_its_sockets_are_closed(server: Running) -> None:
    """120 sockets trickle headers a byte at a time or say nothing; normal clients go on."""
    whole, _ = whole_file(server)
    idle_timeout_s = 3

    async def attack() -> tuple[list[float], list[tuple[int, bytes]], int]:
        opened = time.monotonic()

        async def slow(trickle: bool) -> float:
            # Timed from before connecting: the server's idle clock starts at its
            # accept, which a busy machine may reach well before the client is told.
            started = time.monotonic()
            reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
            request = b"GET /sessions.json HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"z" * 1000
            try:
                for byte in request if trickle else b"":
                    writer.write(bytes([byte]))
                    try:
                        if await asyncio.wait_for(reader.read(1), 0.1) == b"":
                            break
                    except TimeoutError:
                        continue
                else:
                    assert await _until_closed(reader, HEAD_TIMEOUT_S) == b""
            except ConnectionError:
                pass
            finally:
                writer.close()
            return time.monotonic() - started

        attackers = [asyncio.create_task(slow(n % 6 != 0)) for n in range(120)]
        await asyncio.sleep(0.5)  # all connected and trickling
        answers = []
        for path in ("/sessions.json", "/sessions/tiny.mp3", "/", "/sessions/tiny.vtt"):
            status, _, body = await exchange(server.port, get(path))
            answers.append((status, body))
        still_attacking = sum(not a.done() for a in attackers)
        assert time.monotonic() - opened < HEAD_TIMEOUT_S
        closed_after = await asyncio.gather(*attackers)
        return closed_after, answers, still_attacking

    closed_after, answers, still_attacking = asyncio.run(attack())
    assert [status for status, _ in answers] == [200, 200, 200, 200]
    assert answers[1][1] == whole
    # The normal clients were answered while the slow ones still held their sockets ...
    assert still_attacking > 100
    # ... which the server then closed: not before the idle timeout, and each one.
    assert min(closed_after) >= idle_timeout_s - 0.1
    assert max(closed_after) < HEAD_TIMEOUT_S


def test_an_idle_keep_alive_connection_is_closed_after_the_timeout(server: Running) -> None:
    async def keep_alive_then_wait() -> tuple[bytes, float, bytes]:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        try:
            writer.write(b"GET /sessions.json HTTP/1.1\r\nHost: x\r\n\r\n")
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), HEAD_TIMEOUT_S)
            length = int(re.search(rb"Content-Length: (\d+)", head)[1])  # type: ignore[index]
            await asyncio.wait_for(reader.readexactly(length), HEAD_TIMEOUT_S)
            answered = time.monotonic()
            rest = await _until_closed(reader, HEAD_TIMEOUT_S)
            return head, time.monotonic() - answered, rest
        finally:
            writer.close()

    head, idle_s, rest = asyncio.run(keep_alive_then_wait())
    assert head.startswith(b"HTTP/1.1 200 ")
    assert rest == b""  # closed by the server, with nothing more said
    assert 3 - 0.1 <= idle_s < HEAD_TIMEOUT_S
