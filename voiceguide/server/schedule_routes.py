"""The hub's routes: the calendar feed, what comes next, snooze, and POST /api/play.

    GET  /calendar.ics                    the schedules as an iCalendar feed
    GET  /api/schedules                   the next run of each active schedule
    POST /api/schedules/{id}/snooze       its next run 20 minutes later, once
    POST /api/play                        {"session": ID, "target": SPEAKER|"here"}

Everything that starts or moves a session is under /api/, behind the same
sign-in rule as the log's API when the hub is reached from another device.
"""

from __future__ import annotations

import asyncio
import json
import logging
from contextlib import closing
from html import escape
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

from .. import pipeline
from ..cast.base import CastError
from ..errors import UserError
from ..history import connect
from ..history.schedules import HERE, Schedule, Schedules, script_path
from ..lan import reachable_addresses, url_host
from .calendar import Item, calendar
from .hub import SNOOZE_MINUTES, Hub
from .library import Library

log = logging.getLogger("voiceguide.server.hub")
HUB: web.AppKey[Hub] = web.AppKey("hub", Hub)
_LOOPBACK_HOSTS = ("127.", "localhost", "[::1]", "::1")


def add_routes(app: web.Application, library: Library, hub: Hub | None) -> None:
    if hub is not None:
        app[HUB] = hub

        async def start_hub(_: web.Application) -> None:
            app[_TASK] = asyncio.create_task(hub.run())

        async def stop_hub(_: web.Application) -> None:
            log.info("hub: stopping")
            task = app.get(_TASK)
            if task is not None and not task.cancelling():
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)

        app.on_startup.append(start_hub)
        app.on_shutdown.insert(0, stop_hub)
    app[_LIBRARY] = library
    app.add_routes(
        [
            web.get("/calendar.ics", calendar_feed),
            web.get("/api/schedules", next_runs),
            web.post("/api/schedules/{id}/snooze", snooze),
            web.post("/api/play", play),
        ]
    )


_TASK: web.AppKey[asyncio.Task[None]] = web.AppKey("hub-task", asyncio.Task)
_LIBRARY: web.AppKey[Library] = web.AppKey("schedule-library", Library)


def _hub(request: web.Request) -> Hub:
    hub = request.app.get(HUB)
    if hub is None:
        raise web.HTTPServiceUnavailable(text="this server runs no schedules\n")
    return hub


def _lan_base(request: web.Request) -> str:
    """The hub's address as a phone on the home network opens it: the Host the
    request used, unless that is loopback (then this machine's LAN address)."""
    host = request.headers.get("Host", "")
    port = request.url.port or 80
    if host and not host.startswith(_LOOPBACK_HOSTS):
        return f"{request.scheme}://{host}"
    address = reachable_addresses("0.0.0.0")[0]
    return f"{request.scheme}://{url_host(address)}:{port}"


def _page_id(library: Library, script: Path) -> str | None:
    try:
        wanted = script.resolve()
    except OSError:
        return None
    for entry in library.entries():
        try:
            if entry.path.resolve() == wanted:
                return entry.id
        except OSError:
            continue
    return None


def _schedules(request: web.Request) -> list[Schedule]:
    hub = request.app.get(HUB)
    if hub is not None:
        return hub.schedules.all()
    with closing(connect()) as connection:
        return Schedules(connection).all()


async def calendar_feed(request: web.Request) -> web.Response:
    base = _lan_base(request)
    library = request.app[_LIBRARY]
    items = []
    for schedule in _schedules(request):
        if schedule.paused:
            continue
        path = script_path(schedule.script)
        try:
            session = pipeline.load_session(path)
        except UserError:
            continue  # a script gone or broken since: nothing to remind of
        ident = _page_id(library, path)
        page = f"{base}/play/{ident}" if ident else f"{base}/"
        duration_s = pipeline.estimated_plan(session).duration_s
        items.append(Item(schedule, session.title, duration_s, page))
    return web.Response(
        text=calendar(items),
        content_type="text/calendar",
        charset="utf-8",
        headers={"Cache-Control": "no-cache"},
    )


