"""A rendered session → its files: the audio with tags and chapters, and optionally
a WebVTT transcript, one track per chapter and an M3U playlist. All or nothing.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from ..core.model import Chapter, Timeline
from ..errors import OutputError
from .atomic import AtomicFiles
from .encode import SUPPORTED_SUFFIXES, AudioJob, write_audio_files
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
    # List the transcript and stems written, and remove those an earlier export
    # of dest wrote and this one does not; a cache that names and removes its
    # own files (serve's) leaves no list behind with False.
    tidy_companions: bool = True


STEM_NAMES = ("voice", "bed")


def stem_paths(dest: Path) -> list[Path]:
    return [dest.with_name(f"{dest.stem}.{name}{dest.suffix}") for name in STEM_NAMES]


def planned_outputs(request: ExportRequest, timeline: Timeline) -> list[Path]:
    """Every file ``write_session`` will create for the reader, main audio first (the
    hidden list of tracks aside)."""
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


def _tracks_manifest(dest: Path) -> Path:
    """Where a split export lists the tracks it wrote, one name a line: the next
    split export of ``dest`` removes those it no longer writes, and nothing else."""
    return dest.with_name(f".{dest.name}.tracks")


def _earlier_tracks(dest: Path) -> list[Path]:
    try:
        listed = _tracks_manifest(dest).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return []  # no earlier split export of this file, or a list not ours to trust
    # Only names as _track_paths makes them: a line can never reach outside
    # the folder, nor name a file of another format's export.
    name = re.compile(r"[0-9]{2,}-[a-z0-9-]+" + re.escape(dest.suffix))
    folder = dest.with_suffix("")
    return [folder / line for line in listed if name.fullmatch(line)]


def _companions(request: ExportRequest) -> list[Path]:
    """The files beside the audio that describe it: its transcript and stems."""
    dest = request.dest
    return [
        *([dest.with_suffix(".vtt")] if request.subtitles else []),
        *(stem_paths(dest) if request.stems else []),
    ]


def _companions_manifest(dest: Path) -> Path:
    """Where an export lists the transcript and stems it wrote beside ``dest``:
    the next export of ``dest`` that does not write them removes them, as they
    describe audio that is gone (a transcript at the old times), and nothing else."""
    return dest.with_name(f".{dest.name}.files")


def _forget_earlier_companions(request: ExportRequest, files: AtomicFiles) -> None:
    if not request.tidy_companions:
        return
    dest = request.dest
    manifest = _companions_manifest(dest)
    try:
        listed = set(manifest.read_text(encoding="utf-8").splitlines())
    except (OSError, UnicodeDecodeError):
        listed = set()  # no earlier export of this file wrote any
    # Only names this export could have written: a line can never reach
    # outside the folder, nor name a file the user put there.
    possible = _companions(replace(request, subtitles=True, stems=True))
    now = _companions(request)
    for path in possible:
        if path.name in listed and path not in now:
            files.remove_on_commit(path)
    if now:
        files.temp_for(manifest).write_text("".join(f"{p.name}\n" for p in now), "utf-8")
    elif manifest.exists():
        files.remove_on_commit(manifest)


Layers = Callable[[int, int], Iterable[tuple[np.ndarray, ...]]]
"""The session between two positions (samples) as chunks of (mix, voice, bed), or (mix,)."""


def write_session(
    timeline: Timeline,
    layers: Layers,
    request: ExportRequest,
    progress: Callable[[int, int], None] | None = None,
    *,
    comment: str | None = None,
    silences: Sequence[tuple[int, int]] = (),
    workers: int = 1,
) -> list[Path]:
    """Encode the session into the requested files, ``workers`` threads at a time.

    ``layers`` renders any span of the session; ``silences`` are the spans
    where it is digitally silent (where MP3 parts may be joined). With
    ``request.stems``, ``layers`` gives (mix, voice, bed) chunks.
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
        whole = (0, timeline.duration_samples)
        jobs = [AudioJob(main_temp, *whole, _layer(layers, 0), silences)]
        stem_temps = [files.temp_for(p) for p in stem_paths(dest)] if request.stems else []
        jobs += [
            AudioJob(temp, *whole, _layer(layers, number))
            for number, temp in enumerate(stem_temps, start=1)
        ]
        track_temps = [files.temp_for(p) for p in tracks]
        jobs += [
            AudioJob(temp, c.start_sample, c.end_sample, _layer(layers, 0), silences)
            for c, temp in zip(timeline.chapters, track_temps, strict=False)
        ]
        write_audio_files(jobs, rate, request.bitrate_kbps, workers, progress)
        session_tags = Tags(
            title=timeline.title,
            album=timeline.title,
            artist=ARTIST,
            comment=comment or timeline.description,
            track=None,
            chapters=chapters_from_timeline(timeline),
        )
        write_tags(main_temp, session_tags)
        for name, temp in zip(STEM_NAMES, stem_temps, strict=False):
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
            manifest = "".join(f"{p.name}\n" for p in tracks)
            files.temp_for(_tracks_manifest(dest)).write_text(manifest, encoding="utf-8")
            for earlier in _earlier_tracks(dest):
                if earlier not in tracks:
                    files.remove_on_commit(earlier)
        else:
            _forget_earlier_split(dest, files)
        _forget_earlier_companions(request, files)
    return outputs


def _forget_earlier_split(dest: Path, files: AtomicFiles) -> None:
    """An export without --split over an earlier split one: its tracks and
    playlist describe a session that is no longer there, so they go too. The
    playlist only if it lists those tracks alone (a WAV split export of the
    same name shares it)."""
    if not _tracks_manifest(dest).exists():
        return
    earlier = _earlier_tracks(dest)
    for track in earlier:
        files.remove_on_commit(track)
    files.remove_on_commit(_tracks_manifest(dest))
    playlist = dest.with_suffix(".m3u")
    try:
        lines = playlist.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return
    listed = {line for line in lines if line and not line.startswith("#")}
    ours = {f"{track.parent.name}/{track.name}" for track in earlier}
    if listed and listed <= ours:
        files.remove_on_commit(playlist)


def _layer(layers: Layers, number: int) -> Callable[[int, int], Iterator[np.ndarray]]:
    def render(start_sample: int, stop_sample: int) -> Iterator[np.ndarray]:
        return (chunks[number] for chunks in layers(start_sample, stop_sample))

    return render
