"""The work a render worker does, in a process of its own.

Rendering runs outside the server's event loop (so it keeps serving) and in
a separate process (espeak-ng has global state, and a crash in a speech
engine must not take the server down). Results travel back pickled, so a
user error comes back as its message rather than as an exception object.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import pipeline
from ..errors import ScriptError, UsageError, UserError
from ..report import timeline_json


@dataclass(frozen=True)
class RenderSettings:
    """Everything besides the script's text that changes the audio."""

    voice: pipeline.VoiceOptions = field(default_factory=pipeline.VoiceOptions)
    bitrate_kbps: int = 128


@dataclass(frozen=True)
class CacheFiles:
    """One session's rendered files for one version of its script."""

    plan: Path
    mp3: Path
    vtt: Path
    # The MP3 as it is rendered, for clients that play before it is done: it only
    # grows, and ``stream_done`` appears once it is complete. Both go when the
    # MP3 itself is ready.
    stream: Path
    stream_done: Path

    @classmethod
    def of(cls, cache_dir: Path, ident: str, key: str) -> CacheFiles:
        stem = cache_dir / f"{ident}-{key}"
        return cls(
            *(stem.with_name(stem.name + s) for s in (".json", ".mp3", ".vtt", ".stream", ".done"))
        )


@dataclass(frozen=True)
class JobFailure:
    message: str
    bad_script: bool  # the script's fault (422), not the machine's


def _failure(exc: UserError) -> JobFailure:
    return JobFailure(str(exc), isinstance(exc, (ScriptError, UsageError)))


def plan_job(
    script: Path, files: CacheFiles, settings: RenderSettings
) -> dict[str, Any] | JobFailure:
    """Parse and plan (speech measured, no audio); the plan is kept as JSON."""
    try:
        prepared = pipeline.prepare(script, settings.voice)
    except UserError as exc:
        return _failure(exc)
    return _write_plan(files, prepared)


def _write_plan(files: CacheFiles, prepared: pipeline.Prepared) -> dict[str, Any]:
    plan = timeline_json(prepared.timeline)
    pipeline.write_text_atomic(files.plan, json.dumps(plan, ensure_ascii=False))
    return plan


def audio_job(
    script: Path, files: CacheFiles, settings: RenderSettings
) -> dict[str, Any] | JobFailure:
    """Stream the MP3 as it is rendered, then write the MP3 `export` writes and its
    transcript; the plan is written as soon as the whole session is prepared.

    ``files.stream`` exists (empty) before the job starts: the server creates it,
    so a client never reads one left from an earlier run.
    """
    whole: list[pipeline.Prepared] = []

    def planned(prepared: pipeline.Prepared) -> None:
        whole.append(prepared)
        _write_plan(files, prepared)

    try:
        session = pipeline.load_with_options(script, settings.voice)
        source = pipeline.clip_source(session, settings.voice)
        encoder = pipeline.mp3_stream(settings.bitrate_kbps)
        with files.stream.open("ab") as out:
            for chunk in pipeline.progressive_pcm(
                session, settings.voice, source=source, on_whole=planned
            ):
                frames = encoder.encode(chunk)
                if frames:
                    out.write(frames)
                    out.flush()
            out.write(encoder.flush())
        files.stream_done.touch()
        request = pipeline.ExportRequest(
            files.mp3, settings.bitrate_kbps, subtitles=True, tidy_companions=False
        )
        pipeline.export_prepared(script, whole[0], request)
    except UserError as exc:
        return _failure(exc)
    return timeline_json(whole[0].timeline)


def warm_worker(settings: RenderSettings) -> None:
    """Run in each render worker as it starts: the engine loaded before any request."""
    # A render reports the same trouble, with its script's name.
    with contextlib.suppress(Exception):
        pipeline.warm_engine(settings.voice)


def started() -> None:
    """A job that does nothing: submitting one per worker makes the pool start them."""
