"""The "New session" form: a session made from the exercise library, then played.

GET /new shows the form; POST /new makes the script in a render worker (its
length is fitted with the plan, so the voice must speak it), keeps it in the
cache folder as generated-HASH.yaml and sends the browser to its player page,
which shows the plan and plays it. The script is found again by its id only
through ``Library.get``: generated sessions are not listed with the scripts.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import secrets
from html import escape
from pathlib import Path

from aiohttp import web

from .. import pipeline
from ..core.library import GOALS, POSITION_CHOICES, TAGS
from ..errors import UserError

GENERATED_FOLDER = "generated"
GENERATED_ID = re.compile(r"^generated-[0-9a-f]{12}$")
# Oldest first out: a form anyone on the network can post must not fill the disk.
MAX_KEPT = 50
LANGUAGES = {"en": "English", "de": "Deutsch", "es": "Español", "fr": "Français"}
GOAL_LABELS = {
    "relief": "Relief for a sore or cramped back",
    "core": "Core strength",
    "yoga": "Gentle yoga",
    "breathing": "Calm breathing",
    "mixed": "A bit of everything",
}
POSITION_LABELS = {
    "any": "Any position",
    "floor": "On the floor only (lying or on all fours)",
    "lying": "Lying down only",
    "seated": "Seated only",
    "standing": "Standing only",
}
TAG_LABELS = {
    "flexion": "Bending forward (flexion)",
    "extension": "Arching back (extension)",
    "rotation": "Twisting (rotation)",
    "side-bending": "Bending sideways",
    "load-bearing": "Taking weight on hands or legs (load-bearing)",
}


def generated_folder(cache_dir: Path) -> Path:
    return cache_dir / GENERATED_FOLDER


def make_script(request: pipeline.Request, options: pipeline.VoiceOptions) -> tuple[bool, str]:
    """In a render worker: (True, the script) or (False, why it cannot be made)."""
    try:
        return True, pipeline.generate_session(request, options).text
    except UserError as exc:
        return False, str(exc)


def form_request(form: dict[str, list[str]]) -> pipeline.Request:
    """The form's fields as a request; a bad one raises ValueError naming it."""

    def one(name: str, default: str) -> str:
        values = form.get(name) or [default]
        return values[0].strip() or default

    goal = one("goal", "mixed")
    if goal not in GOALS:
        raise ValueError("Goal: choose one of the goals listed.")
    position = one("position", "any")
    if position not in POSITION_CHOICES:
        raise ValueError("Position: choose one of the positions listed.")
    try:
        minutes = float(one("minutes", "10"))
    except ValueError:
        raise ValueError("Minutes: give a number from 3 to 90.") from None
    if not 3 <= minutes <= 90:
        raise ValueError("Minutes: give a number from 3 to 90.")
    avoid = tuple(sorted(set(form.get("avoid", []))))
    if not set(avoid) <= set(TAGS):
        raise ValueError("Avoid: choose among the movements listed.")
    language = one("language", "en")
    if language not in LANGUAGES:
        raise ValueError("Language: choose one of the languages listed.")
    level = one("level", "2")
    if level not in ("1", "2", "3"):
        raise ValueError("Level: choose 1, 2 or 3.")
    return pipeline.Request(
        goal=goal,
        minutes=minutes,
        position=position,
        avoid=avoid,
        level=int(level),
        seed=secrets.randbelow(1_000_000),
        language=language,
    )


def save(cache_dir: Path, text: str) -> str:
    """Keep the script under an id made from its text; returns the id."""
    ident = "generated-" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]
    folder = generated_folder(cache_dir)
    folder.mkdir(parents=True, exist_ok=True)
    pipeline.write_text_atomic(folder / f"{ident}.yaml", text)
    kept = sorted(folder.glob("generated-*.yaml"), key=lambda p: p.stat().st_mtime)
    for old in kept[:-MAX_KEPT]:
        old.unlink(missing_ok=True)
    return ident


async def new_page(request: web.Request) -> web.Response:
    return _page(pipeline.Request(), None)


