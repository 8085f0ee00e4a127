"""The planned timeline as JSON (``check --json``) and as text for people."""

from __future__ import annotations

from typing import Any

from .core.model import Event, Timeline
from .core.plural import counted
from .errors import ScriptError, ScriptErrors, UserError


def _s(timeline: Timeline, samples: int) -> float:
    return round(samples / timeline.sample_rate_hz, 6)


def timeline_json(timeline: Timeline) -> dict[str, Any]:
    """Times in seconds from the start; exact sample positions alongside."""
    return {
        "title": timeline.title,
        "description": timeline.description,
        "language": timeline.language,
        "duration": _s(timeline, timeline.duration_samples),
        "sample_rate": timeline.sample_rate_hz,
        "duration_samples": timeline.duration_samples,
        "chapters": [
            {
                "title": c.title,
                "start": _s(timeline, c.start_sample),
                "end": _s(timeline, c.end_sample),
                "kind": c.kind,
                "side": c.side,
            }
            for c in timeline.chapters
        ],
        "events": [_event_json(timeline, e) for e in timeline.events],
        "notes": list(timeline.notes),
    }


def errors_json(source: str, error: UserError) -> dict[str, Any]:
    """A script `check` refused: each error with its place, as the text lines give them."""
    found = error.errors if isinstance(error, ScriptErrors) else (error,)
    result: dict[str, Any] = {"source": source, "errors": [_error_json(e) for e in found]}
    if isinstance(error, ScriptErrors) and error.more:
        result["more_errors"] = error.more
    return result


def _error_json(error: UserError) -> dict[str, Any]:
    if not isinstance(error, ScriptError):
        # A missing file, an engine that failed: no place in the script.
        return {
            "line": None,
            "column": None,
            "field": None,
            "message": str(error),
            "text": str(error),
        }
    return {
        "line": error.line,
        "column": error.column,
        "field": error.field,
        "message": error.reason,
        "text": str(error),
    }


def _event_json(timeline: Timeline, event: Event) -> dict[str, Any]:
    out: dict[str, Any] = {
        "kind": event.kind,
        "start": _s(timeline, event.start_sample),
        "end": _s(timeline, event.end_sample),
        "step": event.step,
    }
    if event.text is not None:
        out["text"] = event.text
    if event.cue is not None:
        out["cue"] = event.cue
    out["line"] = event.line
    out["side"] = event.side
    out["start_sample"] = event.start_sample
    out["end_sample"] = event.end_sample
    return out


def clock(seconds: float) -> str:
    """0:07.5, 12:03.0 or 1:02:03.0."""
    tenths = round(seconds * 10)
    minutes, tenth_s = divmod(tenths, 600)
    hours, minutes = divmod(minutes, 60)
    text = f"{minutes:d}:{tenth_s / 10:04.1f}"
    return f"{hours}:{minutes:02d}:{tenth_s / 10:04.1f}" if hours else text


def timeline_text(timeline: Timeline, *, events: bool = True) -> str:
    """A readable plan: chapters, then what is heard when, then notes."""
    seconds = timeline.seconds
    lines = [
        f"{timeline.title}: {clock(timeline.duration_s)} "
        f"({timeline.duration_s:.2f} s), {counted(len(timeline.chapters), 'chapter')}"
    ]
    lines.append("")
    lines.append("Chapters")
    for chapter in timeline.chapters:
        lines.append(f"  {clock(seconds(chapter.start_sample)):>9}  {chapter.title}")
    if events:
        lines.append("")
        lines.append("Plan")
        for event in timeline.events:
            label = _event_label(timeline, event)
            if label:
                lines.append(f"  {clock(seconds(event.start_sample)):>9}  {label}")
    if timeline.notes:
        lines.append("")
        lines.append(f"Notes ({len(timeline.notes)})")
        lines.extend(f"  {note}" for note in timeline.notes)
    lines.append("")
    lines.append(f"Total: {clock(timeline.duration_s)} ({timeline.duration_s:.2f} s)")
    return "\n".join(lines)


def _event_label(timeline: Timeline, event: Event) -> str | None:
    length_s = event.length_samples / timeline.sample_rate_hz
    if event.kind == "speech":
        return f"say     {event.text}"
    if event.kind == "tone":
        return f"tone    {event.cue}"
    if event.kind == "hold":
        return f"hold    {length_s:.2f} s"
    if event.kind == "silence" and event.cue in ("pause", "rest"):
        return f"{event.cue:<7} {length_s:.2f} s"
    return None
