"""The library and player pages, as HTML built from session summaries.

The pages are complete without JavaScript (every session, its chapters and
a plain audio element); ``static/player.js`` adds the live parts.
"""

from __future__ import annotations

from html import escape
from typing import Any

from ..core.plural import counted
from ..report import clock

_HEAD = """<!doctype html>
<html lang="{lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1, viewport-fit=cover">
<meta name="theme-color" content="#10141a">
<meta name="color-scheme" content="dark">
<title>{title}</title>
<link rel="stylesheet" href="/static/app.css">
<link rel="icon" href="/static/icon.svg" type="image/svg+xml">
</head>
"""


def minutes(seconds: float) -> str:
    """ "7 min" for a card: a person plans by minutes, not by tenths."""
    whole = max(1, round(seconds / 60))
    return f"{whole} min"


def _card(session: dict[str, Any]) -> str:
    title = escape(session["title"])
    if session.get("error"):
        return (
            '<li class="card card-broken">'
            f'<h2 class="card-title">{title}</h2>'
            f'<p class="card-error"><span class="label">Cannot play:</span> '
            f"{escape(session['error'])}</p></li>"
        )
    parts = len(session["chapters"])
    about = "about " if session.get("duration_estimated") else ""
    meta = f"{about}{minutes(session['duration'])} · {counted(parts, 'part')}"
    description = session.get("description") or ""
    return (
        '<li class="card">'
        f'<a class="card-link" href="/play/{escape(session["id"])}">'
        f'<h2 class="card-title">{title}</h2>'
        f'<p class="card-meta">{escape(meta)}</p>'
        + (f'<p class="card-desc">{escape(description)}</p>' if description else "")
        + '<span class="card-play" aria-hidden="true"></span></a></li>'
    )


def library(sessions: list[dict[str, Any]]) -> str:
    cards = "\n".join(_card(s) for s in sessions) or (
        '<li class="card card-empty"><p>No scripts in this folder yet.</p></li>'
    )
    return (
        _HEAD.format(lang="en", title="voiceguide")
        + '<body class="page-library">\n'
        + '<header class="masthead"><h1>Sessions</h1>'
        + '<p class="lede">Choose one, lay the phone down, and follow the voice.</p></header>\n'
        + f'<main><ul class="cards" aria-label="Sessions">\n{cards}\n</ul></main>\n'
        + '<footer class="foot"><a href="/feed.xml">Podcast feed</a>'
        + '<a href="/playlist.m3u">Playlist</a></footer>\n'
        + "</body>\n</html>\n"
    )


def _chapter_item(chapter: dict[str, Any], index: int) -> str:
    return (
        f'<li><button type="button" class="chapter" data-index="{index}" '
        f'data-start="{chapter["start"]}">'
        f'<span class="chapter-title">{escape(chapter["title"])}</span>'
        f'<span class="chapter-time">{clock(chapter["start"]).rsplit(".", 1)[0]}</span>'
        "</button></li>"
    )


