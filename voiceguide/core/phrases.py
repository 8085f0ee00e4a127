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
    "again_left": "Again, left side.",
    "again_right": "Again, right side.",
    "halfway": "Halfway.",
    "inhale": "Breathe in.",
    "hold_in": "Now hold.",
    "exhale": "Breathe out.",
    "hold_out": "Now hold.",
    "introduction": "Introduction",
    "closing": "Closing",
    "round": "round {rep} of {reps}",
    "pattern_box": "Box breathing",
    "pattern_4-7-8": "Four, seven, eight breathing",
    "pattern_coherent": "Coherent breathing",
    "pattern_relax": "Relaxing breath",
    "pattern_custom": "Paced breathing",
    "pattern_inhale": "breathe in for {n}",
    "pattern_hold_in": "hold for {n}",
    "pattern_exhale": "breathe out for {n}",
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

GERMAN: dict[str, str] = {
    "left": "links",
    "right": "rechts",
    "side_left": "Linke Seite.",
    "side_right": "Rechte Seite.",
    "switch_sides": "Seite wechseln.",
    "again": "Noch einmal.",
    "again_left": "Noch einmal, linke Seite.",
    "again_right": "Noch einmal, rechte Seite.",
    "halfway": "Halbzeit.",
    "inhale": "Einatmen.",
    "hold_in": "Luft anhalten.",
    "exhale": "Ausatmen.",
    "hold_out": "Luft anhalten.",
    "introduction": "Einleitung",
    "closing": "Abschluss",
    "round": "Runde {rep} von {reps}",
    "pattern_box": "Box-Atmung",
    "pattern_4-7-8": "Vier-sieben-acht-Atmung",
    "pattern_coherent": "Kohärente Atmung",
    "pattern_relax": "Entspannender Atem",
    "pattern_custom": "Geführte Atmung",
    "pattern_inhale": "einatmen für {n}",
    "pattern_hold_in": "halten für {n}",
    "pattern_exhale": "ausatmen für {n}",
    "pattern_hold_out": "halten für {n}",
    "count_1": "Eins",
    "count_2": "Zwei",
    "count_3": "Drei",
    "count_4": "Vier",
    "count_5": "Fünf",
    "count_6": "Sechs",
    "count_7": "Sieben",
    "count_8": "Acht",
    "count_9": "Neun",
    "count_10": "Zehn",
}

SPANISH: dict[str, str] = {
    "left": "izquierda",
    "right": "derecha",
    "side_left": "Lado izquierdo.",
    "side_right": "Lado derecho.",
    "switch_sides": "Cambia de lado.",
    "again": "Una vez más.",
    "again_left": "Otra vez, lado izquierdo.",
    "again_right": "Otra vez, lado derecho.",
    "halfway": "Mitad.",
    "inhale": "Inhala.",
    "hold_in": "Mantén el aire.",
    "exhale": "Exhala.",
    "hold_out": "Mantén el aire.",
    "introduction": "Introducción",
    "closing": "Cierre",
    "round": "ronda {rep} de {reps}",
    "pattern_box": "Respiración cuadrada",
    "pattern_4-7-8": "Respiración cuatro, siete, ocho",
    "pattern_coherent": "Respiración coherente",
    "pattern_relax": "Respiración relajante",
    "pattern_custom": "Respiración guiada",
    "pattern_inhale": "inhala durante {n}",
    "pattern_hold_in": "mantén durante {n}",
    "pattern_exhale": "exhala durante {n}",
    "pattern_hold_out": "mantén durante {n}",
    "count_1": "Uno",
    "count_2": "Dos",
    "count_3": "Tres",
    "count_4": "Cuatro",
    "count_5": "Cinco",
    "count_6": "Seis",
    "count_7": "Siete",
    "count_8": "Ocho",
    "count_9": "Nueve",
    "count_10": "Diez",
}

FRENCH: dict[str, str] = {
    "left": "gauche",
    "right": "droite",
    "side_left": "Côté gauche.",
    "side_right": "Côté droit.",
    "switch_sides": "Changez de côté.",
    "again": "Encore une fois.",
    "again_left": "Encore une fois, côté gauche.",
    "again_right": "Encore une fois, côté droit.",
    "halfway": "À mi-chemin.",
    "inhale": "Inspirez.",
    "hold_in": "Retenez votre souffle.",
    "exhale": "Expirez.",
    "hold_out": "Retenez votre souffle.",
    "introduction": "Introduction",
    "closing": "Conclusion",
    "round": "tour {rep} sur {reps}",
    "pattern_box": "Respiration carrée",
    "pattern_4-7-8": "Respiration quatre, sept, huit",
    "pattern_coherent": "Cohérence cardiaque",
    "pattern_relax": "Respiration apaisante",
    "pattern_custom": "Respiration guidée",
    "pattern_inhale": "inspirez sur {n}",
    "pattern_hold_in": "retenez sur {n}",
    "pattern_exhale": "expirez sur {n}",
    "pattern_hold_out": "retenez sur {n}",
    "count_1": "Un",
    "count_2": "Deux",
    "count_3": "Trois",
    "count_4": "Quatre",
    "count_5": "Cinq",
    "count_6": "Six",
    "count_7": "Sept",
    "count_8": "Huit",
    "count_9": "Neuf",
    "count_10": "Dix",
}

TABLES: dict[str, dict[str, str]] = {"en": ENGLISH, "de": GERMAN, "es": SPANISH, "fr": FRENCH}


def _table_for(language: str) -> dict[str, str] | None:
    tag = language.lower()
    return TABLES.get(tag) or TABLES.get(tag.split("-")[0])


def has_translation(language: str) -> bool:
    """Whether the built-in phrases exist in ``language`` (or its primary language)."""
    return _table_for(language) is not None


def translated_languages() -> list[str]:
    return sorted(TABLES)


class Phrases:
    """Looks up built-in phrases for one language; English where there is no table.

    Whether falling back is allowed is the script parser's decision.
    """

    def __init__(self, language: str) -> None:
        self.table = _table_for(language) or ENGLISH

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
