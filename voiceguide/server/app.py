"""The HTTP server: routes over the library and the render cache.

Routes (all GET, HEAD too, but POST /new):

    /                       the library page
    /play/{id}              the player page of one session
    /sessions.json          every session: id, title, duration, urls, chapters (or its error)
    /sessions/{id}.mp3      the audio, rendered on first request (Range, ETag, 206)
    /sessions/{id}.vtt      its transcript (WebVTT)
    /sessions/{id}.json     its planned timeline, as `voiceguide check --json` prints it
    /sessions/{id}.chapters.json  its chapters as Podcasting 2.0 JSON chapters
    /feed.xml               a podcast feed of every session, with chapters
                            (?language=de: the sessions in that language)
    /artwork.png            the feed's cover image
    /playlist.m3u           an M3U playlist of every session
    /static/{name}          the web player's own files
    /manifest.webmanifest   the web app manifest (installing the player on a phone)
    /icons/icon-{192,512}.png  its icons
    /sw.js                  the service worker that keeps played sessions for offline use
    /signin                 a sign-in form for other devices, when serve has a passphrase
    /history, /api/...      the session log: private to loopback or signed-in devices
                            (private.py, journal.py)
    /new                    the New session form; POST makes a session from the exercise
                            library and redirects to its player (/play/generated-HASH)
    /calendar.ics           the schedules as an iCalendar feed (schedule_routes.py)
    /api/schedules          the next scheduled runs; POST .../{id}/snooze moves one
    /api/play               POST {"session": ID, "target": SPEAKER|"here"}: start one now

A script with an error is listed with it, and its files answer 422.

The library, /sessions.json and the player page never wait for speech: a
session not rendered yet is shown with a plan estimated from its script
("duration_estimated": true). The feed and the playlist wait for real plans:
podcast apps keep a duration once read, so an estimate there would stay wrong.
A GET of the MP3 from its start while it is being rendered is answered at once
with the audio as it is made (chunked, no length, no ranges); HEAD and other
ranges wait for the finished file.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import multiprocessing
import re
from collections.abc import AsyncIterator
from concurrent.futures import Executor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.abc import AbstractStreamWriter
from aiohttp.typedefs import Handler

from ..pipeline import m3u
from ..processes import WorkerPool, stop_executor
from . import journal, pages, schedule_routes
from .feed import FeedItem, artwork_png, estimated_mp3_bytes, json_chapters, podcast_feed
from .hub import Hub
from .jobs import RenderSettings, started, warm_worker
from .library import Entry, Library
from .new_session import generated_folder, new_page, new_session
from .private import ACCESS, Access, private_routes, signin, signin_form
from .published import Published
from .renders import Known, LiveStream, RenderCache, Rendered, RenderFailed, WorkerLost
from .static import StaticFiles

LIBRARY: web.AppKey[Library] = web.AppKey("library", Library)
RENDERS: web.AppKey[RenderCache] = web.AppKey("renders", RenderCache)
STATIC: web.AppKey[StaticFiles] = web.AppKey("static", StaticFiles)
WARMING: web.AppKey[asyncio.Future[Any]] = web.AppKey("warming", asyncio.Future)
PUBLISHED: web.AppKey[Published] = web.AppKey("published", Published)

_SESSION_FILE = re.compile(r"^(?P<id>[a-z0-9-]+)\.(?P<kind>mp3|vtt|json|chapters\.json)$")
_LANGUAGE = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$")
# What a Host header may hold to be echoed into URLs: a name or address and a port.
_HOST = re.compile(r"^[A-Za-z0-9.\-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$")


log = logging.getLogger("voiceguide.server")
# How long serve waits for its render workers to load their engines before it
# listens anyway (they go on loading; the first render then waits for them).
WARM_UP_LIMIT_S = 30.0


def default_executor(workers: int, settings: RenderSettings | None = None) -> Executor:
    # "spawn": a worker must not inherit the event loop's threads mid-flight.
    # Each worker loads its speech engine as it starts, not on the first request.
    return WorkerPool(
        workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=warm_worker,
        initargs=(settings or RenderSettings(),),
    )


def make_app(
    sources: list[Path],
    cache_dir: Path,
    settings: RenderSettings | None = None,
    *,
    executor: Executor | None = None,
    workers: int = 1,
    access: Access | None = None,
    log_path: Path | None = None,
    hub: Hub | None = None,
) -> web.Application:
    """The web application serving the scripts in ``sources`` (folders or files);
    ``access``: the secrets other devices sign in with (none: the log is loopback's
    only); ``log_path``: the session log (default: the user's); with a ``hub``, it
    also carries out the schedules."""
    library = Library(sources, generated=generated_folder(cache_dir))
    cache_dir.mkdir(parents=True, exist_ok=True)
    app = web.Application(middlewares=[private_routes, worker_lost_is_503])
    app[ACCESS] = access or Access()
    app[LIBRARY] = library
    if executor is None:
        renders = RenderCache(
            cache_dir,
            settings or RenderSettings(),
            default_executor(workers, settings),
            renew=lambda: default_executor(workers, settings),
        )
    else:  # the caller's, which the caller also stops
        renders = RenderCache(cache_dir, settings or RenderSettings(), executor)
    app[RENDERS] = renders
    app[STATIC] = StaticFiles.load()
    app[PUBLISHED] = Published(cache_dir / "published.json")

    async def stop_rendering(_: web.Application) -> None:
        # On shutdown, before aiohttp waits for the requests in flight: one
        # waiting for a render would otherwise hold the stop for the whole render.
        renders.cancel_all()
        if executor is None:
            await asyncio.to_thread(stop_executor, renders.executor)

    app.on_shutdown.append(stop_rendering)

    async def start_workers(_: web.Application) -> None:
        # One empty job per worker makes the pool start them all now, and each
        # loads its engine as it starts (piper: a second or two with the
        # imports). Listening only once they are ready, the first request
        # never waits for a model; one that takes too long is not waited for.
        loop = asyncio.get_running_loop()
        jobs = [loop.run_in_executor(renders.executor, started) for _ in range(workers)]
        app[WARMING] = asyncio.gather(*jobs, return_exceptions=True)
        await asyncio.wait({app[WARMING]}, timeout=WARM_UP_LIMIT_S)

    async def estimate_all(_: web.Application) -> None:
        # Before the first request, so the library answers at once even while the
        # workers start (which takes a core for a second or two).
        for entry in library.entries():
            renders.known(entry)

    if executor is None:
        app.on_startup.append(start_workers)
    app.on_startup.append(estimate_all)
    app.add_routes(
        [
            web.get("/", library_page),
            web.get("/play/{id}", player_page),
            web.get("/sessions.json", sessions_json),
            web.get("/sessions/{file}", session_file),
            web.get("/feed.xml", feed),
            web.get("/artwork.png", artwork),
            web.get("/playlist.m3u", playlist),
            web.get("/static/{name}", static_file),
            web.get("/manifest.webmanifest", manifest),
            web.get("/icons/icon-{size:192|512}.png", icon),
            web.get("/sw.js", service_worker),
            web.get("/signin", signin_form),
            web.post("/signin", signin),
            web.get("/new", new_page),
            web.post("/new", new_session),
        ]
    )
    journal.add_routes(app, log_path)
    schedule_routes.add_routes(app, library, hub)
    return app


@web.middleware
async def worker_lost_is_503(request: web.Request, handler: Handler) -> web.StreamResponse:
    """A render worker that died is the machine's trouble for now, not a bug: try again."""
    try:
        return await handler(request)
    except WorkerLost as exc:
        return web.Response(status=503, text=f"{exc}; try again\n", headers={"Retry-After": "1"})


def base_url(request: web.Request) -> str:
    """The address the client used, for absolute URLs; its socket's if the Host is odd."""
    host = request.headers.get("Host", "")
    if not _HOST.match(host):
        sockname = request.transport.get_extra_info("sockname") if request.transport else None
        host = f"{sockname[0]}:{sockname[1]}" if sockname else "localhost"
        if ":" in host.rsplit(":", 1)[0]:
            address, port = host.rsplit(":", 1)
            host = f"[{address}]:{port}"
    return f"{request.scheme}://{host}"


def _entry(request: web.Request, ident: str) -> Entry:
    entry = request.app[LIBRARY].get(ident)
    if entry is None:
        raise web.HTTPNotFound(text="no such session\n")
    return entry


async def _plans(request: web.Request) -> list[tuple[Entry, Rendered | RenderFailed]]:
    """Every session with its plan or its error, in library order."""
    renders = request.app[RENDERS]
    entries = request.app[LIBRARY].entries()
    results = await asyncio.gather(*(renders.plan(e) for e in entries), return_exceptions=True)
    out: list[tuple[Entry, Rendered | RenderFailed]] = []
    for entry, result in zip(entries, results, strict=True):
        if isinstance(result, BaseException) and not isinstance(result, RenderFailed):
            raise result
        out.append((entry, result))
    return out


def session_summary(base: str, entry: Entry, known: Known) -> dict[str, Any]:
    urls = {
        "url": f"{base}/sessions/{entry.id}.mp3",
        "page": f"{base}/play/{entry.id}",
        "transcript": f"{base}/sessions/{entry.id}.vtt",
        "timeline": f"{base}/sessions/{entry.id}.json",
    }
    plan = known.plan
    if plan is None:
        message = known.failure.message if known.failure else "no plan"
        return {"id": entry.id, "title": entry.path.stem, "error": message, **urls}
    return {
        "id": entry.id,
        "title": plan["title"],
        "description": plan["description"],
        "language": plan["language"],
        "duration": plan["duration"],
        # From the script alone until the session is first rendered: the
        # duration and chapter times are then a few percent off.
        "duration_estimated": known.estimated,
        **urls,
        "chapters": plan["chapters"],
        "error": None,
    }


def _listing(request: web.Request, base: str) -> list[dict[str, Any]]:
    """Every session as known now: nothing here waits for speech."""
    renders = request.app[RENDERS]
    return [session_summary(base, e, renders.known(e)) for e in request.app[LIBRARY].entries()]


async def sessions_json(request: web.Request) -> web.Response:
    sessions = _listing(request, base_url(request))
    return web.json_response({"sessions": sessions}, dumps=_dumps)


def _dumps(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, indent=1)


def _failed(error: RenderFailed) -> web.Response:
    status = 422 if error.failure.bad_script else 500
    return web.Response(status=status, text=error.failure.message + "\n")


async def session_file(request: web.Request) -> web.StreamResponse:
    match = _SESSION_FILE.match(request.match_info["file"])
    if match is None:
        raise web.HTTPNotFound(text="no such session\n")
    entry = _entry(request, match["id"])
    renders = request.app[RENDERS]
    try:
        if match["kind"] == "json":
            return web.json_response((await renders.timeline(entry)).plan, dumps=_dumps)
        if match["kind"] == "chapters.json":
            chapters = json_chapters((await renders.plan(entry)).plan["chapters"])
            return web.json_response(
                chapters, dumps=_dumps, content_type="application/json+chapters"
            )
        if match["kind"] == "mp3" and _from_the_start(request) and not renders.audio_ready(entry):
            streamed = await _send_stream(request, renders.stream(entry))
            if streamed is not None:
                return streamed
        rendered = await renders.audio(entry)
    except RenderFailed as error:
        return _failed(error)
    headers = {"Cache-Control": "no-cache"}
    if match["kind"] == "vtt":
        headers["Content-Type"] = "text/vtt; charset=utf-8"
        return _FileWithIfRange(rendered.files.vtt, headers=headers)
    headers["Content-Type"] = "audio/mpeg"
    return _FileWithIfRange(rendered.files.mp3, headers=headers)


def _from_the_start(request: web.Request) -> bool:
    """A GET of the whole file (browsers ask for "bytes=0-"): one a stream can answer."""
    return request.method == "GET" and request.headers.get("Range", "bytes=0-") == "bytes=0-"


async def _send_stream(request: web.Request, live: LiveStream) -> web.StreamResponse | None:
    """The MP3 as it is rendered, chunk by chunk; None if its render has just finished
    (the file is served instead). A render that fails before any audio answers as a
    failed render does; one that fails later ends the stream short."""
    file = live.open()
    if file is None:
        return None
    with file:
        async with contextlib.aclosing(live.chunks(file)) as chunks:
            return await _relay(request, chunks)


async def _relay(request: web.Request, chunks: AsyncIterator[bytes]) -> web.StreamResponse | None:
    try:
        first = await anext(chunks)
    except StopAsyncIteration:
        return None
    response = web.StreamResponse(
        headers={
            "Content-Type": "audio/mpeg",
            # A stream is never the file: nothing may keep it or seek in it.
            "Cache-Control": "no-store",
            "Accept-Ranges": "none",
        }
    )
    try:
        await response.prepare(request)
        await response.write(first)
        async for data in chunks:
            await response.write(data)
        await response.write_eof()
    except ConnectionError:
        pass  # the client hung up; aiohttp logs the request as it does for a file
    except (RenderFailed, WorkerLost) as exc:
        log.warning("the stream of %s ended early: %s", request.path, exc)
    return response


class _FileWithIfRange(web.FileResponse):
    """The file with Range, HEAD and validators from aiohttp, and If-Range by ETag.

    aiohttp reads If-Range only as a date. A player resuming a download of a
    session whose script has since changed sends the old ETag there; it must
    get the whole new file, not a range of it spliced onto the old bytes. The
    Range is dropped here, inside ``prepare``, because aiohttp prepares the
    returned response itself: a FileResponse prepared twice sends its file,
    then fails on the second pass.
    """

    async def prepare(self, request: web.BaseRequest) -> AbstractStreamWriter | None:
        if "Range" in request.headers and not _if_range_holds(request, self._path):
            without_range = request.headers.copy()
            del without_range["Range"]
            request = request.clone(headers=without_range)
        return await super().prepare(request)


def _if_range_holds(request: web.BaseRequest, path: Path) -> bool:
    """False when an If-Range names another version: a different ETag, or no valid date."""
    if_range = request.headers.get("If-Range")
    if if_range is None:
        return True
    if not if_range.startswith(('"', "W/")):
        # A date: aiohttp compares it; one it cannot read matches nothing.
        return request.if_range is not None
    try:
        stat = path.stat()
    except OSError:
        return True  # gone: aiohttp answers 404 for the file itself
    # The ETag FileResponse sends (tests/test_server.py checks the two agree);
    # a weak one never matches in If-Range.
    return if_range == f'"{stat.st_mtime_ns:x}-{stat.st_size:x}"'


def _feed_items(
    base: str,
    plans: list[tuple[Entry, Rendered | RenderFailed]],
    cache: RenderCache,
    published: Published,
) -> list[FeedItem]:
    dates = published.dates([entry.id for entry, _ in plans])
    items = []
    for entry, result in plans:
        if isinstance(result, RenderFailed):
            continue
        plan = result.plan
        mp3 = result.files.mp3
        if mp3.is_file():
            size = mp3.stat().st_size
        else:  # not rendered yet: rendering it for the feed would keep apps waiting
            size = estimated_mp3_bytes(
                plan["duration_samples"],
                plan["sample_rate"],
                cache.settings.bitrate_kbps,
                plan["title"],
                plan["description"],
                [c["title"] for c in plan["chapters"]],
            )
        try:
            edited = datetime.fromtimestamp(entry.path.stat().st_mtime, UTC)
        except OSError:
            edited = dates[entry.id]
        items.append(
            FeedItem(
                id=entry.id,
                title=plan["title"],
                description=plan["description"],
                language=plan["language"],
                duration_s=plan["duration"],
                chapters=[(c["title"], c["start"]) for c in plan["chapters"]],
                audio_url=f"{base}/sessions/{entry.id}.mp3",
                page_url=f"{base}/play/{entry.id}",
                chapters_url=f"{base}/sessions/{entry.id}.chapters.json",
                size_bytes=size,
                published=dates[entry.id],
                updated=max(dates[entry.id], edited),
            )
        )
    return items


async def feed(request: web.Request) -> web.Response:
    base = base_url(request)
    language = request.query.get("language")
    if language is not None and not _LANGUAGE.match(language):
        raise web.HTTPBadRequest(text="language: give a language tag such as en or de\n")
    items = _feed_items(base, await _plans(request), request.app[RENDERS], request.app[PUBLISHED])
    title = "voiceguide sessions"
    self_url = base + "/feed.xml"
    if language is not None:
        wanted = language.lower()
        items = [i for i in items if i.language.lower().split("-")[0] == wanted.split("-")[0]]
        if "-" in wanted:
            items = [i for i in items if i.language.lower() == wanted]
        title += f" ({language})"
        self_url += f"?language={language}"
    body = podcast_feed(title, base + "/", self_url, base + "/artwork.png", items)
    return web.Response(body=body, content_type="application/rss+xml", charset="utf-8")


async def artwork(request: web.Request) -> web.Response:
    return web.Response(
        body=artwork_png(),
        content_type="image/png",
        headers={"Cache-Control": "public, max-age=86400"},
    )


async def playlist(request: web.Request) -> web.Response:
    base = base_url(request)
    entries = [
        (r.plan["duration"], r.plan["title"], f"{base}/sessions/{e.id}.mp3")
        for e, r in await _plans(request)
        if not isinstance(r, RenderFailed)
    ]
    return web.Response(text=m3u(entries), content_type="audio/x-mpegurl", charset="utf-8")


async def library_page(request: web.Request) -> web.Response:
    sessions = _listing(request, "")
    page = pages.library(sessions, schedule_routes.upcoming_html(request))
    return web.Response(text=page, content_type="text/html", charset="utf-8")


async def player_page(request: web.Request) -> web.Response:
    ident = request.match_info["id"]
    entry = request.app[LIBRARY].get(ident)
    if entry is None:
        return web.Response(
            status=404,
            text=pages.no_such_session(ident),
            content_type="text/html",
            charset="utf-8",
        )
    renders = request.app[RENDERS]
    known = renders.known(entry)
    summary = session_summary("", entry, known)
    summary["cached"] = renders.audio_ready(entry)
    status = 422 if known.plan is None else 200
    return web.Response(
        status=status, text=pages.player(summary), content_type="text/html", charset="utf-8"
    )


async def static_file(request: web.Request) -> web.Response:
    found = request.app[STATIC].get(request.match_info["name"])
    if found is None:
        raise web.HTTPNotFound(text="no such file\n")
    return found.response(request)


# Installing the player: a name, a start, a standalone window and icons of the
# sizes phones ask for (drawn at run time, like the feed's cover). The same PNGs
# serve as maskable icons: the cover's disc and ring lie within the safe zone
# (a third of the width from the centre, the zone is 40 %) on a full background,
# so a launcher's round or squircle crop cuts only background. Declared apart
# rather than as "any maskable", which Chromium warns against.
MANIFEST = {
    "id": "/",
    "name": "voiceguide",
    "short_name": "voiceguide",
    "description": "Spoken, paced exercise sessions from this computer.",
    "start_url": "/",
    "scope": "/",
    "display": "standalone",
    "background_color": "#0e1216",
    "theme_color": "#10141a",
    "icons": [
        *(
            {"src": f"/icons/icon-{n}.png", "sizes": f"{n}x{n}", "type": "image/png", "purpose": p}
            for p in ("any", "maskable")
            for n in (192, 512)
        ),
        {"src": "/static/icon.svg", "sizes": "any", "type": "image/svg+xml"},
    ],
}


async def manifest(request: web.Request) -> web.Response:
    return web.Response(text=_dumps(MANIFEST), content_type="application/manifest+json")


async def icon(request: web.Request) -> web.Response:
    return web.Response(
        body=artwork_png(int(request.match_info["size"])),
        content_type="image/png",
        headers={"Cache-Control": "public, max-age=86400"},
    )


async def service_worker(request: web.Request) -> web.Response:
    # From the root, so that its scope is the whole site; revalidated every time,
    # so that a new version replaces the old at once.
    found = request.app[STATIC].get("sw.js")
    assert found is not None, "sw.js is part of the package"
    return found.response(request)
