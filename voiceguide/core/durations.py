"""Durations as script authors write them: 30, 2.5, 500ms, 30s, 1m, 1m30s, 1h."""

from __future__ import annotations

import re

MAX_DURATION_S = 3600.0
MAX_SESSION_S = 4 * 3600.0

_PART = re.compile(r"(\d+(?:\.\d+)?|\.\d+)(ms|h|m|s)")
_UNIT_S = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
_ORDER = ("h", "m", "s", "ms")
_BREATHS = re.compile(r"^\s*(\d+)\s*breaths?\s*$")


def parse_duration_text(text: str) -> float | None:
    """Seconds for a duration string, or None when it is not one.

    Units go from largest to smallest, each at most once, so "1m30s" is 90 s
    and "30s1m" is refused rather than guessed.
    """
    text = text.strip()
    if not text:
        return None
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


def breaths_count(text: str) -> int | None:
    """The N of "N breaths" (or "1 breath"), or None when the text is not that."""
    match = _BREATHS.match(text)
    return int(match.group(1)) if match else None
