"""Plain data: the parsed session and the planned timeline.

Script durations are seconds (``*_s``, floats, as authors write them); the
timeline is in whole samples (``*_sample``) at its ``sample_rate_hz`` so that
every time in the rendered audio is exact.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Sides = Literal["none", "both", "left", "right"]
Verbosity = Literal["full", "brief", "cues"]
CueMode = Literal["tones", "spoken", "both"]
# full: an exercise's whole `say` on every rep and side; brief: only on the
# first, then its `brief` text or a short built-in line.
RepeatInstructions = Literal["full", "brief"]
EventKind = Literal["speech", "silence", "tone", "hold", "breath"]
PhaseName = Literal["inhale", "hold_in", "exhale", "hold_out"]
ChapterKind = Literal["introduction", "exercise", "named", "closing"]
Side = Literal["left", "right"]


@dataclass(frozen=True)
class BreathPattern:
    name: str  # "box", "4-7-8", "coherent", "relax" or "custom"
    inhale_s: float
    hold_in_s: float
    exhale_s: float
    hold_out_s: float

    def phases(self) -> tuple[tuple[PhaseName, float], ...]:
        """The pattern's phases in order, phases of length 0 skipped."""
        all_phases: tuple[tuple[PhaseName, float], ...] = (
            ("inhale", self.inhale_s),
            ("hold_in", self.hold_in_s),
            ("exhale", self.exhale_s),
            ("hold_out", self.hold_out_s),
        )
        return tuple((name, length) for name, length in all_phases if length > 0)

    @property
    def cycle_s(self) -> float:
        return self.inhale_s + self.hold_in_s + self.exhale_s + self.hold_out_s


@dataclass(frozen=True)
class Voice:
    engine: str = "auto"
    name: str | None = None
    rate_wpm: int = 150


@dataclass(frozen=True)
class Say:
    text: str
    line: int
    chapter: str | None = None  # starts a chapter of this title here


@dataclass(frozen=True)
class Pause:
    duration_s: float
    line: int


@dataclass(frozen=True)
class Hold:
    duration_s: float  # exact length; for a hold in breaths, breaths * cycle
    breaths: int | None = None  # set when written as "N breaths"


@dataclass(frozen=True)
class Exercise:
    name: str
    line: int
    sides: Sides = "none"
    reps: int = 1
    say: str | None = None
    brief: str | None = None
    hold: Hold | None = None
    breathe: BreathPattern | None = None
    release: str | None = None
    rest_s: float = 0.0
    countdown_s: int | None = None  # None: the session's default
    repeat_instructions: RepeatInstructions | None = None  # None: the session's


@dataclass(frozen=True)
class Breathe:
    pattern: BreathPattern
    line: int
    cycles: int | None = None
    for_s: float | None = None


@dataclass(frozen=True)
class Sound:
    name: Literal["chime", "bell", "tick"]
    line: int


@dataclass(frozen=True)
class Repeat:
    times: int
    steps: tuple[Step, ...]
    line: int


Step = Say | Pause | Exercise | Breathe | Sound | Repeat

AmbienceSound = Literal["brown-noise", "rain", "ocean", "drone", "file"]


@dataclass(frozen=True)
class Ambience:
    """A sound bed under the voice: generated from code, or a file looped."""

    sound: AmbienceSound
    line: int
    path: str | None = None  # for "file": as written, relative to the script's folder
    volume_db: float = -20.0  # the bed's level against the voice, before ducking


@dataclass(frozen=True)
class Cues:
    """How breathing is cued: the script's ``cues:`` setting."""

    # None: the first cycle of each breathing run spoken (at verbosity full),
    # tones after; tones, spoken or both: the same on every cycle.
    mode: CueMode | None = None
    volume_db: float = 0.0  # every tone's level against its default


@dataclass(frozen=True)
class Session:
    title: str
    steps: tuple[Step, ...]
    source: str = "<script>"
    description: str | None = None
    language: str = "en"
    voice: Voice = field(default_factory=Voice)
    pace: float = 1.0
    verbosity: Verbosity = "full"
    countdown_s: int = 3
    # Words spoken differently from how they are written: (written, spoken).
    pronounce: tuple[tuple[str, str], ...] = ()
    ambience: Ambience | None = None
    cues: Cues = field(default_factory=Cues)
    repeat_instructions: RepeatInstructions = "brief"


@dataclass(frozen=True)
class Event:
    """One span of the timeline.

    ``speech``, ``silence`` and ``tone`` events tile the session; ``hold`` and
    ``breath`` events span a phase and contain other events.
    """

    kind: EventKind
    start_sample: int
    end_sample: int
    step: int  # index of the top-level step the event belongs to
    text: str | None = None  # speech: the phrase as spoken
    cue: str | None = None  # tone: its cue name; breath: its phase
    line: int | None = None  # the script line of the step
    side: Side | None = None  # the side of the body an exercise's event is on

    @property
    def length_samples(self) -> int:
        return self.end_sample - self.start_sample


@dataclass(frozen=True)
class Chapter:
    title: str
    start_sample: int
    end_sample: int
    # What opened it: an exercise side or breathe step, the lines before the
    # first of them, a say step's `chapter:`, or the lines after the last.
    kind: ChapterKind = "exercise"
    # An exercise's side: a field of its own, since the title says it in the
    # script's language ("(derecha)") and a player must not parse it back.
    side: Side | None = None


@dataclass(frozen=True)
class Timeline:
    title: str
    sample_rate_hz: int
    duration_samples: int
    events: tuple[Event, ...]
    chapters: tuple[Chapter, ...]
    notes: tuple[str, ...] = ()  # cues left out or replaced, for `check`
    description: str | None = None
    language: str = "en"
    cue_volume_db: float = 0.0  # the script's cues.volume: every tone's level against its default

    def seconds(self, samples: int) -> float:
        return samples / self.sample_rate_hz

    @property
    def duration_s(self) -> float:
        return self.duration_samples / self.sample_rate_hz

    def sounds(self) -> tuple[Event, ...]:
        """The events that make sound (speech and tones), in order."""
        return tuple(e for e in self.events if e.kind in ("speech", "tone"))
