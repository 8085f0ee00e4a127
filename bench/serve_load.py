"""Times `voiceguide serve` on loopback: the first request of a session (its
render, in the worker process) and 100 concurrent full downloads of the
cached file. ``python bench/serve_load.py [SCRIPT]``; prints one line each.

Uses the default espeak engine and a fresh cache folder, so the first
request includes starting the worker and synthesising every phrase.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import threading
import time
from pathlib import Path

import aiohttp
from aiohttp import web

from voiceguide.server import make_app
from voiceguide.server.library import session_id

CLIENTS = 100


async def _download(url: str, count: int) -> tuple[float, int]:
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as client:

        async def one() -> int:
            async with client.get(url) as response:
                response.raise_for_status()
                return len(await response.read())

        started = time.perf_counter()
        sizes = await asyncio.gather(*(one() for _ in range(count)))
        return time.perf_counter() - started, sum(sizes)


def main(argv: list[str]) -> None:
    script = Path(argv[0]) if argv else Path("scripts/back-spasm-relief.yaml")
    with tempfile.TemporaryDirectory() as cache:
        app = make_app([script], Path(cache))
        runner = web.AppRunner(app, access_log=None)
        loop = asyncio.new_event_loop()
        loop.run_until_complete(runner.setup())
        loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", 0).start())
        thread = threading.Thread(target=loop.run_forever, daemon=True)
        thread.start()
        try:
            port = runner.addresses[0][1]
            url = f"http://127.0.0.1:{port}/sessions/{session_id(script.stem)}.mp3"
            first_s, size = asyncio.run(_download(url, 1))
            print(f"first request (render in the worker): {first_s:.2f} s for {size} bytes")
            many_s, total = asyncio.run(_download(url, CLIENTS))
            print(
                f"{CLIENTS} concurrent downloads of the cached file: {many_s:.2f} s, "
                f"{total / many_s / 1e6:.0f} MB/s"
            )
        finally:
            asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(60)
            loop.call_soon_threadsafe(loop.stop)
            thread.join(10)


if __name__ == "__main__":
    main(sys.argv[1:])
