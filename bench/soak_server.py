"""Soak test of `voiceguide serve`: many clients, for minutes, while a script changes.

    .venv/bin/python bench/soak_server.py                  # 10 minutes, 16 clients
    .venv/bin/python bench/soak_server.py --minutes 0.6 --json soak.json

Starts the real server as a subprocess (``python -m voiceguide serve``, the
deterministic ``test`` speech engine, a fresh cache folder) on loopback and
runs concurrent aiohttp clients against it: full downloads, random byte
ranges, If-Range resumes, clients that hang up mid-transfer, HEAD,
conditional requests, sessions.json, feed.xml, playlist.m3u, transcripts,
timelines, a broken script and unknown URLs. Meanwhile one script is
rewritten every few seconds (as an editor saves: a new file renamed over the
old), so re-renders happen while clients download, and a few sockets trickle
a request a byte at a time or stay silent.

Every byte served is compared with the file of the ETag it was served under:
a watcher hard-links each rendered file as soon as it appears in the cache
folder, so an old version stays readable after the server has replaced it.

It fails (exit 1, each problem on a line) on any 5xx or unexpected status, a
byte that differs, a request that takes over a minute, a traceback in the
server's log, growth of the server's RSS or open file descriptors between the
end of the warm-up and the end beyond the bounds, an idle socket the server
does not close, or a server that does not answer afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ElementTree
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

REQUEST_TIMEOUT_S = 60.0
# The server's idle timeout (voiceguide.server.IDLE_TIMEOUT_S) plus slack.
IDLE_CLOSE_WITHIN_S = 25.0
SAMPLE_EVERY_S = 5.0

EDITED = """\
title: Soak session {version}
description: Rewritten while clients download.
steps:
  - say: Settle on the mat. This is version {version}.
  - pause: {pause_ms}ms
  - exercise: Knee squeeze
    breathe: relax
    hold: {hold_s}s
    sides: both
    release: Let go.
    say: Hug your {{side}} knee.
  - sound: chime
"""

STEADY = """\
title: Steady session
description: Never edited.
steps:
  - say: Lie on your back. Let the floor hold you.
  - breathe: box
    cycles: 2
  - exercise: Pelvic tilt
    hold: 5s
    reps: 3
    rest: 2s
    say: Press your lower back into the floor.
  - pause: 3s
  - sound: chime
"""

BROKEN = """\
title: Broken
steps:
  - pause: 3s
    hodl: 30s
