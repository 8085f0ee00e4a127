"""The library and player pages, as HTML built from session summaries.

The pages are complete without JavaScript (every session, its chapters and
a plain audio element); ``static/player.js`` adds the live parts. A player
page is in its script's language: its ``lang``, its labels (from the same
tables as the spoken phrases) and its transcript's ``srclang``.
"""

from __future__ import annotations

import json
from html import escape
from typing import Any

from ..core.phrases import Phrases
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
<link rel="manifest" href="/manifest.webmanifest">
</head>
"""

# The library lists scripts in several languages: its own words are English,
# each card is in its script's language.
LIBRARY_LANGUAGE = "en"


def language_of(session: dict[str, Any]) -> str:
    return str(session.get("language") or LIBRARY_LANGUAGE)


def labels_for(language: str) -> dict[str, str]:
    return Phrases(language).page_labels()


def minutes(seconds: float, language: str = LIBRARY_LANGUAGE) -> str:
    """ "7 min" for a card: a person plans by minutes, not by tenths."""
    whole = max(1, round(seconds / 60))
    return labels_for(language)["minutes"].format(n=whole)


def parts(count: int, language: str) -> str:
    words = labels_for(language)
    return words["parts_one" if count == 1 else "parts_other"].format(n=count)


def _card(session: dict[str, Any]) -> str:
    title = escape(session["title"])
    if session.get("error"):
        words = labels_for(LIBRARY_LANGUAGE)
        return (
            '<li class="card card-broken">'
            f'<h2 class="card-title">{title}</h2>'
            f'<p class="card-error"><span class="label">{escape(words["cannot_play"])}</span> '
            f"{escape(session['error'])}</p></li>"
        )
    language = language_of(session)
    words = labels_for(language)
    length = minutes(session["duration"], language)
    if session.get("duration_estimated"):
        length = words["about"].format(duration=length)
    meta = f"{length} · {parts(len(session['chapters']), language)}"
    description = session.get("description") or ""
    return (
        f'<li class="card" lang="{escape(language)}">'
        f'<a class="card-link" href="/play/{escape(session["id"])}">'
        f'<h2 class="card-title">{title}</h2>'
        f'<p class="card-meta">{escape(meta)}</p>'
        + (f'<p class="card-desc">{escape(description)}</p>' if description else "")
        + '<span class="card-play" aria-hidden="true"></span></a></li>'
    )


def library(sessions: list[dict[str, Any]], upcoming: str = "") -> str:
    """The library page; ``upcoming``: the scheduled runs coming next (HTML)."""
    cards = "\n".join(_card(s) for s in sessions) or (
        '<li class="card card-empty"><p>No scripts in this folder yet.</p></li>'
    )
    return (
        _HEAD.format(lang=LIBRARY_LANGUAGE, title="voiceguide")
        + '<body class="page-library">\n'
        + '<header class="masthead"><h1>Sessions</h1>'
        + '<p class="lede">Choose one, lay the phone down, and follow the voice.</p></header>\n'
        + upcoming
        + f'<main><ul class="cards" aria-label="Sessions">\n{cards}\n</ul></main>\n'
        + '<footer class="foot"><a href="/new">New session</a>'
        + '<a href="/feed.xml">Podcast feed</a>'
        + '<a href="/playlist.m3u">Playlist</a><a href="/history">History</a></footer>\n'
        + "</body>\n</html>\n"
    )


def no_such_session(ident: str) -> str:
    """The page for /play/ID when no script is ID: a bookmark kept after the
    script was renamed or removed. A person, not a program, follows it."""
    return (
        _HEAD.format(lang=LIBRARY_LANGUAGE, title="No such session - voiceguide")
        + '<body class="page-library">\n'
        + '<header class="masthead"><h1>No such session</h1>\n'
        + f'<p class="lede">There is no session called “{escape(ident)}” here any more:'
        + " its script may have been renamed or removed.</p></header>\n"
        + '<main><p><a href="/">Choose a session from the library</a></p></main>\n'
        + "</body>\n</html>\n"
    )


def _chapter_item(chapter: dict[str, Any], index: int) -> str:
    side = f' data-side="{chapter["side"]}"' if chapter.get("side") else ""
    return (
        f'<li><button type="button" class="chapter" data-index="{index}" '
        f'data-start="{chapter["start"]}"{side}>'
        f'<span class="chapter-title">{escape(chapter["title"])}</span>'
        f'<span class="chapter-time">{clock(chapter["start"]).rsplit(".", 1)[0]}</span>'
        "</button></li>"
    )


def player(session: dict[str, Any]) -> str:
    ident = escape(session["id"])
    title = escape(session["title"])
    language = language_of(session)
    words = labels_for(language)
    w = {key: escape(value) for key, value in words.items()}
    head = _HEAD.format(lang=escape(language), title=f"{title} · voiceguide")
    # In a landmark of its own, so no content lies outside one.
    back = (
        f'<nav class="back-nav" aria-label="{w["sessions"]}">'
        f'<a class="back" href="/">{w["all_sessions"]}</a></nav>'
    )
    if session.get("error"):
        return (
            head
            + f'<body class="page-player">{back}<main><div class="card card-broken">'
            + f'<h1 class="card-title">{title}</h1><p class="card-error">'
            + f'<span class="label">{w["cannot_play"]}</span> {escape(session["error"])}</p>'
            + "</div></main></body></html>\n"
        )
    estimated = bool(session.get("duration_estimated"))
    if estimated:
        # Times from an estimate would send a tap to the wrong place: the titles
        # only, until the player has the real plan.
        chapters = "\n".join(
            f'<li class="chapter-pending">{escape(c["title"])}</li>' for c in session["chapters"]
        )
        duration = escape(words["about"].format(duration=minutes(session["duration"], language)))
        remaining = ""
    else:
        chapters = "\n".join(_chapter_item(c, i) for i, c in enumerate(session["chapters"]))
        duration = clock(session["duration"]).rsplit(".", 1)[0]
        remaining = f"-{duration}"
    # Not rendered yet: loading the page starts the stream, so play sounds sooner.
    preload = "metadata" if session.get("cached") else "auto"
    # For player.js; "</" cannot end the script element early once escaped.
    labels = json.dumps(words, ensure_ascii=False).replace("</", "<\\/")
    return (
        head
        + f'<body class="page-player" data-session="{ident}" '
        + f'data-duration="{session["duration"]}" '
        + f'data-estimated="{"true" if estimated else "false"}" '
        + f'data-cached="{"true" if session.get("cached") else "false"}">\n'
        + f"{back}\n<main>\n"
        + f'<header class="player-head"><h1 id="title">{title}</h1>'
        + f'<p id="length" class="player-length">{duration}</p></header>\n'
        + _NOW.format(**w)
        + _CONTROLS.format(**w)
        + f'<section class="strip-wrap" aria-label="{w["timeline"]}">'
        + '<div id="strip" class="strip" role="slider" tabindex="0" '
        + f'aria-label="{w["position"]}" aria-valuemin="0" '
        + f'aria-valuemax="{round(session["duration"])}" aria-valuenow="0" '
        + 'aria-valuetext="0:00"><div id="strip-bars" class="strip-bars"></div>'
        + '<div id="playhead" class="playhead"></div></div>'
        + '<p class="times"><span id="elapsed">0:00</span>'
        + f'<span id="remaining">{remaining}</span></p>'
        + f'<p class="legend" aria-hidden="true"><span class="key key-speech">{w["voice"]}</span>'
        + f'<span class="key key-hold">{w["hold"]}</span>'
        + f'<span class="key key-breath">{w["breathing"]}</span>'
        + "</p></section>\n"
        # After the controls and the strip: they stay first in the tab order.
        + _checkin(w)
        + '<section class="panel" aria-labelledby="chapters-heading">'
        + f'<h2 id="chapters-heading">{w["chapters"]}</h2>'
        + f'<ol id="chapters" class="chapters">\n{chapters}\n</ol></section>\n'
        + '<section class="panel" aria-labelledby="transcript-heading">'
        + f'<h2 id="transcript-heading">{w["transcript"]}</h2>'
        + '<ol id="transcript" class="transcript"></ol></section>\n'
        + _SETTINGS.format(**w)
        + "</main>\n"
        + _BREATH_VIEW.format(**w)
        + f'<audio id="audio" preload="{preload}" src="/sessions/{ident}.mp3">'
        + (_track(ident, language, words) if session.get("cached") else "")
        + "</audio>\n"
        + f'<script id="labels" type="application/json">{labels}</script>\n'
        + '<script src="/static/offline.js"></script>\n'
        + '<script src="/static/player.js"></script>\n'
        + '<script src="/static/journal.js"></script>\n'
        + '<script type="module" src="/static/cues.js"></script>\n'
        + "</body>\n</html>\n"
    )


def _checkin(w: dict[str, str]) -> str:
    """Before and after a session: a rating in large buttons and a note, all skippable.
    Hidden until journal.js knows this device may write to the log."""
    ratings = "".join(
        f'<button type="button" class="rating" data-pain="{n}" aria-pressed="false" '
        f'aria-label="{escape(w["checkin_rating"].format(n=n))}">{n}</button>'
        for n in range(11)
    )
    return (
        '<section id="checkin" class="checkin" aria-labelledby="checkin-question" hidden>\n'
        f'<h2 id="checkin-question" data-before="{w["checkin_before"]}" '
        f'data-after="{w["checkin_after"]}">{w["checkin_before"]}</h2>\n'
        f'<p id="checkin-scale" class="checkin-scale">{w["checkin_scale"]}</p>\n'
        '<div class="ratings" role="group" aria-labelledby="checkin-question" '
        f'aria-describedby="checkin-scale">{ratings}</div>\n'
        f'<p class="checkin-note"><label for="checkin-note">{w["note"]}</label>'
        '<textarea id="checkin-note" rows="2" maxlength="2000"></textarea></p>\n'
        '<p class="checkin-actions">'
        f'<button id="checkin-save" type="button" class="wide-button">{w["save"]}</button>'
        f'<button id="checkin-skip" type="button" class="link-button">{w["skip"]}</button></p>\n'
        # Said through the page's one live region (#announcer), shown here.
        f'<p id="checkin-status" class="status" data-saved="{w["saved"]}"></p>\n'
        "</section>\n"
    )


def _track(ident: str, language: str, words: dict[str, str]) -> str:
    # Only with the finished file: a media element waits for its text tracks
    # before it plays, and a transcript is ready only once the render is done.
    return (
        f'<track kind="captions" src="/sessions/{ident}.vtt" srclang="{escape(language)}" '
        f'label="{escape(words["transcript"])}" default>'
    )


_NOW = """<section class="now" aria-label="{now}">
<p id="chapter-count" class="chapter-count"></p>
<p id="exercise" class="exercise">{ready}</p>
<p id="side" class="side" hidden></p>
<p id="step" class="step">{press_play}</p>
<p id="phase" class="phase" hidden></p>
<div id="hold" class="hold" hidden>
<p class="hold-text"><span id="hold-left" class="hold-left">0:00</span>
<span id="hold-label" class="hold-label">{left_in_hold}</span></p>
<div class="hold-bar" aria-hidden="true"><div id="hold-fill" class="hold-fill"></div></div>
</div>
<p id="status" class="status"></p>
<p id="announcer" class="visually-hidden" aria-live="polite" aria-atomic="true"></p>
<p id="resume" class="resume" hidden><span id="resume-text"></span>
<button id="restart" type="button" class="link-button">{start_over}</button></p>
</section>
"""

# Off until the person turns them on (the single-key shortcuts: on until turned
# off, as WCAG 2.1.4 asks of them); player.js keeps the choices in localStorage.
_SETTINGS = """<section class="panel" aria-labelledby="settings-heading">
<h2 id="settings-heading">{settings}</h2>
<p class="setting"><input type="checkbox" id="announce-phases">
<label for="announce-phases">{announce_phases}</label></p>
<p class="setting"><input type="checkbox" id="vibrate">
<label for="vibrate">{vibrate}</label></p>
<p class="setting"><input type="checkbox" id="shortcuts" checked>
<label for="shortcuts">{shortcuts}</label></p>
<p><button id="breath-view-open" type="button" class="wide-button">{breath_view}</button></p>
</section>
"""

# The breathing, seen from the floor: a disc that grows and shrinks with it.
_BREATH_VIEW = """<div id="breath-view" class="breath-view" role="dialog" aria-modal="true"
 aria-label="{breath_view}" data-phase="rest" hidden>
<div class="breath-disc"><div id="breath-circle" class="breath-circle"></div></div>
<p id="breath-word" class="breath-word"></p>
<button id="breath-view-close" type="button" class="wide-button">{close}</button>
</div>
"""

_CONTROLS = """<section class="controls" aria-label="{playback}">
<button id="back" type="button" class="round" aria-label="{back_15}">
<svg viewBox="0 0 24 24" aria-hidden="true">
<path d="M12 5V2L7 6l5 4V7a6 6 0 1 1-6 6H4a8 8 0 1 0 8-8z"/></svg>
<span class="small">15</span></button>
<button id="play" type="button" class="play" aria-label="{play}">
<svg class="icon-play" viewBox="0 0 24 24" aria-hidden="true"><path d="M8 5v14l11-7z"/></svg>
<svg class="icon-pause" viewBox="0 0 24 24" aria-hidden="true">
<path d="M7 5h4v14H7zM13 5h4v14h-4z"/></svg>
</button>
<button id="next" type="button" class="round" aria-label="{next_chapter}">
<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M6 6l8.5 6L6 18zM16 6h2v12h-2z"/></svg>
</button>
</section>
"""
