"""The session log over HTTP: the web player's runs and check-ins, and reading it back.

    POST /api/runs           {"session": ID, "checkins": [IDS]}  -> 201 {"id": RUN}
    POST /api/runs/{run}     {"reached_s": S, "steps_skipped": N, "outcome": "finished"|"stopped"}
    POST /api/checkins       {"moment": "before"|"after", "pain": 0-10|null, "note": TEXT,
                              "run": RUN, "session": ID}  -> 201 {"id": CHECKIN}
    GET  /api/log            {"runs": [...], "checkins": [...], "missed": [...]}
    GET  /api/access         204 where this client may use the log (the player asks)
    GET  /history            the History page

Every one of them is private (``private.py``). Bodies are read as JSON
whatever their Content-Type: ``navigator.sendBeacon`` sends text. Each
request opens the log on a thread of its own for the few rows it writes, so
a slow disk never holds the event loop, and a log that cannot be opened is a
503 for the log's routes only: the player plays on.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from aiohttp import web

from ..errors import UserError
from ..history import Log
from ..history.export import log_json
from . import history_page

LOG_PATH: web.AppKey[Path | None] = web.AppKey("log_path", Path)  # None: the user's log
MAX_NOTE_CHARS = 2000
T = TypeVar("T")


def add_routes(app: web.Application, log_path: Path | None) -> None:
    app[LOG_PATH] = log_path
    app.add_routes(
        [
            web.post("/api/runs", start_run),
            web.post("/api/runs/{run:\\d+}", update_run),
            web.post("/api/checkins", add_checkin),
            web.get("/api/log", read_log),
            web.get("/api/access", access),
            web.get("/history", history),
        ]
    )


async def _with_log(request: web.Request, work: Callable[[Log], T]) -> T:
    path = request.app[LOG_PATH]

    def run() -> T:
        with Log.open(path) as log:
            return work(log)

    try:
        return await asyncio.to_thread(run)
    except UserError as exc:
        raise web.HTTPServiceUnavailable(text=f"{exc}\n") from None


async def _body(request: web.Request) -> dict[str, Any]:
    try:
        data = json.loads(await request.text() or "{}")
    except ValueError:
        raise web.HTTPBadRequest(text="the body is not JSON\n") from None
    if not isinstance(data, dict):
        raise web.HTTPBadRequest(text="the body is not a JSON object\n")
    return data


def _bad(field: str, wanted: str) -> web.HTTPBadRequest:
    return web.HTTPBadRequest(text=f"{field}: give {wanted}\n")


def _count(data: dict[str, Any], field: str) -> int | None:
    value = data.get(field)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < 100_000:
        raise _bad(field, "a whole number from 0")
    return value


def _ms(data: dict[str, Any], field: str) -> int | None:
    value = data.get(field)
    if value is None:
        return None
    if not isinstance(value, int | float) or isinstance(value, bool) or not 0 <= value < 86_400:
        raise _bad(field, "seconds from 0 to 86400")
    return round(value * 1000)


def where_played(user_agent: str) -> str:
    """ "web player (Chrome on Android)": the browser and system, never the version."""
    browsers = (
        ("Edg/", "Edge"),
        ("OPR/", "Opera"),
        ("Firefox/", "Firefox"),
        ("Chrome/", "Chrome"),
        ("Safari/", "Safari"),
    )
    systems = (
        ("Android", "Android"),
        ("iPhone", "iOS"),
        ("iPad", "iPadOS"),
        ("CrOS", "ChromeOS"),
        ("Windows", "Windows"),
        ("Mac OS X", "macOS"),
        ("Linux", "Linux"),
    )
    browser = next((name for mark, name in browsers if mark in user_agent), None)
    system = next((name for mark, name in systems if mark in user_agent), None)
    family = " on ".join(part for part in (browser, system) if part)
    return f"web player ({family})" if family else "web player"


async def start_run(request: web.Request) -> web.Response:
    from .app import LIBRARY, RENDERS

    data = await _body(request)
    ident = data.get("session")
    entry = request.app[LIBRARY].get(ident) if isinstance(ident, str) else None
    if entry is None:
        raise _bad("session", "the id of a session this server offers")
    linked = data.get("checkins") or []
    if not isinstance(linked, list) or not all(isinstance(i, int) for i in linked):
        raise _bad("checkins", "a list of check-in ids")
    plan = request.app[RENDERS].known(entry).plan
    title = plan["title"] if plan else entry.path.stem
    planned_ms = round(plan["duration"] * 1000) if plan else 0
    where = where_played(request.headers.get("User-Agent", ""))

    def start(log: Log) -> int:
        run = log.start_run(entry.id, title, "web", where, planned_ms)
        log.link_checkins(run, linked[:10])
        return run

    run = await _with_log(request, start)
    return web.json_response({"id": run}, status=201)


async def update_run(request: web.Request) -> web.Response:
    run_id = int(request.match_info["run"])
    data = await _body(request)
    reached_ms = _ms(data, "reached_s")
    skipped = _count(data, "steps_skipped")
    outcome = data.get("outcome")
    if outcome not in (None, "finished", "stopped"):
        raise _bad("outcome", '"finished" or "stopped"')

    def update(log: Log) -> bool:
        run = log.run(run_id)
        # Only the web player's own runs, and only while they play.
        if run is None or run.via != "web" or run.outcome != "playing":
            return False
        log.progress(run_id, reached_ms or 0, steps_skipped=skipped)
        if outcome is not None:
            log.end_run(run_id, outcome)
        return True

    if not await _with_log(request, update):
        raise web.HTTPNotFound(text="no such run playing in the web player\n")
    return web.json_response({"id": run_id})


async def add_checkin(request: web.Request) -> web.Response:
    data = await _body(request)
    moment = data.get("moment")
    if moment not in ("before", "after"):
        raise _bad("moment", '"before" or "after"')
    pain = data.get("pain")
    if pain is not None and (
        not isinstance(pain, int) or isinstance(pain, bool) or not 0 <= pain <= 10
    ):
        raise _bad("pain", "a whole number from 0 to 10, or null")
    note = data.get("note", "")
    if not isinstance(note, str) or len(note) > MAX_NOTE_CHARS:
        raise _bad("note", f"text of at most {MAX_NOTE_CHARS} characters")
    run_id = data.get("run")
    if run_id is not None and (not isinstance(run_id, int) or isinstance(run_id, bool)):
        raise _bad("run", "a run id")
    session = data.get("session")
    if session is not None and (
        not isinstance(session, str) or not re.fullmatch(r"[a-z0-9-]{1,200}", session)
    ):
        raise _bad("session", "a session id")
    if pain is None and not note.strip():
        raise _bad("pain", "a rating or a note (an empty check-in is a skip: send nothing)")

    def add(log: Log) -> int:
        linked = run_id if run_id is not None and log.run(run_id) is not None else None
        return log.add_checkin(moment, pain, note.strip(), linked, session)

    checkin = await _with_log(request, add)
    return web.json_response({"id": checkin}, status=201)


async def access(request: web.Request) -> web.Response:
    """204 where this client may use the log (the private middleware let it through)."""
    return web.Response(status=204)


async def read_log(request: web.Request) -> web.Response:
    data = await _with_log(request, lambda log: log_json(log))
    return web.json_response(data, dumps=lambda d: json.dumps(d, ensure_ascii=False, indent=1))


async def history(request: web.Request) -> web.Response:
    today = datetime.now().astimezone()
    page = await _with_log(request, lambda log: history_page.render(log, today))
    return web.Response(
        text=page,
        content_type="text/html",
        charset="utf-8",
        headers={"Cache-Control": "no-store"},
    )