async def next_runs(request: web.Request) -> web.Response:
    found = _hub(request).next_runs()
    return web.json_response(
        {
            "next": [
                {
                    "schedule": n.schedule_id,
                    "title": n.title,
                    "target": n.target,
                    "at": n.at.isoformat().replace("+00:00", "Z"),
                    "local": n.local,
                    "snoozed": n.snoozed,
                    "snooze": f"/api/schedules/{n.schedule_id}/snooze",
                }
                for n in found
            ]
        }
    )


def _same_origin(request: web.Request) -> None:
    """A form on another site cannot post here through the person's browser: browsers
    send Origin with every POST, and it must name this server."""
    origin = request.headers.get("Origin")
    if origin is not None and origin != "null" and urlsplit(origin).netloc != request.host:
        raise web.HTTPForbidden(text="a request from another site\n")


async def snooze(request: web.Request) -> web.Response:
    _same_origin(request)
    hub = _hub(request)
    text = request.match_info["id"]
    if not text.isdigit():
        raise web.HTTPNotFound(text="no such schedule\n")
    try:
        was, now_due = hub.snooze(int(text), SNOOZE_MINUTES)
    except LookupError as exc:
        raise web.HTTPNotFound(text=f"{exc}\n") from None
    except ValueError as exc:
        raise web.HTTPConflict(text=f"{exc}\n") from None
    if request.content_type == "application/x-www-form-urlencoded":
        raise web.HTTPSeeOther("/")  # the button on the library page, without JavaScript
    iso = {"was": was.isoformat(), "now": now_due.isoformat()}
    return web.json_response({k: v.replace("+00:00", "Z") for k, v in iso.items()})


async def play(request: web.Request) -> web.Response:
    _same_origin(request)
    hub = _hub(request)
    # Only JSON: a web page elsewhere can make a browser post a form (even one
    # whose body parses as JSON) to this address, but not with this type.
    if request.content_type != "application/json":
        return _problem(415, "send the body as application/json")
    try:
        body: Any = await request.json(loads=json.loads)
    except (ValueError, UnicodeDecodeError):
        return _problem(400, 'give a JSON body: {"session": ID, "target": SPEAKER or "here"}')
    if not isinstance(body, dict):
        return _problem(400, 'give a JSON object: {"session": ID, "target": SPEAKER or "here"}')
    ident, target = body.get("session"), body.get("target", HERE)
    if not isinstance(ident, str) or not ident:
        return _problem(400, '"session": give the id of a session (see /sessions.json)')
    if not isinstance(target, str) or not target.strip():
        return _problem(400, '"target": give a speaker\'s name or URL, or "here"')
    extra = sorted(set(body) - {"session", "target"})
    if extra:
        return _problem(400, f"unknown field {extra[0]!r}: give only session and target")
    entry = request.app[_LIBRARY].get(ident)
    if entry is None:
        return _problem(404, f"no session {ident!r} (see /sessions.json)")
    try:
        run_id = await hub.play_now(entry.path, target.strip())
    except CastError as exc:
        return _problem(502, str(exc))
    except UserError as exc:
        return _problem(422, str(exc))
    return web.json_response({"run": run_id, "session": entry.id, "target": target}, status=202)


def _problem(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


def upcoming_html(request: web.Request) -> str:
    """The library page's "Next:" lines with their snooze buttons (no JavaScript)."""
    hub = request.app.get(HUB)
    if hub is None:
        return ""
    try:
        found = hub.next_runs()
    except UserError:
        return ""
    if not found:
        return ""
    items = []
    for n in found[:3]:
        where = "this computer" if n.target == HERE else n.target
        moved = " (snoozed)" if n.snoozed else ""
        items.append(
            f"<li>Next: <strong>{escape(n.title)}</strong> at {escape(n.local)}{moved} "
            f"on {escape(where)}"
            f'<form method="post" action="/api/schedules/{n.schedule_id}/snooze">'
            f'<button type="submit" class="snooze">Snooze {SNOOZE_MINUTES} min</button>'
            "</form></li>"
        )
    return (
        '<section class="upcoming" aria-label="Scheduled">'
        f"<ul>{''.join(items)}</ul>"
        '<p><a href="/calendar.ics">Reminders in your calendar</a></p></section>\n'
    )


__all__ = ["HUB", "add_routes", "upcoming_html"]
