"""The one line a watcher sees: what is happening, time left, overall progress."""

from __future__ import annotations

import shutil
import sys
from typing import TextIO

from ..core.model import Timeline
from ..report import clock
from .edits import SOUND_KINDS, container_at
from .recap import chapter_title_at


def status_line(
    timeline: Timeline,
    at: int,
    *,
    paused: bool = False,
    waiting: bool = False,
    planned: bool = True,
) -> str:
    """E.g. "▶ Single knee to chest (left) · hold 0:12.0 left · 3:05.2 / 10:12.0 (30%)"."""
    rate = timeline.sample_rate_hz
    state = "paused (space resumes)" if paused else "▶"
    if waiting:
        state = "waiting (any key starts)"
    parts = [f"{state} {chapter_title_at(timeline, at)}"]
    hold = container_at(timeline, at, "hold")
    if hold is not None:
        parts.append(f"hold {clock((hold.end_sample - at) / rate)} left")
    else:
        now = next(
            (
                e
                for e in timeline.events
                if e.kind in SOUND_KINDS and e.start_sample <= at < e.end_sample
            ),
            None,
        )
        if now is not None and now.text:
            parts.append(_short(now.text))
    total = timeline.duration_samples
    if planned:
        percent = 100 * at // total if total else 100
        parts.append(f"{clock(at / rate)} / {clock(total / rate)} ({percent}%)")
    else:
        parts.append(f"{clock(at / rate)} (preparing the rest)")
    return " · ".join(parts)


def _short(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


class StatusLine:
    """Redraws one line in place on a terminal; prints nothing elsewhere."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.live = self.stream.isatty()
        self.shown = ""

    def show(self, line: str) -> None:
        width = shutil.get_terminal_size().columns - 1
        line = line if len(line) <= width else line[: max(0, width - 1)] + "…"
        if self.live and line != self.shown:
            self.stream.write(f"\r{line}\x1b[K")
            self.stream.flush()
            self.shown = line

    def clear(self) -> None:
        if self.live and self.shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self.shown = ""
