"""What is said live: the recap on resuming, the closing cue (pure text and events)."""

from __future__ import annotations

import re

from ..core.model import Event, Timeline
from ..core.phrases import Phrases
from .edits import container_at

ENGLISH = {
    "side": "{side} side",
    "seconds_left": "{n} seconds left.",
    "one_second_left": "1 second left.",
    "minutes_to_go": "{n} minutes to go.",
    "one_minute_to_go": "About a minute to go.",
    "closing": "That is all for now. Take your time getting up.",
    "more_time": "{n} more seconds.",
}
TABLES = {"en": ENGLISH}
# The silence around a phrase said live, in seconds: before and after it.
LEAD_S = 0.4
TRAIL_S = 1.0
# Resuming speaks at once: the pause was the silence before it, and the
# resume key (or "continue") must be heard to act within 100 ms.
RESUME_LEAD_S = 0.05

_SIDE_TITLE = re.compile(r"^(?P<name>.*) \((?P<side>[^()]+)\)$")


def words(language: str) -> dict[str, str]:
    return TABLES.get(language.split("-")[0].lower(), ENGLISH)


def count_words(language: str) -> dict[int, str]:
    phrases = Phrases(language)
    return {n: phrases.count(n) for n in range(1, 11)}


def chapter_title_at(timeline: Timeline, sample: int) -> str:
    title = timeline.chapters[0].title if timeline.chapters else timeline.title
    for chapter in timeline.chapters:
        if chapter.start_sample <= sample:
            title = chapter.title
    return title


def recap_text(timeline: Timeline, at: int, *, planned: bool = True) -> str:
    """Where we are and what is left, e.g. "Right side, Single knee to chest. 15 seconds left.".

    Outside a hold it says how long the session has to go, when that is known
    (``planned``: the timeline is the whole session).
    """
    table = words(timeline.language)
    title = chapter_title_at(timeline, at)
    match = _SIDE_TITLE.match(title)
    if match:
        side = table["side"].format(side=match["side"])
        title = f"{side[:1].upper()}{side[1:]}, {match['name']}"
    rate = timeline.sample_rate_hz
    hold = container_at(timeline, at, "hold")
    if hold is not None:
        seconds = round((hold.end_sample - at) / rate)
        left = table["one_second_left"] if seconds <= 1 else table["seconds_left"].format(n=seconds)
    elif not planned:
        return f"{title}."
    else:
        minutes = round((timeline.duration_samples - at) / rate / 60)
        left = (
            table["one_minute_to_go"] if minutes <= 1 else table["minutes_to_go"].format(n=minutes)
        )
    return f"{title}. {left}"


def closing_text(language: str) -> str:
    return words(language)["closing"]


def more_time_text(language: str, extend_s: float) -> str:
    """What "more time" answers: how much longer the hold or rest now is."""
    return words(language)["more_time"].format(n=f"{extend_s:g}")


def spoken_block(
    text: str, clip_samples: int, step: int, rate: int, lead_s: float = LEAD_S
) -> tuple[tuple[Event, ...], int]:
    """A phrase said live with silence around it: its events (from 0) and total length."""
    lead = round(lead_s * rate)
    speech = Event("speech", lead, lead + clip_samples, step, text=text)
    return (speech,), lead + clip_samples + round(TRAIL_S * rate)
