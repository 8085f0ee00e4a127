"""A real server on loopback, in a thread of its own, for the server and browser tests."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from concurrent.futures import Executor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from voiceguide.pipeline import VoiceOptions
from voiceguide.server import IDLE_TIMEOUT_S, Access, RenderSettings, make_app, make_runner
from voiceguide.server.app import RENDERS
from voiceguide.server.renders import RenderCache

TEST_SETTINGS = RenderSettings(VoiceOptions(engine="test", use_cache=False))

# Short, with every kind of span the player shows: speech, a pause, holds on
# both sides with breathing cues, a breathing block and a tone.
TINY = """\
title: Small session
description: Two short holds and one breath.
steps:
  - say: Settle on the mat. Breathe easy.
  - pause: 1s
  - exercise: Knee squeeze
    breathe: relax
    hold: 4s
    sides: both
    release: Let go.
    say: Hug your {side} knee.
  - breathe: box
    cycles: 1
  - sound: chime
"""

BROKEN = """\
title: Broken
steps:
  - say: Fine.
  - pause: 3s
    hodl: 30s
"""


@dataclass
class Running:
    url: str
    port: int
    app: web.Application

    @property
    def renders(self) -> RenderCache:
        return self.app[RENDERS]


@contextmanager
def running_server(
    sources: list[Path],
    cache_dir: Path,
    settings: RenderSettings = TEST_SETTINGS,
    executor: Executor | None = None,
    idle_timeout_s: float = IDLE_TIMEOUT_S,
    host: str = "127.0.0.1",
    access: Access | None = None,
) -> Iterator[Running]:
    """Serves on ``host`` (a free port), set up as `serve` does, until the block ends."""
    app = make_app(sources, cache_dir, settings, executor=executor, access=access)
    loop = asyncio.new_event_loop()
    runner = make_runner(app, idle_timeout_s=idle_timeout_s)
    started = threading.Event()
    stop: asyncio.Event | None = None

    async def main() -> None:
        nonlocal stop
        stop = asyncio.Event()
        await runner.setup()
        await web.TCPSite(runner, host, 0).start()
        started.set()
        await stop.wait()
        await runner.cleanup()

    thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
    thread.start()
    if not started.wait(30):
        raise RuntimeError("the test server did not start within 30 s")
    port = runner.addresses[0][1]
    try:
        yield Running(f"http://{host}:{port}", port, app)
    finally:
        assert stop is not None
        loop.call_soon_threadsafe(stop.set)
        thread.join(30)
        loop.close()


async def raw_request(port: int, head: bytes, *, read_limit: int = 1 << 16) -> bytes:
    """Sends ``head`` exactly as given (no client normalises the path) and reads the answer."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(head)
        await writer.drain()
        return await asyncio.wait_for(reader.read(read_limit), 30)
    finally:
        writer.close()


def status_of(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1])