def player(session: dict[str, Any]) -> str:
    ident = escape(session["id"])
    title = escape(session["title"])
    head = _HEAD.format(lang="en", title=f"{title} · voiceguide")
    # In a landmark of its own, so no content lies outside one.
    back = (
        '<nav class="back-nav" aria-label="Sessions">'
        '<a class="back" href="/">All sessions</a></nav>'
    )
    if session.get("error"):
        return (
            head
            + f'<body class="page-player">{back}<main><div class="card card-broken">'
            + f'<h1 class="card-title">{title}</h1><p class="card-error">'
            + f'<span class="label">Cannot play:</span> {escape(session["error"])}</p>'
            + "</div></main></body></html>\n"
        )
    estimated = bool(session.get("duration_estimated"))
    if estimated:
        # Times from an estimate would send a tap to the wrong place: the titles
        # only, until the player has the real plan.
        chapters = "\n".join(
            f'<li class="chapter-pending">{escape(c["title"])}</li>' for c in session["chapters"]
        )
        duration = f"about {minutes(session['duration'])}"
        remaining = ""
    else:
        chapters = "\n".join(_chapter_item(c, i) for i, c in enumerate(session["chapters"]))
        duration = clock(session["duration"]).rsplit(".", 1)[0]
        remaining = f"-{duration}"
    # Not rendered yet: loading the page starts the stream, so play sounds sooner.
    preload = "metadata" if session.get("cached") else "auto"
    return (
        head
        + f'<body class="page-player" data-session="{ident}" '
        + f'data-duration="{session["duration"]}" '
        + f'data-estimated="{"true" if estimated else "false"}" '
        + f'data-cached="{"true" if session.get("cached") else "false"}">\n'
        + f"{back}\n<main>\n"
        + f'<header class="player-head"><h1 id="title">{title}</h1>'
        + f'<p id="length" class="player-length">{duration}</p></header>\n'
        + _NOW
        + _CONTROLS
        + '<section class="strip-wrap" aria-label="Timeline">'
        + '<div id="strip" class="strip" role="slider" tabindex="0" '
        + 'aria-label="Position in the session" aria-valuemin="0" '
        + f'aria-valuemax="{round(session["duration"])}" aria-valuenow="0" '
        + 'aria-valuetext="0:00"><div id="strip-bars" class="strip-bars"></div>'
        + '<div id="playhead" class="playhead"></div></div>'
        + '<p class="times"><span id="elapsed">0:00</span>'
        + f'<span id="remaining">{remaining}</span></p>'
        + '<p class="legend" aria-hidden="true"><span class="key key-speech">voice</span>'
        + '<span class="key key-hold">hold</span><span class="key key-breath">breathing</span>'
        + "</p></section>\n"
        + '<section class="panel" aria-labelledby="chapters-heading">'
        + '<h2 id="chapters-heading">Chapters</h2>'
        + f'<ol id="chapters" class="chapters">\n{chapters}\n</ol></section>\n'
        + '<section class="panel" aria-labelledby="transcript-heading">'
        + '<h2 id="transcript-heading">Transcript</h2>'
        + '<ol id="transcript" class="transcript"></ol></section>\n'
        + "</main>\n"
        + f'<audio id="audio" preload="{preload}" src="/sessions/{ident}.mp3">'
        + (_track(ident) if session.get("cached") else "")
        + "</audio>\n"
        + '<script src="/static/player.js"></script>\n'
        + "</body>\n</html>\n"
    )


def _track(ident: str) -> str:
    # Only with the finished file: a media element waits for its text tracks
    # before it plays, and a transcript is ready only once the render is done.
    return (
        f'<track kind="captions" src="/sessions/{ident}.vtt" srclang="en" '
        'label="Transcript" default>'
    )


_NOW = """<section class="now" aria-label="Now">
<p id="chapter-count" class="chapter-count"></p>
<p id="exercise" class="exercise" aria-live="polite">Ready when you are</p>
<p id="side" class="side" hidden></p>
<p id="step" class="step">Press play, then lay the phone down.</p>
<p id="phase" class="phase" hidden></p>
<div id="hold" class="hold" hidden>
<p class="hold-text"><span id="hold-left" class="hold-left">0:00</span>
<span id="hold-label" class="hold-label">left in this hold</span></p>
<div class="hold-bar" aria-hidden="true"><div id="hold-fill" class="hold-fill"></div></div>
</div>
<p id="status" class="status" role="status"></p>
<p id="resume" class="resume" hidden><span id="resume-text"></span>
<button id="restart" type="button" class="link-button">Start over</button></p>
</section>
"""

_CONTROLS = """<section class="controls" aria-label="Playback">
<button id="back" type="button" class="round" aria-label="Back 15 seconds">
<svg viewBox="0 0 24 24" aria-hidden="true">
<path d="M12 5V2L7 6l5 4V7a6 6 0 1 1-6 6H4a8 8 0 1 0 8-8z"/></svg>
<span class="small">15</span></button>
<button id="play" type="button" class="play" aria-label="Play">
<svg class="icon-play" viewBox="0 0 24 24" aria-hidden="true"><path d="M8 5v14l11-7z"/></svg>
<svg class="icon-pause" viewBox="0 0 24 24" aria-hidden="true">
<path d="M7 5h4v14H7zM13 5h4v14h-4z"/></svg>
</button>
<button id="next" type="button" class="round" aria-label="Next chapter">
<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M6 6l8.5 6L6 18zM16 6h2v12h-2z"/></svg>
</button>
</section>
"""