"""

SESSION_IDS = ["broken", "edited", "steady"]


def edited_script(version: int) -> str:
    pause_ms = 500 + 37 * (version % 20)
    return EDITED.format(version=version, pause_ms=pause_ms, hold_s=3 + version % 3)


# --- the server process -------------------------------------------------------------


@dataclass
class Usage:
    rss_kb: int
    fds: int


class ServerProcess:
    def __init__(self, scripts: Path, cache: Path, log_path: Path, home: Path) -> None:
        self.log_path = log_path
        env = {**os.environ, "XDG_CACHE_HOME": str(home), "XDG_DATA_HOME": str(home)}
        # faulthandler: a server that will not stop is made to print its threads' stacks.
        command = [sys.executable, "-X", "faulthandler", "-m", "voiceguide", "serve"]
        command += [str(scripts), "--port", "0"]
        command += ["--cache-dir", str(cache), "--engine", "test", "--no-cache"]
        self.log = log_path.open("w")
        self.process = subprocess.Popen(command, stderr=self.log, stdout=self.log, env=env)
        self.url = self._wait_for_address()

    def _wait_for_address(self) -> str:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and self.process.poll() is None:
            found = re.search(r"Serving on (http://\S+)/", self.log_path.read_text())
            if found:
                return found.group(1)
            time.sleep(0.05)
        self.process.kill()
        raise SystemExit(f"the server did not start:\n{self.log_path.read_text()}")

    def usage(self) -> Usage:
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        rss_kb = int(re.search(r"^VmRSS:\s+(\d+) kB", status, re.M).group(1))  # type: ignore[union-attr]
        return Usage(rss_kb, len(os.listdir(f"/proc/{self.process.pid}/fd")))

    def settled_usage(self) -> Usage:
        """Once the closed connections are gone: the fd count the same twice in a row."""
        previous = self.usage()
        for _ in range(20):
            time.sleep(0.5)
            now = self.usage()
            if now.fds == previous.fds:
                return now
            previous = now
        return previous

    def stop(self) -> int:
        self.process.send_signal(signal.SIGINT)
        try:
            return self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.send_signal(signal.SIGABRT)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
            return -9
        finally:
            self.log.close()

    def log_problems(self) -> list[str]:
        lines = self.log_path.read_text(errors="replace").splitlines()
        bad = ("Traceback", "Unhandled exception", "Error handling request")
        return [line for line in lines if line.startswith(bad)]

    def count(self, pattern: str) -> int:
        return len(re.findall(pattern, self.log_path.read_text(errors="replace")))


# --- what was rendered, by ETag --------------------------------------------------------


class Witness:
    """Keeps every rendered file the server writes, by the ETag aiohttp gives it."""

    def __init__(self, cache: Path, keep: Path) -> None:
        self.cache = cache
        self.keep = keep
        self.paths: dict[str, Path] = {}
        self.versions: Counter[str] = Counter()  # session id -> MP3 versions seen
        self._recent: dict[str, bytes] = {}

    def scan(self) -> None:
        try:
            names = os.listdir(self.cache)
        except FileNotFoundError:
            return
        for name in names:
            if not name.endswith((".mp3", ".vtt")) or (self.keep / name).exists():
                continue
            try:
                # Same inode, so same mtime and size: the same ETag.
                os.link(self.cache / name, self.keep / name)
            except FileNotFoundError:
                continue  # replaced before we saw it; a request for it is reported
            stat = (self.keep / name).stat()
            self.paths[f'"{stat.st_mtime_ns:x}-{stat.st_size:x}"'] = self.keep / name
            if name.endswith(".mp3"):
                self.versions[name.rsplit("-", 1)[0]] += 1

    def body(self, etag: str) -> bytes | None:
        if etag not in self.paths:
            self.scan()
        path = self.paths.get(etag)
        if path is None:
            return None
        if etag not in self._recent:
            if len(self._recent) > 16:
                self._recent.clear()
            self._recent[etag] = path.read_bytes()
        return self._recent[etag]

    def sizes(self, session: str) -> list[int]:
        return [p.stat().st_size for p in self.paths.values() if p.name.startswith(session + "-")]

    async def watch(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            self.scan()
            await asyncio.sleep(0.02)


# --- the clients ------------------------------------------------------------------------


@dataclass
class Tally:
    requests: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    actions: Counter[str] = field(default_factory=Counter)
    bytes_verified: int = 0
    disconnects: int = 0
    problems: list[str] = field(default_factory=list)
    pending: list[tuple[str, int, bytes, bool]] = field(default_factory=list)

    def problem(self, text: str) -> None:
        self.problems.append(text)


class Client:
    def __init__(self, base: str, witness: Witness, tally: Tally, rng: random.Random) -> None:
        self.base = base
        self.witness = witness
        self.tally = tally
        self.rng = rng
        self.last_etag: dict[str, str] = {}
        self.actions: list[tuple[int, Callable[[aiohttp.ClientSession], Awaitable[None]]]] = [
            (6, self.full_download),
            (8, self.byte_range),
            (3, self.suffix_range),
            (3, self.open_range),
            (3, self.resume_with_if_range),
            (4, self.hang_up_mid_transfer),
            (3, self.head),
            (2, self.conditional),
            (3, self.sessions_json),
            (2, self.feed),
            (2, self.playlist),
            (2, self.transcript),
            (1, self.timeline),
            (1, self.broken),
            (1, self.not_found),
            (1, self.pages),
        ]

    def _pick_session(self) -> str:
        return self.rng.choice(["edited", "edited", "steady"])

    def _expect(self, what: str, status: int, allowed: tuple[int, ...]) -> bool:
        self.tally.requests += 1
        self.tally.statuses[status] += 1
        if status not in allowed:
            self.tally.problem(f"{what}: status {status}, expected {allowed}")
            return False
        return True

    def streamed(self, headers: Any, body: bytes, what: str) -> bool:
        """True for the audio streamed while it rendered (no version, nothing to check
        against); a response with neither an ETag nor chunked audio is a problem."""
        if "ETag" in headers:
            return False
        if headers.get("Transfer-Encoding") != "chunked" or not body:
            self.tally.problem(f"{what}: neither the file nor a stream")
        return True

    def verify(self, etag: str | None, offset: int, body: bytes, whole: bool, what: str) -> None:
        if etag is None:
            self.tally.problem(f"{what}: no ETag")
            return
        reference = self.witness.body(etag)
        if reference is None:
            self.tally.pending.append((etag, offset, body, whole))
            return
        check_body(self.tally, reference, etag, offset, body, whole, what)

    async def run(self, deadline: float, max_requests: int) -> None:
        weights = [w for w, _ in self.actions]
        connector = aiohttp.TCPConnector(limit=4)
        async with aiohttp.ClientSession(connector=connector) as session:
            for _ in range(max_requests):
                if time.monotonic() >= deadline:
                    break
                (_, action) = self.rng.choices(self.actions, weights)[0]
                self.tally.actions[action.__name__] += 1
                try:
                    await asyncio.wait_for(action(session), REQUEST_TIMEOUT_S)
                except TimeoutError:
                    self.tally.problem(f"{action.__name__}: no answer within {REQUEST_TIMEOUT_S} s")
                except aiohttp.ClientError as exc:
                    self.tally.problem(f"{action.__name__}: {type(exc).__name__}: {exc}")

    async def _get_file(
        self, session: aiohttp.ClientSession, sid: str, kind: str, headers: dict[str, str]
    ) -> tuple[int, Any, bytes]:
        async with session.get(f"{self.base}/sessions/{sid}.{kind}", headers=headers) as r:
            return r.status, r.headers, await r.read()

    async def full_download(self, session: aiohttp.ClientSession) -> None:
        sid = self._pick_session()
        status, headers, body = await self._get_file(session, sid, "mp3", {})
        if self._expect("full", status, (200,)):
            if self.streamed(headers, body, f"full {sid}"):
                return
            self.last_etag[sid] = headers["ETag"]
            self.verify(headers.get("ETag"), 0, body, True, f"full {sid}")

    async def _range(self, session: aiohttp.ClientSession, sid: str, spec: str) -> None:
        status, headers, body = await self._get_file(session, sid, "mp3", {"Range": spec})
        # "bytes=0-" asks for the whole file, which a render in progress answers by streaming.
        from_start = spec == "bytes=0-"
        if not self._expect(f"range {spec}", status, (200, 206, 416) if from_start else (206, 416)):
            return
        if status == 200:
            if not self.streamed(headers, body, f"range {sid} {spec}"):
                self.tally.problem(f"range {spec}: the whole file under 200, not a range")
            return
        if status == 416:
            size = int(headers["Content-Range"].rsplit("/", 1)[1])
            start = spec.removeprefix("bytes=").split("-")[0]
            if not start or int(start) < size or size not in self.witness.sizes(sid):
                self.tally.problem(f"range {spec}: 416 with {headers['Content-Range']}")
            return
        found = re.fullmatch(r"bytes (\d+)-(\d+)/(\d+)", headers["Content-Range"])
        if found is None or int(found[2]) - int(found[1]) + 1 != len(body):
            self.tally.problem(f"range {spec}: Content-Range {headers['Content-Range']}")
            return
        self.verify(headers.get("ETag"), int(found[1]), body, False, f"range {sid} {spec}")

    def _size_hint(self, sid: str) -> int:
        sizes = self.witness.sizes(sid)
        return min(sizes) if sizes else 100_000

    async def byte_range(self, session: aiohttp.ClientSession) -> None:
        sid = self._pick_session()
        size = self._size_hint(sid)
        first = self.rng.randrange(0, size + size // 50)  # a few past the end: 416
        last = first + self.rng.choice([0, 1, 99, 4095, 65535, 300_000])
        await self._range(session, sid, f"bytes={first}-{last}")

    async def suffix_range(self, session: aiohttp.ClientSession) -> None:
        sid = self._pick_session()
        await self._range(session, sid, f"bytes=-{self.rng.randrange(1, 200_000)}")

    async def open_range(self, session: aiohttp.ClientSession) -> None:
        sid = self._pick_session()
        await self._range(session, sid, f"bytes={self.rng.randrange(0, self._size_hint(sid))}-")

    async def resume_with_if_range(self, session: aiohttp.ClientSession) -> None:
        """A player resuming: the rest of its version, or the whole file of a newer one."""
        sid = self._pick_session()
        old = self.last_etag.get(sid)
        if old is None:
            return await self.full_download(session)
        first = self.rng.randrange(0, self._size_hint(sid))
        headers = {"Range": f"bytes={first}-", "If-Range": old}
        status, answer, body = await self._get_file(session, sid, "mp3", headers)
        if not self._expect("if-range", status, (200, 206)):
            return
        if status == 200 and first == 0 and self.streamed(answer, body, f"if-range {sid}"):
            # The old version is gone and the new one is still rendering: no version yet.
            self.last_etag.pop(sid, None)
            return
        etag = answer.get("ETag")
        if (status == 206) != (etag == old):
            self.tally.problem(f"if-range: {status} under {etag} for If-Range {old}")
        self.last_etag[sid] = etag
        offset = first if status == 206 else 0
        self.verify(etag, offset, body, status == 200, f"if-range {sid}")

    async def hang_up_mid_transfer(self, session: aiohttp.ClientSession) -> None:
        sid = self._pick_session()
        async with session.get(f"{self.base}/sessions/{sid}.mp3") as response:
            if not self._expect("hang-up", response.status, (200,)):
                return
            wanted = self.rng.randrange(1, 400_000)
            received = bytearray()
            async for chunk in response.content.iter_chunked(16384):
                received += chunk
                if len(received) >= wanted:
                    break
            # Drops the connection with the rest of the file unread.
            response.close()
            self.tally.disconnects += 1
            if not self.streamed(response.headers, bytes(received), "hang-up"):
                self.verify(response.headers.get("ETag"), 0, bytes(received), False, "hang-up")

    async def head(self, session: aiohttp.ClientSession) -> None:
        sid = self._pick_session()
        async with session.head(f"{self.base}/sessions/{sid}.mp3") as response:
            body = await response.read()
            if not self._expect("head", response.status, (200,)):
                return
            etag = response.headers.get("ETag", "")
            reference = self.witness.body(etag)
            length = int(response.headers["Content-Length"])
            if body or (reference is not None and len(reference) != length):
                self.tally.problem(f"head {sid}: length {length}, body {len(body)} bytes")

    async def conditional(self, session: aiohttp.ClientSession) -> None:
        sid = self._pick_session()
        etag = self.last_etag.get(sid, '"none"')
        status, headers, body = await self._get_file(session, sid, "mp3", {"If-None-Match": etag})
        if self._expect("if-none-match", status, (200, 304)) and status == 200:
            if self.streamed(headers, body, f"if-none-match {sid}"):
                return
            if headers.get("ETag") == etag:
                self.tally.problem(f"if-none-match: 200 for the ETag it holds ({etag})")
            self.last_etag[sid] = headers["ETag"]
            self.verify(headers.get("ETag"), 0, body, True, f"if-none-match {sid}")

    async def _text(self, session: aiohttp.ClientSession, path: str, allowed: int) -> str | None:
        async with session.get(self.base + path) as response:
            body = await response.text()
            return body if self._expect(path, response.status, (allowed,)) else None

    async def sessions_json(self, session: aiohttp.ClientSession) -> None:
        body = await self._text(session, "/sessions.json", 200)
        if body is not None:
            sessions = {s["id"]: s for s in json.loads(body)["sessions"]}
            titles_ok = re.fullmatch(r"Soak session \d+", sessions["edited"]["title"])
            if sorted(sessions) != SESSION_IDS or not titles_ok or not sessions["broken"]["error"]:
                self.tally.problem(f"sessions.json: {body[:300]}")

    async def feed(self, session: aiohttp.ClientSession) -> None:
        body = await self._text(session, "/feed.xml", 200)
        if body is not None:
            items = ElementTree.fromstring(body).findall("./channel/item")
            if len(items) != 2:
                self.tally.problem(f"feed.xml: {len(items)} items")

    async def playlist(self, session: aiohttp.ClientSession) -> None:
        body = await self._text(session, "/playlist.m3u", 200)
        if body is not None and (not body.startswith("#EXTM3U") or body.count("#EXTINF") != 2):
            self.tally.problem(f"playlist.m3u: {body[:200]}")

    async def transcript(self, session: aiohttp.ClientSession) -> None:
        sid = self._pick_session()
        status, headers, body = await self._get_file(session, sid, "vtt", {})
        if self._expect("vtt", status, (200,)):
            self.verify(headers.get("ETag"), 0, body, True, f"vtt {sid}")

    async def timeline(self, session: aiohttp.ClientSession) -> None:
        body = await self._text(session, f"/sessions/{self._pick_session()}.json", 200)
        if body is not None and json.loads(body)["duration_samples"] <= 0:
            self.tally.problem("timeline: no duration")

    async def broken(self, session: aiohttp.ClientSession) -> None:
        body = await self._text(session, "/sessions/broken.mp3", 422)
        if body is not None and "hodl" not in body:
            self.tally.problem(f"broken: {body[:200]}")

    async def not_found(self, session: aiohttp.ClientSession) -> None:
        await self._text(session, self.rng.choice(["/sessions/nothing.mp3", "/nope"]), 404)

    async def pages(self, session: aiohttp.ClientSession) -> None:
        await self._text(session, self.rng.choice(["/", "/play/edited", "/static/player.js"]), 200)


def check_body(
    tally: Tally, reference: bytes, etag: str, offset: int, body: bytes, whole: bool, what: str
) -> None:
    expected = reference[offset : offset + len(body)]
    if body != expected or (whole and len(body) != len(reference)):
        tally.problem(f"{what}: {len(body)} bytes at {offset} differ from {etag}")
    else:
        tally.bytes_verified += len(body)


# --- the other pressures ----------------------------------------------------------------


async def edit_forever(script: Path, every_s: float, stop: asyncio.Event, edits: list[int]) -> None:
    version = 1
    while not stop.is_set():
        try:
            await asyncio.wait_for(stop.wait(), every_s)
        except TimeoutError:
            version += 1
            # As an editor saves: a whole new file renamed over the old one.
            temporary = script.with_name(".edited.yaml.tmp")
            temporary.write_text(edited_script(version))
            os.replace(temporary, script)
            edits.append(version)


async def idle_sockets(port: int, trickling: int, silent: int) -> list[float | None]:
    """Seconds until the server closed each socket (None: still open at the bound)."""

    async def one(trickle: bool) -> float | None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        started = time.monotonic()
        request = b"GET /sessions.json HTTP/1.1\r\nHost: soak\r\n" + b"X-Slow: " + b"z" * 10_000
        try:
            for byte in request if trickle else []:
                writer.write(bytes([byte]))
                if await _closed_within(reader, 0.5):
                    return time.monotonic() - started
                if time.monotonic() - started > IDLE_CLOSE_WITHIN_S:
                    return None
            left = IDLE_CLOSE_WITHIN_S - (time.monotonic() - started)
            return time.monotonic() - started if await _closed_within(reader, left) else None
        except ConnectionError:
            return time.monotonic() - started
        finally:
            writer.close()

    return list(await asyncio.gather(*(one(i < trickling) for i in range(trickling + silent))))


async def _closed_within(reader: asyncio.StreamReader, seconds: float) -> bool:
    try:
        data = await asyncio.wait_for(reader.read(65536), max(seconds, 0.01))
    except TimeoutError:
        return False
    return data == b""  # an answer would not be EOF; the server never answers these


# --- the run ----------------------------------------------------------------------------


@dataclass
class Figures:
    minutes: float
    clients: int
    requests: int
    requests_logged: int
    bytes_verified: int
    disconnects: int
    edits: int
    rerenders: int
    errors: int
    statuses: dict[str, int]
    rss_start_kb: int
    rss_end_kb: int
    rss_max_kb: int
    fds_start: int
    fds_end: int
    cache_files_end: int
    idle_closed_after_s: list[float | None]
    answered_after: bool
    exit_status: int
    problems: list[str]


async def run_phase(
    base: str, witness: Witness, tally: Tally, clients: int, seconds: float, seed: int
) -> None:
    deadline = time.monotonic() + seconds
    max_requests = int(seconds * 200) + 10  # bounded however fast the server answers
    rngs = [random.Random(seed * 1000 + n) for n in range(clients)]
    await asyncio.gather(
        *(Client(base, witness, tally, rng).run(deadline, max_requests) for rng in rngs)
    )


async def soak(args: argparse.Namespace, work: Path) -> Figures:
    scripts, cache, keep = work / "scripts", work / "cache", work / "seen"
    for folder in (scripts, keep):
        folder.mkdir()
    (scripts / "edited.yaml").write_text(edited_script(1))
    (scripts / "steady.yaml").write_text(STEADY)
    (scripts / "broken.yaml").write_text(BROKEN)
    server = ServerProcess(scripts, cache, work / "server.log", work / "home")
    port = int(server.url.rsplit(":", 1)[1])
    witness = Witness(cache, keep)
    tally = Tally()
    stop = asyncio.Event()
    edits: list[int] = []
    background = [
        asyncio.create_task(witness.watch(stop)),
        asyncio.create_task(edit_forever(scripts / "edited.yaml", args.edit_every, stop, edits)),
    ]
    total_s = args.minutes * 60
    warm_up_s = min(60.0, max(8.0, total_s / 10))
    samples: list[Usage] = []
    exit_status = -1
    answered_after = False
    idle: list[float | None] = []
    try:
        print(f"serving on {server.url}; warm-up {warm_up_s:.0f} s", file=sys.stderr)
        await run_phase(server.url, witness, tally, args.clients, warm_up_s, args.seed)
        start = await asyncio.to_thread(server.settled_usage)
        print(f"after warm-up: {start}", file=sys.stderr)
        main_s = total_s - warm_up_s

        async def sample() -> None:
            while not stop.is_set():
                samples.append(server.usage())
                await asyncio.sleep(SAMPLE_EVERY_S)

        background.append(asyncio.create_task(sample()))
        slow = asyncio.create_task(idle_sockets(port, trickling=3, silent=2))
        await run_phase(server.url, witness, tally, args.clients, main_s, args.seed + 1)
        idle = await slow
        end = await asyncio.to_thread(server.settled_usage)
        print(f"at the end: {end}", file=sys.stderr)
        answered_after = await answers_afterwards(server.url, witness, tally)
    finally:
        stop.set()
        await asyncio.gather(*background, return_exceptions=True)
        exit_status = await asyncio.to_thread(server.stop)
    witness.scan()
    for etag, offset, body, whole in tally.pending:
        reference = witness.body(etag)
        if reference is None:
            tally.problem(f"{len(body)} bytes served under {etag}, a file never seen in the cache")
        else:
            check_body(tally, reference, etag, offset, body, whole, "late check")
    tally.problems += [f"server log: {line}" for line in server.log_problems()]
    if exit_status != 0:
        tail = server.log_path.read_text(errors="replace").splitlines()[-60:]
        tally.problems += [f"server log tail: {line}" for line in tail]
    statuses = {str(k): v for k, v in sorted(tally.statuses.items())}
    fivexx = sum(v for k, v in tally.statuses.items() if k >= 500)
    if fivexx:
        tally.problem(f"{fivexx} answers with a 5xx status")
    figures = Figures(
        minutes=args.minutes,
        clients=args.clients,
        requests=tally.requests,
        requests_logged=server.count(r'" \d{3} '),
        bytes_verified=tally.bytes_verified,
        disconnects=tally.disconnects,
        edits=len(edits),
        rerenders=max(server.count(r"rendering audio of edited ") - 1, 0),
        errors=len(tally.problems),
        statuses=statuses,
        rss_start_kb=start.rss_kb,
        rss_end_kb=end.rss_kb,
        rss_max_kb=max([s.rss_kb for s in samples] + [end.rss_kb]),
        fds_start=start.fds,
        fds_end=end.fds,
        # A render still running streams into NAME.stream (NAME.done once complete);
        # both go when it ends, so they are not what the bound is about, and
        # published.json (the feed's dates) is one file however long serve runs.
        cache_files_end=len(
            [
                n
                for n in os.listdir(cache)
                if not n.endswith((".stream", ".done")) and n != "published.json"
            ]
        ),
        idle_closed_after_s=[round(s, 1) if s is not None else None for s in idle],
        answered_after=answered_after,
        exit_status=exit_status,
        problems=tally.problems,
    )
    judge(figures, args)
    return figures


async def answers_afterwards(base: str, witness: Witness, tally: Tally) -> bool:
    async with aiohttp.ClientSession() as session:
        client = Client(base, witness, tally, random.Random(0))
        before = len(tally.problems), tally.requests
        await asyncio.wait_for(client.sessions_json(session), REQUEST_TIMEOUT_S)
        status, headers, body = await client._get_file(session, "steady", "mp3", {})
        client._expect("after", status, (200,))
        if not client.streamed(headers, body, "after"):
            client.verify(headers.get("ETag"), 0, body, True, "after")
        return len(tally.problems) == before[0] and tally.requests == before[1] + 2


def judge(figures: Figures, args: argparse.Namespace) -> None:
    """Adds a problem for each bound the run broke."""
    problems = figures.problems
    # /proc reports kB of 1024 bytes; sizes are said in MB of 10^6 bytes.
    growth_mb = (figures.rss_end_kb - figures.rss_start_kb) * 1024 / 1e6
    if growth_mb > args.max_rss_growth_mb:
        problems.append(f"RSS grew {growth_mb:.1f} MB (bound {args.max_rss_growth_mb} MB)")
    if figures.fds_end - figures.fds_start > args.max_fd_growth:
        problems.append(f"open files grew {figures.fds_start} -> {figures.fds_end}")
    # Each good session's current MP3, VTT and plan; older versions are removed.
    if figures.cache_files_end > 3 * 2:
        problems.append(f"{figures.cache_files_end} files left in the render cache")
    if any(s is None for s in figures.idle_closed_after_s):
        problems.append(f"idle sockets not closed: {figures.idle_closed_after_s}")
    if not figures.answered_after:
        problems.append("the server did not answer correctly after the soak")
    if figures.exit_status != 0:
        problems.append(f"the server exited with status {figures.exit_status} on Ctrl-C")
    if figures.edits and figures.rerenders == 0:
        problems.append("the edited script was never rendered again")
    figures.errors = len(problems)


def main(argv: list[str]) -> int:
    # Started in the background (`cmd &`), this process and so the server would
    # ignore SIGINT, and the server could not be stopped as Ctrl-C stops it.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--edit-every", type=float, default=3.0, metavar="SECONDS")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--max-rss-growth-mb", type=float, default=16.0)
    parser.add_argument("--max-fd-growth", type=int, default=2)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    if args.minutes * 60 < 30:
        parser.error("--minutes must be at least 0.5 (the idle sockets need 25 s)")
    with tempfile.TemporaryDirectory(prefix="voiceguide-soak-") as work:
        figures = asyncio.run(soak(args, Path(work)))
    # Every problem counts in errors; the first 50 are shown.
    report = {**figures.__dict__, "problems": figures.problems[:50]}
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))
    for key, value in report.items():
        if key != "problems":
            print(f"{key}: {value}")
    for problem in report["problems"]:
        print(f"PROBLEM: {problem}")
    return 1 if figures.errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
