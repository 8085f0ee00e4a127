"""The exercise library as data: what ``voiceguide new`` builds sessions from.

Parsed from the bundled ``exercises.yaml`` text (read by the pipeline); its
JSON Schema, ``exercises.schema.json``, is what guarantees the shape, so this
reader only turns the mapping into typed records.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import yaml

Position = Literal["standing", "seated", "all-fours", "floor-front", "floor-back"]
# The order a session visits positions in: always down towards the floor, so
# nobody gets up again once they are lying down.
POSITIONS: tuple[Position, ...] = ("standing", "seated", "all-fours", "floor-front", "floor-back")
# --position: which positions each choice keeps. "floor" is the mat itself:
# lying on the back or front, or on hands and knees.
POSITION_CHOICES: dict[str, tuple[Position, ...]] = {
    "any": POSITIONS,
    "floor": ("all-fours", "floor-front", "floor-back"),
    "lying": ("floor-front", "floor-back"),
    "seated": ("seated",),
    "standing": ("standing",),
}
GOALS = ("relief", "core", "yoga", "breathing", "mixed")
TAGS = ("flexion", "extension", "rotation", "side-bending", "load-bearing")
ROLES = ("warmup", "main", "cooldown")


@dataclass(frozen=True)
class Text:
    name: str
    say: str
    brief: str


@dataclass(frozen=True)
class Exercise:
    id: str
    position: Position
    sides: Literal["none", "both"]
    hold_s: float
    reps: int
    intensity: int
    goals: tuple[str, ...]
    roles: tuple[str, ...]
    tags: tuple[str, ...]
    not_when: str
    text: Mapping[str, Text]
    breathe: str | None = None

    @property
    def side_count(self) -> int:
        return 2 if self.sides == "both" else 1


@dataclass(frozen=True)
class Lines:
    """A session's own words in one language, around the exercises."""

    title: Mapping[str, str]  # per goal
    description: str  # with {minutes} and {seed}
    opening: str
    warmup: str
    main: str
    cooldown: str
    release: str
    position: Mapping[str, str]  # how to get into each position
    stop: str  # when to stop, and the red flags


@dataclass(frozen=True)
class Library:
    exercises: tuple[Exercise, ...]
    lines: Mapping[str, Lines]

    def languages(self) -> list[str]:
        return sorted(self.lines)

    def by_id(self, ident: str) -> Exercise:
        for exercise in self.exercises:
            if exercise.id == ident:
                return exercise
        raise KeyError(ident)


def parse_library(text: str) -> Library:
    data = yaml.safe_load(text)
    lines = {language: _lines(entry) for language, entry in sorted(data["lines"].items())}
    exercises = tuple(sorted((_exercise(entry) for entry in data["exercises"]), key=_id))
    return Library(exercises, lines)


def _id(exercise: Exercise) -> str:
    return exercise.id


def _lines(entry: dict[str, Any]) -> Lines:
    return Lines(
        title=dict(entry["title"]),
        description=entry["description"],
        opening=entry["opening"],
        warmup=entry["warmup"],
        main=entry["main"],
        cooldown=entry["cooldown"],
        release=entry["release"],
        position=dict(entry["position"]),
        stop=" ".join(entry["stop"].split()),
    )


def _exercise(entry: dict[str, Any]) -> Exercise:
    return Exercise(
        id=entry["id"],
        position=entry["position"],
        sides=entry["sides"],
        hold_s=float(entry["hold_s"]),
        reps=int(entry["reps"]),
        intensity=int(entry["intensity"]),
        goals=tuple(entry["goals"]),
        roles=tuple(entry["roles"]),
        tags=tuple(entry["tags"]),
        not_when=entry["not_when"],
        text={
            language: Text(t["name"], " ".join(t["say"].split()), " ".join(t["brief"].split()))
            for language, t in sorted(entry["text"].items())
        },
        breathe=entry.get("breathe"),
    )
