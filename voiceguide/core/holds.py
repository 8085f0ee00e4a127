"""Placing cues inside a fixed window (a hold or a breathing step).

Cues are placed by priority; one that would overlap another (or come
closer than the guard) or leave the window is refused, so the caller can
fall back to a shorter tone or leave it out. The window never grows.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class PlacedCue:
    start: int
    length: int
    kind: str  # "speech" or "tone"
    value: str  # the phrase, or the tone's cue name

    @property
    def end(self) -> int:
        return self.start + self.length


@dataclass
class CueSlots:
    start: int
    end: int
    guard: int  # least silence between two cues, in samples
    limit: int | None = None  # a tighter end for the next placement, if set
    placed: list[PlacedCue] = field(default_factory=list)

    def try_place(self, cue: PlacedCue) -> bool:
        end = self.end if self.limit is None else min(self.end, self.limit)
        if cue.length <= 0 or cue.start < self.start or cue.end > end:
            return False
        for other in self.placed:
            if cue.start < other.end + self.guard and other.start < cue.end + self.guard:
                return False
        self.placed.append(cue)
        return True
