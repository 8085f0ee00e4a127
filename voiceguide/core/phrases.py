"""The words voiceguide itself speaks, apart from the script's own text, and
the words its web player shows and announces (the ``page_`` keys).

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
    # Said by `serve` before a scheduled session.
    "schedule_announcement": "Time for your session: {title}.",
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
    # The web player's words: labels, messages and what it announces.
    "page_all_sessions": "All sessions",
    "page_sessions": "Sessions",
    "page_now": "Now",
    "page_playback": "Playback",
    "page_timeline": "Timeline",
    "page_position": "Position in the session",
    "page_position_text": "{time} of {total}",
    "page_chapters": "Chapters",
    "page_transcript": "Transcript",
    "page_voice": "voice",
    "page_hold": "hold",
    "page_breathing": "breathing",
    "page_breathe": "Breathe",
    "page_ready": "Ready when you are",
    "page_press_play": "Press play, then lay the phone down.",
    "page_left_in_hold": "left in this hold",
    "page_start_over": "Start over",
    "page_back_15": "Back 15 seconds",
    "page_play": "Play",
    "page_pause": "Pause",
    "page_next_chapter": "Next chapter",
    "page_part_of": "Part {n} of {m}",
    "page_parts_one": "{n} part",
    "page_parts_other": "{n} parts",
    "page_minutes": "{n} min",
    "page_about": "about {duration}",
    "page_cannot_play": "Cannot play:",
    "page_preparing_session": "Preparing the whole session…",
    "page_preparing_audio": "Preparing the audio…",
    "page_loading": "Loading…",
    "page_could_not_start": "Could not start: {error}",
    "page_audio_failed": "The audio could not be loaded ({error}).",
    "page_plan_failed": "Could not load the plan ({error}).",
    "page_done": "Well done. Session complete.",
    "page_resumed": "Picked up where you left off, at {time}.",
    "page_settings": "Settings",
    "page_announce_phases": "Announce each breathing phase",
    "page_vibrate": "Vibrate with the breath",
    "page_breath_view": "Full-screen breathing",
    "page_close": "Close",
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
    "schedule_announcement": "Zeit für deine Übungen: {title}.",
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
    # The web player's words: labels, messages and what it announces.
    "page_all_sessions": "Alle Einheiten",
    "page_sessions": "Einheiten",
    "page_now": "Jetzt",
    "page_playback": "Wiedergabe",
    "page_timeline": "Zeitleiste",
    "page_position": "Position in der Einheit",
    "page_position_text": "{time} von {total}",
    "page_chapters": "Kapitel",
    "page_transcript": "Transkript",
    "page_voice": "Stimme",
    "page_hold": "Halten",
    "page_breathing": "Atmung",
    "page_breathe": "Atmen",
    "page_ready": "Bereit zum Start",
    "page_press_play": "Abspielen drücken, dann das Telefon ablegen.",
    "page_left_in_hold": "bis zum Loslassen",
    "page_start_over": "Von vorn beginnen",
    "page_back_15": "15 Sekunden zurück",
    "page_play": "Abspielen",
    "page_pause": "Anhalten",
    "page_next_chapter": "Nächstes Kapitel",
    "page_part_of": "Teil {n} von {m}",
    "page_parts_one": "{n} Teil",
    "page_parts_other": "{n} Teile",
    "page_minutes": "{n} Min.",
    "page_about": "etwa {duration}",
    "page_cannot_play": "Nicht abspielbar:",
    "page_preparing_session": "Die ganze Einheit wird vorbereitet…",
    "page_preparing_audio": "Der Ton wird vorbereitet…",
    "page_loading": "Wird geladen…",
    "page_could_not_start": "Start nicht möglich: {error}",
    "page_audio_failed": "Der Ton konnte nicht geladen werden ({error}).",
    "page_plan_failed": "Der Ablauf konnte nicht geladen werden ({error}).",
    "page_done": "Gut gemacht. Die Einheit ist beendet.",
    "page_resumed": "Weiter an der letzten Stelle, bei {time}.",
    "page_settings": "Einstellungen",
    "page_announce_phases": "Jede Atemphase ansagen",
    "page_vibrate": "Im Atemrhythmus vibrieren",
    "page_breath_view": "Atmung im Vollbild",
    "page_close": "Schließen",
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
    "schedule_announcement": "Es la hora de tu sesión: {title}.",
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
    # The web player's words: labels, messages and what it announces.
    "page_all_sessions": "Todas las sesiones",
    "page_sessions": "Sesiones",
    "page_now": "Ahora",
    "page_playback": "Reproducción",
    "page_timeline": "Línea de tiempo",
    "page_position": "Posición en la sesión",
    "page_position_text": "{time} de {total}",
    "page_chapters": "Capítulos",
    "page_transcript": "Transcripción",
    "page_voice": "voz",
    "page_hold": "mantener",
    "page_breathing": "respiración",
    "page_breathe": "Respira",
    "page_ready": "Cuando quieras",
    "page_press_play": "Pulsa reproducir y deja el teléfono.",
    "page_left_in_hold": "hasta soltar",
    "page_start_over": "Empezar de nuevo",
    "page_back_15": "Retroceder 15 segundos",
    "page_play": "Reproducir",
    "page_pause": "Pausa",
    "page_next_chapter": "Capítulo siguiente",
    "page_part_of": "Parte {n} de {m}",
    "page_parts_one": "{n} parte",
    "page_parts_other": "{n} partes",
    "page_minutes": "{n} min",
    "page_about": "unos {duration}",
    "page_cannot_play": "No se puede reproducir:",
    "page_preparing_session": "Preparando toda la sesión…",
    "page_preparing_audio": "Preparando el audio…",
    "page_loading": "Cargando…",
    "page_could_not_start": "No se pudo iniciar: {error}",
    "page_audio_failed": "No se pudo cargar el audio ({error}).",
    "page_plan_failed": "No se pudo cargar el plan ({error}).",
    "page_done": "Bien hecho. Sesión terminada.",
    "page_resumed": "Retomado donde lo dejaste, en {time}.",
    "page_settings": "Ajustes",
    "page_announce_phases": "Anunciar cada fase de la respiración",
    "page_vibrate": "Vibrar con la respiración",
    "page_breath_view": "Respiración a pantalla completa",
    "page_close": "Cerrar",
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
    "schedule_announcement": "C'est l'heure de ta séance : {title}.",
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
    # The web player's words: labels, messages and what it announces.
    "page_all_sessions": "Toutes les séances",
    "page_sessions": "Séances",
    "page_now": "Maintenant",
    "page_playback": "Lecture",
    "page_timeline": "Chronologie",
    "page_position": "Position dans la séance",
    "page_position_text": "{time} sur {total}",
    "page_chapters": "Chapitres",
    "page_transcript": "Transcription",
    "page_voice": "voix",
    "page_hold": "tenue",
    "page_breathing": "respiration",
    "page_breathe": "Respirez",
    "page_ready": "Quand vous voulez",
    "page_press_play": "Appuyez sur lecture, puis posez le téléphone.",
    "page_left_in_hold": "avant de relâcher",
    "page_start_over": "Recommencer",
    "page_back_15": "Reculer de 15 secondes",
    "page_play": "Lire",
    "page_pause": "Mettre en pause",
    "page_next_chapter": "Chapitre suivant",
    "page_part_of": "Partie {n} sur {m}",
    "page_parts_one": "{n} partie",
    "page_parts_other": "{n} parties",
    "page_minutes": "{n} min",
    "page_about": "environ {duration}",
    "page_cannot_play": "Lecture impossible :",
    "page_preparing_session": "Préparation de toute la séance…",
    "page_preparing_audio": "Préparation du son…",
    "page_loading": "Chargement…",
    "page_could_not_start": "Impossible de démarrer : {error}",
    "page_audio_failed": "Le son n’a pas pu être chargé ({error}).",
    "page_plan_failed": "Le déroulé n’a pas pu être chargé ({error}).",
    "page_done": "Bravo. La séance est terminée.",
    "page_resumed": "Reprise là où vous vous étiez arrêté, à {time}.",
    "page_settings": "Réglages",
    "page_announce_phases": "Annoncer chaque phase de respiration",
    "page_vibrate": "Vibrer au rythme de la respiration",
    "page_breath_view": "Respiration en plein écran",
    "page_close": "Fermer",
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

    def page_labels(self) -> dict[str, str]:
        """The web player's words without their ``page_`` prefix, with the side and
        breathing phase names it shows: the spoken ones, without their full stop."""
        labels = {k[5:]: v for k, v in self.table.items() if k.startswith("page_")}
        for key in ("left", "right", "side_left", "side_right", *PHASES):
            labels[key] = self.table[key].rstrip(".")
        return labels


PHASES = ("inhale", "hold_in", "exhale", "hold_out")
