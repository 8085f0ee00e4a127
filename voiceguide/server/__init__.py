"""Serving sessions over HTTP: the library, the audio, a podcast feed and the web player.

``make_app`` builds the aiohttp application; ``serve`` runs it until Ctrl-C.
"""

from __future__ import annotations

import asyncio
import errno
import logging
from collections.abc import Callable
from pathlib import Path

from aiohttp import web

from ..errors import OutputError
from .app import make_app
from .jobs import RenderSettings

__all__ = ["RenderSettings", "default_cache_dir", "make_app", "serve"]

# One line per request: who, what, status, bytes, seconds.
ACCESS_LOG_FORMAT = '%a "%r" %s %{Content-Length}o %Tfs'


def default_cache_dir() -> Path:
    from ..speech.cache import default_cache_dir as phrase_cache_dir

    return phrase_cache_dir() / "served"


async def _run(app: web.Application, host: str, port: int, ready: Callable[[str], None]) -> None:
    runner = web.AppRunner(app, access_log_format=ACCESS_LOG_FORMAT)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    try:
        await site.start()
    except OSError as exc:
        await runner.cleanup()
        reason = "the port is in use" if exc.errno == errno.EADDRINUSE else exc.strerror
        raise OutputError(f"cannot listen on {host}:{port}: {reason}") from exc
    # The port actually bound, which differs from the one asked for when that is 0.
    bound_port = runner.addresses[0][1]
    shown = f"[{host}]" if ":" in host else host
    ready(f"http://{shown}:{bound_port}/")
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


def serve(
    sources: list[Path],
    *,
    host: str,
    port: int,
    cache_dir: Path,
    settings: RenderSettings,
    workers: int,
    ready: Callable[[str], None],
) -> None:
    """Serve until interrupted; ``ready`` is told the address once it listens."""
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    app = make_app(sources, cache_dir, settings, workers=workers)
    asyncio.run(_run(app, host, port, ready))
