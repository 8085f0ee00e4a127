"""Serving sessions over HTTP: the library, the audio, a podcast feed and the web player.

``make_app`` builds the aiohttp application; ``serve`` runs it until Ctrl-C or
SIGTERM (the CLI turns SIGTERM into the same interrupt).
"""

from __future__ import annotations

import asyncio
import errno
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from ..errors import OutputError, UserError
from .announce import urls
from .app import make_app
from .hub import Hub
from .jobs import RenderSettings
from .private import Access

__all__ = ["Access", "RenderSettings", "default_cache_dir", "make_app", "make_runner", "serve"]

# One line per request: who, what, status, bytes, seconds.
ACCESS_LOG_FORMAT = '%a "%r" %s %{Content-Length}o %Tfs'
# A connection that has not sent a whole request this long after it opened or
# after its last answer is closed: idle keep-alives and slowloris clients that
# trickle their headers would otherwise hold a socket each for an hour
# (aiohttp's default). A download in progress is not idle.
IDLE_TIMEOUT_S = 15.0
# When the server stops, a download still in progress is given this long to
# end, then as long again once cancelled, before its connection is closed
# (aiohttp's default is 60 s each); a player resumes it with a Range request.
# Renders in flight are cancelled at once. (Measured: a stalled 22 MB download
# held `serve` 2.1 s after SIGTERM with 1.0 here.)
SHUTDOWN_GRACE_S = 0.5


def default_cache_dir() -> Path:
    from ..speech.cache import default_cache_dir as phrase_cache_dir

    return phrase_cache_dir() / "served"


class _MalformedRequestsOnOneLine(logging.Filter):
    """A malformed request is the client's mistake or an attack: one line, not a traceback.

    aiohttp logs each one with its parser's traceback at ERROR, so anyone
    could fill the log; a crash in a handler keeps its traceback.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, HttpProcessingError):
            client = record.args[0] if isinstance(record.args, tuple) and record.args else "?"
            reason = " ".join(str(exc).split())[:200]
            record.msg, record.args = "refused a malformed request from %s: %s", (client, reason)
            record.exc_info, record.exc_text = None, None
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


HTTP_LOG = logging.getLogger("voiceguide.server.http")
HTTP_LOG.addFilter(_MalformedRequestsOnOneLine())


def make_runner(app: web.Application, *, idle_timeout_s: float = IDLE_TIMEOUT_S) -> web.AppRunner:
    """The runner `serve` uses: its access log, its error log and its connection timeouts."""
    return web.AppRunner(
        app,
        access_log_format=ACCESS_LOG_FORMAT,
        keepalive_timeout=idle_timeout_s,
        logger=HTTP_LOG,
        shutdown_timeout=SHUTDOWN_GRACE_S,
    )


async def _run(
    app: web.Application, host: str, port: int, ready: Callable[[list[str]], None]
) -> None:
    runner = make_runner(app)
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
    ready(urls(host, bound_port))
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
    ready: Callable[[list[str]], None],
    access: Access | None = None,
    clock_offset_s: float = 0.0,
) -> None:
    """Serve until interrupted; ``ready`` is told the URLs to open once it listens.
    ``clock_offset_s`` moves the schedules' clock (for tests)."""
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    hub = _hub(settings, clock_offset_s)
    app = make_app(sources, cache_dir, settings, workers=workers, access=access, hub=hub)
    asyncio.run(_run(app, host, port, ready))


def _hub(settings: RenderSettings, clock_offset_s: float) -> Hub | None:
    """The schedules' runner; None (with a warning) where the session log cannot be opened."""
    offset = timedelta(seconds=clock_offset_s)
    try:
        return Hub(settings.voice, settings.bitrate_kbps, clock=lambda: datetime.now(UTC) + offset)
    except UserError as exc:
        logging.getLogger("voiceguide.server").warning("no schedules: %s", exc)
        return None
