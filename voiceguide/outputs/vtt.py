"""Captions for the spoken phrases, as WebVTT."""

from __future__ import annotations

from voiceguide.core.model import Timeline


def ms_from_samples(samples: int, sample_rate_hz: int) -> int:
    """Milliseconds, rounded half up in integers so equal positions never drift apart."""
    return (2 * samples * 1000 + sample_rate_hz) // (2 * sample_rate_hz)


def webvtt_timestamp(ms: int) -> str:
    hours, rest = divmod(ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}.{millis:03d}"


def _cue_text(text: str) -> str:
    # A line break inside a cue, let alone a blank line, would change the
    # document's structure, so the phrase is kept on one line.
    one_line = " ".join(text.split())
    return one_line.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def timeline_to_webvtt(timeline: Timeline) -> str:
    """One cue per spoken phrase; phrases without text or time are left out."""
    rate = timeline.sample_rate_hz
    lines = ["WEBVTT"]
    speech = sorted(
        (e for e in timeline.events if e.kind == "speech"), key=lambda e: e.start_sample
    )
    for event in speech:
        text = _cue_text(event.text or "")
        start = ms_from_samples(event.start_sample, rate)
        end = ms_from_samples(event.end_sample, rate)
        # WebVTT requires a cue to end after it starts.
        if not text or end <= start:
            continue
        lines += ["", f"{webvtt_timestamp(start)} --> {webvtt_timestamp(end)}", text]
    return "\n".join(lines) + "\n"
