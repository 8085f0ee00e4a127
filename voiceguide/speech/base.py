"""What every speech engine offers: text in, mono PCM out.

Engines return audio and never play it; placing, mixing and playing are
someone else's job, which keeps engines small and testable.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np


class Engine(Protocol):
    # Part of the phrase cache key, so it must change whenever the audio for a
    # given text could change: engine, voice, rate, settings, engine version.
    # Its part before the first "/" names the engine in messages.
    id: str

    def synthesize(self, text: str) -> tuple[np.ndarray, int]:
        """Speak ``text``: mono float32 PCM in [-1, 1] and its sample rate."""
        ...


@dataclass(frozen=True)
class VoiceInfo:
    id: str  # what to pass as the voice name to select it
    name: str  # the engine's human-readable name
    languages: list[str] = field(default_factory=list)  # lowercase tags, best first


@dataclass(frozen=True)
class EngineInfo:
    name: str
    available: bool
    reason: str | None  # why it is not available; None when it is
    voices: list[VoiceInfo] = field(default_factory=list)
