"""The work a render worker does, in a process of its own.

Rendering runs outside the server's event loop (so it keeps serving) and in
a separate process (espeak-ng has global state, and a crash in a speech
engine must not take the server down). Results travel back pickled, so a
user error comes back as its message rather than as an exception object.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import pipeline
from ..errors import ScriptError, UsageError, UserError
from ..outputs.atomic import write_text_atomic
from ..outputs.session_files import ExportRequest
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

    @classmethod
    def of(cls, cache_dir: Path, ident: str, key: str) -> CacheFiles:
        stem = cache_dir / f"{ident}-{key}"
        return cls(
            stem.with_name(stem.name + ".json"),
            stem.with_name(stem.name + ".mp3"),
            stem.with_name(stem.name + ".vtt"),
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
    plan = timeline_json(prepared.timeline)
    write_text_atomic(files.plan, json.dumps(plan, ensure_ascii=False))
    return plan


def audio_job(
    script: Path, files: CacheFiles, settings: RenderSettings
) -> dict[str, Any] | JobFailure:
    """Render the MP3 and its transcript; the plan is rewritten from the same run."""
    try:
        prepared = pipeline.prepare(script, settings.voice)
        request = ExportRequest(files.mp3, settings.bitrate_kbps, subtitles=True)
        pipeline.export_prepared(script, prepared, request)
    except UserError as exc:
        return _failure(exc)
    plan = timeline_json(prepared.timeline)
    write_text_atomic(files.plan, json.dumps(plan, ensure_ascii=False))
    return plan
