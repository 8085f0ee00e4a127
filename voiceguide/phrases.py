"""The words voiceguide itself speaks, apart from the script's own text.

One table per language; the planner asks for phrases by key so that a later
translation only adds a table.
"""

from __future__ import annotations

from .model import BreathPattern, PhaseName

ENGLISH: dict[str, str] = {
    "left": "left",
    "right": "right",
    "side_left": "Left side.",
    "side_right": "Right side.",
    "switch_sides": "Switch sides.",
    "again": "Once more.",
    "halfway": "Halfway.",
    "inhale": "Breathe in.",
    "hold_in": "Hold.",
    "exhale": "Breathe out.",
    "hold_out": "Hold.",
    "introduction": "Introduction",
    "round": "round {rep} of {reps}",
    "pattern_box": "Box breathing",
    "pattern_4-7-8": "Four, seven, eight breathing",
    "pattern_coherent": "Coherent breathing",
    "pattern_relax": "Relaxing breath",
    "pattern_custom": "Paced breathing",
    "pattern_inhale": "in for {n}",
    "pattern_hold_in": "hold for {n}",
    "pattern_exhale": "out for {n}",
    "pattern_hold_out": "hold for {n}",
    "count_1": "1",
    "count_2": "2",
    "count_3": "3",
    "count_4": "4",
    "count_5": "5",
    "count_6": "6",
    "count_7": "7",
    "count_8": "8",
    "count_9": "9",
    "count_10": "10",
}

TABLES: dict[str, dict[str, str]] = {"en": ENGLISH}


class Phrases:
    """Looks up built-in phrases for one language."""

    def __init__(self, language: str) -> None:
        base = language.split("-")[0].lower()
        self.table = TABLES.get(language, TABLES.get(base, ENGLISH))

    def __getitem__(self, key: str) -> str:
        return self.table[key]

    def count(self, number: int) -> str:
        return self.table[f"count_{number}"]

    def pattern_name(self, pattern: BreathPattern) -> str:
        return self.table[f"pattern_{pattern.name}"]

    def pattern_description(self, pattern: BreathPattern) -> str:
        """E.g. "Box breathing: in for 4, hold for 4, out for 4, hold for 4."."""
        parts = [
            self.table[f"pattern_{phase}"].format(n=f"{length:g}")
            for phase, length in pattern.phases()
        ]
        return f"{self.pattern_name(pattern)}: {', '.join(parts)}."

    def phase(self, phase: PhaseName) -> str:
        return self.table[phase]
