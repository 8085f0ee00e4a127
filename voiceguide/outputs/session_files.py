"""A rendered session → its files: the audio with tags and chapters, and optionally
a WebVTT transcript, one track per chapter and an M3U playlist. All or nothing.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from ..errors import OutputError
from ..model import Chapter, Timeline
from .atomic import AtomicFiles
from .encode import SUPPORTED_SUFFIXES, AudioWriter
from .playlist import m3u
from .tags import Tags, chapters_from_timeline, write_tags
from .vtt import timeline_to_webvtt

ARTIST = "voiceguide"


@dataclass(frozen=True)
class ExportRequest:
    dest: Path
    bitrate_kbps: int = 128
    subtitles: bool = False
    split: bool = False
    stems: bool = False  # also NAME.voice.EXT and NAME.bed.EXT, aligned to the mix


STEM_NAMES = ("voice", "bed")


def stem_paths(dest: Path) -> list[Path]:
    return [dest.with_name(f"{dest.stem}.{name}{dest.suffix}") for name in STEM_NAMES]


def planned_outputs(request: ExportRequest, timeline: Timeline) -> list[Path]:
    """Every file ``write_session`` will create, main audio first."""
    dest = request.dest
    paths = [dest]
    if request.subtitles:
        paths.append(dest.with_suffix(".vtt"))
    if request.split:
        paths.extend(_track_paths(dest, timeline.chapters))
        paths.append(dest.with_suffix(".m3u"))
    if request.stems:
        paths.extend(stem_paths(dest))
    return paths


def _slug(title: str) -> str:
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_title.lower()).strip("-")[:60] or "chapter"


def _track_paths(dest: Path, chapters: Iterable[Chapter]) -> list[Path]:
    folder = dest.with_suffix("")
    return [
        folder / f"{number:02d}-{_slug(chapter.title)}{dest.suffix}"
        for number, chapter in enumerate(chapters, start=1)
    ]


def write_session(
    timeline: Timeline,
    chunks: Iterable[np.ndarray],
    request: ExportRequest,
    progress: Callable[[int, int], None] | None = None,
    *,
    comment: str | None = None,
    stems: Iterable[tuple[np.ndarray, ...]] | None = None,
) -> list[Path]:
    """Encode ``chunks`` (the whole session, in order) into the requested files.

    With ``request.stems``, ``stems`` yields the (voice, bed) chunks that make
    up each chunk of ``chunks``, in step with it.
    """
    dest = request.dest
    if dest.suffix.lower() not in SUPPORTED_SUFFIXES:
        raise OutputError(
            f"cannot write {dest}: unknown audio format '{dest.suffix}'; "
            f"use one of {', '.join(SUPPORTED_SUFFIXES)}"
        )
    rate = timeline.sample_rate_hz
    outputs = planned_outputs(request, timeline)
    tracks = _track_paths(dest, timeline.chapters) if request.split else []
    with AtomicFiles() as files:
        main_temp = files.temp_for(dest)
        track_temps = [files.temp_for(p) for p in tracks]
        with AudioWriter(main_temp, rate, bitrate_kbps=request.bitrate_kbps) as writer:
            if request.stems:
                if stems is None:
                    raise ValueError("stems were requested but none were given")
                stem_temps = [files.temp_for(p) for p in stem_paths(dest)]
                chunks = _with_stems(chunks, stems, stem_temps, rate, request.bitrate_kbps)
            _encode(timeline, chunks, writer, track_temps, request, progress)
        session_tags = Tags(
            title=timeline.title,
            album=timeline.title,
            artist=ARTIST,
            comment=comment or timeline.description,
            track=None,
            chapters=chapters_from_timeline(timeline),
        )
        write_tags(main_temp, session_tags)
        if request.stems:
            for name, temp in zip(STEM_NAMES, stem_temps, strict=True):
                write_tags(temp, replace(session_tags, title=f"{timeline.title} ({name})"))
        for number, (chapter, temp) in enumerate(zip(timeline.chapters, track_temps, strict=False)):
            track = (number + 1, len(tracks))
            write_tags(temp, replace(session_tags, title=chapter.title, track=track, chapters=()))
        if request.subtitles:
            files.temp_for(dest.with_suffix(".vtt")).write_text(
                timeline_to_webvtt(timeline), encoding="utf-8"
            )
        if request.split:
            entries = [
                (
                    (c.end_sample - c.start_sample) / rate,
                    c.title,
                    f"{p.parent.name}/{p.name}",
                )
                for c, p in zip(timeline.chapters, tracks, strict=True)
            ]
            files.temp_for(dest.with_suffix(".m3u")).write_text(m3u(entries), encoding="utf-8")
    return outputs


def _with_stems(
    chunks: Iterable[np.ndarray],
    stems: Iterable[tuple[np.ndarray, ...]],
    temps: list[Path],
    rate: int,
    bitrate_kbps: int,
) -> Iterable[np.ndarray]:
    """``chunks`` as they are, writing each one's stems as it passes."""
    writers = [AudioWriter(p, rate, bitrate_kbps=bitrate_kbps) for p in temps]
    try:
        for chunk, layers in zip(chunks, stems, strict=True):
            for writer, layer in zip(writers, layers, strict=True):
                writer.write(layer)
            yield chunk
    finally:
        for writer in writers:
            writer.close()


def _encode(
    timeline: Timeline,
    chunks: Iterable[np.ndarray],
    writer: AudioWriter,
    track_temps: list[Path],
    request: ExportRequest,
    progress: Callable[[int, int], None] | None,
) -> None:
    """Write each chunk to the main file and, split at chapter edges, to the tracks."""
    total = timeline.duration_samples
    bounds = [(c.start_sample, c.end_sample) for c in timeline.chapters]
    track_writers = [
        AudioWriter(p, timeline.sample_rate_hz, bitrate_kbps=request.bitrate_kbps)
        for p in track_temps
    ]
    position = 0
    try:
        for chunk in chunks:
            writer.write(chunk)
            end = position + len(chunk)
            for (start, stop), track in zip(bounds, track_writers, strict=False):
                if start < end and stop > position:
                    track.write(chunk[max(start, position) - position : min(stop, end) - position])
            position = end
            if progress is not None:
                progress(position, total)
    finally:
        for track in track_writers:
            track.close()
    if position != total:
        raise AssertionError(f"rendered {position} samples, planned {total}")
