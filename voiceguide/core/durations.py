"""Durations as script authors write them: 30, 2.5, 500ms, 30s, 1m, 1m30s, 1h, 1:30, 1:02:03."""

from __future__ import annotations

import re

MAX_DURATION_S = 3600.0
MAX_SESSION_S = 4 * 3600.0

_PART = re.compile(r"(\d+(?:\.\d+)?|\.\d+)(ms|h|m|s)")
_UNIT_S = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
_ORDER = ("h", "m", "s", "ms")
_BREATHS = re.compile(r"^\s*(\d+)\s*breaths?\s*$")
# m:ss and h:mm:ss, each part after the first two digits below 60: "1:5" could
# mean 1:05 or 1:50, so it is refused rather than guessed.
_CLOCK = re.compile(r"(\d+)(?::([0-5]\d))?:([0-5]\d(?:\.\d+)?)")


def parse_duration_text(text: str) -> float | None:
    """Seconds for a duration string, or None when it is not one.

    Units go from largest to smallest, each at most once, so "1m30s" is 90 s
    and "30s1m" is refused rather than guessed.
    """
    text = text.strip()
    if not text:
        return None
    if ":" in text:
        return clock_seconds(text)
    try:
        return float(text) if re.fullmatch(r"\d+(?:\.\d+)?|\.\d+", text) else _units(text)
    except ValueError:
        return None


def _units(text: str) -> float | None:
    position = 0
    total_s = 0.0
    last_unit = -1
    while position < len(text):
        match = _PART.match(text, position)
        if not match:
            return None
        unit_index = _ORDER.index(match.group(2))
        if unit_index <= last_unit:
            return None
        last_unit = unit_index
        total_s += float(match.group(1)) * _UNIT_S[match.group(2)]
        position = match.end()
    return total_s


def clock_seconds(text: str) -> float | None:
    """Seconds for "m:ss" or "h:mm:ss" (seconds may have a fraction), or None.

    YAML 1.1 reads an unquoted 1:30 as the number 90 but "1:30", 01:30 and
    0:45 as text; the script reader hands every spelling here as written, so
    all of them mean the same.
    """
    match = _CLOCK.fullmatch(text.strip())
    if not match:
        return None
    first, minutes, seconds = match.groups()
    if minutes is None:
        return int(first) * 60 + float(seconds)
    return int(first) * 3600 + int(minutes) * 60 + float(seconds)


def breaths_count(text: str) -> int | None:
    """The N of "N breaths" (or "1 breath"), or None when the text is not that."""
    match = _BREATHS.match(text)
    return int(match.group(1)) if match else None
