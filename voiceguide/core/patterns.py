"""The named breathing patterns of the script format."""

from __future__ import annotations

from .model import BreathPattern

BOX = BreathPattern("box", 4, 4, 4, 4)
FOUR_SEVEN_EIGHT = BreathPattern("4-7-8", 4, 7, 8, 0)
COHERENT = BreathPattern("coherent", 5.5, 0, 5.5, 0)
RELAX = BreathPattern("relax", 4, 0, 6, 0)

NAMED_PATTERNS: dict[str, BreathPattern] = {
    p.name: p for p in (BOX, FOUR_SEVEN_EIGHT, COHERENT, RELAX)
}
