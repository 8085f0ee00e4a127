"""The exercise library: valid against its schema, complete, and speakable in
every language it claims."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft202012Validator

from voiceguide import pipeline
from voiceguide.core.generate import Item, Request, render
from voiceguide.core.library import POSITIONS
from voiceguide.core.phrases import TABLES
from voiceguide.core.script import parse_script

DATA = Path(__file__).resolve().parents[1] / "voiceguide" / "data"
LIBRARY_PATH = DATA / "exercises.yaml"
SCHEMA_PATH = DATA / "exercises.schema.json"


@pytest.fixture(scope="module")
def document() -> dict[str, object]:
    loaded = yaml.safe_load(LIBRARY_PATH.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


@pytest.fixture(scope="module")
def validator() -> Draft202012Validator:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def errors(validator: Draft202012Validator, document: object) -> list[str]:
    return [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in validator.iter_errors(document)
    ]


def test_the_library_validates_against_its_schema(
    validator: Draft202012Validator, document: dict[str, object]
) -> None:
    assert errors(validator, document) == []


def test_the_schema_refuses_a_broken_exercise(
    validator: Draft202012Validator, document: dict[str, object]
) -> None:
    exercises = document["exercises"]
    assert isinstance(exercises, list)
    broken = dict(exercises[0], position="upside-down", intensity=4)
    del broken["not_when"]
    found = errors(validator, {**document, "exercises": [broken, *exercises[1:]]})
    assert any("position" in e for e in found)
    assert any("intensity" in e for e in found)
    assert any("not_when" in e for e in found)
    too_few = errors(validator, {**document, "exercises": exercises[:39]})
    assert too_few, "fewer than 40 exercises must be refused"


def test_the_library_covers_every_goal_position_and_language() -> None:
    library = pipeline.exercise_library()
    exercises = library.exercises
    assert len(exercises) >= 40
    assert len({e.id for e in exercises}) == len(exercises)
    assert {e.position for e in exercises} == set(POSITIONS)
    for goal in ("relief", "core", "yoga", "breathing"):
        assert sum(goal in e.goals and "main" in e.roles for e in exercises) >= 5, goal
    # Every language voiceguide has phrases for, for every exercise and every line.
    assert set(library.lines) == set(TABLES)
    for exercise in exercises:
        assert set(exercise.text) == set(TABLES), exercise.id
        assert exercise.not_when and exercise.tags is not None
        for language, text in exercise.text.items():
            if exercise.sides == "both":
                assert "{side}" in text.say and "{side}" in text.brief, (exercise.id, language)
            else:
                assert "{side}" not in text.say + text.brief, (exercise.id, language)
    # The stop line names the red flags in every language (numbness, fall).
    assert "numbness" in library.lines["en"].stop and "fall" in library.lines["en"].stop


def every_exercise_script(language: str) -> str:
    """One script with every exercise that has ``language``: two reps each, so the
    full and the brief instruction are both spoken."""
    library = pipeline.exercise_library()
    items = [
        Item(exercise, "main", hold_s=1, reps=2)
        for exercise in library.exercises
        if language in exercise.text
    ]
    return render(items, library.lines[language], Request(goal="mixed", language=language))


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed")
@pytest.mark.parametrize("language", sorted(TABLES))
def test_every_exercise_renders_in_every_language_it_claims(language: str) -> None:
    text = every_exercise_script(language)
    session = parse_script(text, f"<every exercise, {language}>")
    options = pipeline.VoiceOptions(engine="espeak", use_cache=False)
    prepared = pipeline.prepare_session(session, options, analyse_clips=False)
    library = pipeline.exercise_library()
    claimed = [e for e in library.exercises if language in e.text]
    # Every exercise is there as chapters (one per side), in the script's language...
    titles = [chapter.title for chapter in prepared.timeline.chapters]
    for exercise in claimed:
        name = exercise.text[language].name
        assert sum(title.startswith(name) for title in titles) >= exercise.side_count, name
    # ...and every phrase made a sound with the espeak voice of that language.
    assert language in prepared.voice or language == "en"
    spoken = [e for e in prepared.timeline.events if e.kind == "speech"]
    assert spoken and all(e.end_sample > e.start_sample for e in spoken)
    silent = [text for text in pipeline.distinct_phrases(session) if not len(prepared.speech[text])]
    assert silent == []
    assert not [note for note in prepared.timeline.notes if "pronounce" in note]
    for exercise in claimed:
        words = exercise.text[language]
        said = " ".join(e.text or "" for e in spoken)
        assert words.brief.split("{")[0].split(".")[0].strip() in said, exercise.id