async def new_session(request: web.Request) -> web.Response:
    from .app import RENDERS  # the app module registers these routes

    posted = await request.post()
    form: dict[str, list[str]] = {}
    for key, value in posted.items():
        if isinstance(value, str):
            form.setdefault(key, []).append(value)
    try:
        wanted = form_request(form)
    except ValueError as exc:
        return _page(pipeline.Request(), str(exc), status=400)
    renders = request.app[RENDERS]
    loop = asyncio.get_running_loop()
    made, text = await loop.run_in_executor(
        renders.executor, make_script, wanted, renders.settings.voice
    )
    if not made:
        return _page(wanted, _plain(text), status=422)
    ident = save(renders.cache_dir, text)
    raise web.HTTPSeeOther(f"/play/{ident}")


def _plain(message: str) -> str:
    """The command line's message in the form's words: "--goal core: ..." -> "goal core: ..."."""
    return re.sub(r"--([a-z]+)", r"\1", message)


def _options(choices: dict[str, str], chosen: str) -> str:
    return "".join(
        f'<option value="{escape(value)}"{" selected" if value == chosen else ""}>'
        f"{escape(label)}</option>"
        for value, label in choices.items()
    )


def _page(chosen: pipeline.Request, error: str | None, status: int = 200) -> web.Response:
    alert = ""
    if error:
        alert = f'<p id="form-error" class="form-error" role="alert">{escape(error)}</p>'

    avoid = "".join(
        f'<p class="setting"><input type="checkbox" id="avoid-{tag}" name="avoid" '
        f'value="{tag}"{" checked" if tag in chosen.avoid else ""}>'
        f'<label for="avoid-{tag}">{escape(label)}</label></p>'
        for tag, label in TAG_LABELS.items()
    )
    levels = {"1": "1, gentle", "2": "2, moderate", "3": "3, demanding"}
    body = f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1, viewport-fit=cover">
<meta name="theme-color" content="#10141a">
<meta name="color-scheme" content="dark">
<title>New session · voiceguide</title>
<link rel="stylesheet" href="/static/app.css">
<link rel="stylesheet" href="/static/new.css">
<link rel="icon" href="/static/icon.svg" type="image/svg+xml">
</head>
<body class="page-new">
<nav class="back-nav" aria-label="Sessions"><a class="back" href="/">All sessions</a></nav>
<main>
<header class="masthead"><h1>New session</h1>
<p class="lede">Made for you from the exercise library, as long as you ask, then played.</p>
</header>
{alert}
<form id="new-session" class="new-form" method="post" action="/new"
 aria-describedby="{"form-error" if error else "form-note"}">
<p class="field"><label for="goal">Goal</label>
<select id="goal" name="goal">{_options(GOAL_LABELS, chosen.goal)}</select></p>
<p class="field"><label for="minutes">Minutes</label>
<input id="minutes" name="minutes" type="number" inputmode="numeric" min="3" max="90" step="1"
 value="{chosen.minutes:g}" required></p>
<p class="field"><label for="position">Position</label>
<select id="position" name="position">{_options(POSITION_LABELS, chosen.position)}</select></p>
<p class="field"><label for="level">Level</label>
<select id="level" name="level">{_options(levels, str(chosen.level))}</select></p>
<p class="field"><label for="language">Language</label>
<select id="language" name="language">{_options(LANGUAGES, chosen.language)}</select></p>
<fieldset class="avoid"><legend>What to avoid</legend>{avoid}</fieldset>
<p id="form-note" class="note">Stop at once if pain turns sharp or spreads down a leg. Do not
exercise, and see a doctor, if you have numbness, loss of bladder or bowel control, a fever,
or pain after a fall.</p>
<p><button id="make" type="submit" class="make-button">Make and play</button></p>
<p id="making" class="note" role="status"></p>
</form>
</main>
<script src="/static/new.js"></script>
</body>
</html>
"""
    return web.Response(status=status, text=body, content_type="text/html", charset="utf-8")
