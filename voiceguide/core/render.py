"""``Timeline`` + mastered clips → the session's PCM, in chunks.

Sounds never overlap, so a chunk is silence with the parts of the clips
that fall in it copied in: work per chunk is its own length, however long
the session.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

from .mastering import Mastered
from .model import Event, Timeline


def render_chunks(
    timeline: Timeline,
    mastered: Mastered,
    chunk_samples: int = 1 << 16,
    start_sample: int = 0,
    stop_sample: int | None = None,
) -> Iterator[np.ndarray]:
    """The session from ``start_sample`` to ``stop_sample`` (default: its end) as
    float32 chunks of ``chunk_samples`` (the last may be shorter)."""
    sounds = sorted(timeline.sounds(), key=lambda e: e.start_sample)
    index = 0
    stop = timeline.duration_samples if stop_sample is None else stop_sample
    for chunk_start in range(start_sample, stop, chunk_samples):
        chunk = np.zeros(min(stop, chunk_start + chunk_samples) - chunk_start, dtype=np.float32)
        index = mix_into(chunk, chunk_start, sounds, index, mastered)
        yield chunk


def silent_spans(timeline: Timeline) -> list[tuple[int, int]]:
    """The (start, stop) sample spans where no sound plays, in order."""
    spans = []
    position = 0
    for event in sorted(timeline.sounds(), key=lambda e: e.start_sample):
        if event.start_sample > position:
            spans.append((position, event.start_sample))
        position = max(position, event.end_sample)
    if timeline.duration_samples > position:
        spans.append((position, timeline.duration_samples))
    return spans


def mix_into(
    chunk: np.ndarray, chunk_start: int, sounds: Sequence[Event], index: int, mastered: Mastered
) -> int:
    """Writes into ``chunk`` (the span from ``chunk_start``) the parts of ``sounds``
    (sorted by start) that fall in it; ``index`` is the first sound that may, and the
    one for the next chunk is returned.
    """
    chunk_end = chunk_start + len(chunk)
    while index < len(sounds) and sounds[index].end_sample <= chunk_start:
        index += 1
    probe = index
    while probe < len(sounds) and sounds[probe].start_sample < chunk_end:
        event = sounds[probe]
        clip = mastered.clip_for(event)
        if len(clip) != event.length_samples:
            raise AssertionError(f"clip length does not match the plan for {event}")
        start = max(event.start_sample, chunk_start)
        end = min(event.end_sample, chunk_end)
        offset = start - event.start_sample
        chunk[start - chunk_start : end - chunk_start] = clip[offset : offset + end - start]
        probe += 1
    return index


def render_all(timeline: Timeline, mastered: Mastered) -> np.ndarray:
    """The whole session in one array: for tests and short sessions only."""
    out = np.zeros(timeline.duration_samples, dtype=np.float32)
    for position, chunk in zip(
        range(0, timeline.duration_samples, 1 << 16), render_chunks(timeline, mastered), strict=True
    ):
        out[position : position + len(chunk)] = chunk
    return out
