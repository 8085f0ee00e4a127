"""A script's ``ambience: PATH``: the sound file decoded into a seamless loop.

The file is read through pedalboard (WAV, FLAC, OGG, MP3, ...), mixed down to
mono and resampled to the session's rate; at most its first
``MAX_FILE_LOOP_S`` are kept, so a long recording costs at most that much
memory however long the session.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .core.ambience import MAX_FILE_LOOP_S, generated_loop, seamless_loop, tamed
from .core.model import Ambience, Session
from .errors import ScriptError

MIN_FILE_S = 2.0


def ambience_path(session: Session, ambience: Ambience) -> Path:
    """The sound file's path; a relative one is relative to the script's folder."""
    path = Path(ambience.path or "").expanduser()
    return path if path.is_absolute() else Path(session.source).parent / path


def bed_loop(session: Session, rate: int) -> np.ndarray | None:
    """The session's bed as a seamless loop at ``rate``, or None without ambience."""
    ambience = session.ambience
    if ambience is None:
        return None
    if ambience.sound != "file":
        return generated_loop(ambience.sound, rate)
    path = ambience_path(session, ambience)

    def fail(reason: str) -> ScriptError:
        return ScriptError(reason, source=session.source, line=ambience.line, field="ambience")

    from pedalboard.io import AudioFile

    try:
        with AudioFile(str(path)) as source, source.resampled_to(rate) as audio:
            frames = min(audio.frames, round(MAX_FILE_LOOP_S * rate))
            samples = audio.read(frames)
    except FileNotFoundError:
        raise fail(f"no such sound file: {path}") from None
    except (OSError, ValueError, RuntimeError) as exc:
        raise fail(f"cannot read the sound file {path}: {exc}") from None
    mono = np.asarray(samples, dtype=np.float64).mean(axis=0)
    if len(mono) < MIN_FILE_S * rate:
        raise fail(f"the sound file {path} is shorter than {MIN_FILE_S:g} s; a bed needs more")
    if not np.any(np.abs(mono) > 1e-4):
        raise fail(f"the sound file {path} is silent")
    return tamed(seamless_loop(mono, rate))
