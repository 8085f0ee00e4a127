"""The JSON Schema for scripts accepts every bundled script and refuses broken ones."""

from __future__ import annotations

import json
from pathlib import Path
from textwrap import dedent

import pytest
import yaml
from jsonschema import Draft202012Validator

ROOT = Path(__file__).resolve().parents[1]
SCHEMA_PATH = ROOT / "voiceguide" / "data" / "script.schema.json"
SCRIPTS = sorted((ROOT / "scripts").glob("*.y*ml"))
EDITOR_COMMENT = "# yaml-language-server: $schema=../voiceguide/data/script.schema.json"


@pytest.fixture(scope="module")
def validator() -> Draft202012Validator:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return Draft202012Validator(schema)


def load(text: str) -> object:
    return yaml.safe_load(dedent(text))


def messages(validator: Draft202012Validator, document: object) -> list[str]:
    return [
        f"{'/'.join(map(str, error.absolute_path))}: {error.message}"
        for error in validator.iter_errors(document)
    ]


def test_schema_is_a_valid_draft_2020_12_schema() -> None:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_there_are_bundled_scripts() -> None:
    names = {path.name for path in SCRIPTS}
    assert {
        "back-spasm-relief.yaml",
        "breathing-calm.yaml",
        "core-strength.yaml",
        "gentle-yoga.yaml",
    } <= names


@pytest.mark.parametrize("path", SCRIPTS, ids=lambda path: path.name)
def test_bundled_script_validates(validator: Draft202012Validator, path: Path) -> None:
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert messages(validator, document) == []


@pytest.mark.parametrize("path", SCRIPTS, ids=lambda path: path.name)
def test_bundled_script_names_the_schema_and_opens_with_one_say(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.splitlines()[0] == EDITOR_COMMENT
    steps = yaml.safe_load(text)["steps"]
    assert list(steps[0]) == ["say"]


VALID = {
    "minimal": """
        title: Minimal
        steps:
          - say: Hello.
    """,
    "spec example": """
        title: Back spasm relief
        description: Gentle knee-to-chest stretches to ease a lower-back spasm.
        language: en
        voice:
          engine: auto
          name: null
          rate: 150
        pace: 1.0
        verbosity: full
        steps:
          - say: Lie on your back on the floor, knees bent, feet flat.
          - pause: 5s
          - exercise: Single knee to chest
            sides: both
            reps: 2
            say: Slowly pull your {side} knee into your chest and hug it.
            brief: Hug your {side} knee.
            hold: 30s
            breathe: relax
            release: Slowly lower your {side} foot to the floor.
            rest: 10s
          - breathe: box
            cycles: 4
          - sound: chime
          - repeat: 2
            steps:
              - say: Rock gently from side to side.
              - pause: 20s
          - say: Well done.
    """,
    "every duration form": """
        title: Durations
        steps:
          - pause: 30
          - pause: 2.5
          - pause: 500ms
          - pause: 2.5s
          - pause: 1m
          - pause: 1m30s
          - pause: 1h
          - pause: 3600
    """,
    "holds, rests and countdowns": """
        title: Holds
        countdown: 0
        steps:
          - exercise: One
            hold: 1 breath
            rest: 0
            countdown: 10
          - exercise: Two
            hold: 12 breaths
            breathe: {in: 4, hold: 0, out: 6, hold_out: 0}
          - exercise: Three
            sides: right
            say: Turn to your {side}, look {other_side}. {rep} of {reps}.
            hold: 20s
            rest: 1.5
    """,
    "breathe for a time and by default": """
        title: Breathing
        steps:
          - breathe: 4-7-8
            for: 1m30s
          - breathe: coherent
          - breathe: {in: 0, out: 5, hold_out: 2}
            cycles: 1000
    """,
    "nested repeat with placeholders and literal braces": """
        title: Nested
        steps:
          - repeat: 2
            steps:
              - say: Set {rep} of {reps}.
              - repeat: 3
                steps:
                  - say: "Inner {rep}, with {{literal}} braces."
                  - sound: tick
                  - exercise: Squeeze
                    reps: 2
                    say: Squeeze {rep} of {reps}.
                    hold: 3s
    """,
    "pronounce and ambience": """
        title: Sounds
        language: de
        pronounce: {psoas: so-as, lower back: lower back}
        ambience: {sound: rain, volume: -24}
        steps:
          - say: Hallo.
    """,
    "cues as a mode": """
        title: Cues
        cues: spoken
        steps:
          - say: Hello.
    """,
    "cues as a mapping": """
        title: Cues
        cues: {mode: both, volume: -3.5}
        steps:
          - say: Hello.
    """,
    "cues volume only": """
        title: Cues
        cues: {volume: 6}
        steps:
          - say: Hello.
    """,
    "ambience as a file path": """
        title: Sounds
        ambience: sounds/forest.ogg
        steps:
          - say: Hello.
    """,
}


@pytest.mark.parametrize("text", VALID.values(), ids=VALID.keys())
def test_valid_document_is_accepted(validator: Draft202012Validator, text: str) -> None:
    assert messages(validator, load(text)) == []


BROKEN = {
    "typo hodl in an exercise": """
        title: T
        steps:
          - exercise: Plank
            hodl: 30s
    """,
    "two kind keys in one step": """
        title: T
        steps:
          - say: Hello.
            pause: 3s
    """,
    "step with no kind key": """
        title: T
        steps:
          - hold: 30s
    """,
    "step that is not a mapping": """
        title: T
        steps:
          - Hello.
    """,
    "duration 30 sec": """
        title: T
        steps:
          - pause: 30 sec
    """,
    "duration 0s": """
        title: T
        steps:
          - pause: 0s
    """,
    "duration over an hour": """
        title: T
        steps:
          - pause: 3601
    """,
    "unknown pattern name": """
        title: T
        steps:
          - breathe: square
    """,
    "pattern without out": """
        title: T
        steps:
          - breathe: {in: 4, hold: 4}
    """,
    "pattern of zeros": """
        title: T
        steps:
          - breathe: {in: 0, out: 0}
    """,
    "pattern with a negative phase": """
        title: T
        steps:
          - breathe: {in: 4, out: -1}
    """,
    "cycles and for together": """
        title: T
        steps:
          - breathe: box
            cycles: 3
            for: 1m
    """,
    "empty steps": """
        title: T
        steps: []
    """,
    "missing title": """
        steps:
          - say: Hello.
    """,
    "unknown top-level key": """
        title: T
        music: on
        steps:
          - say: Hello.
    """,
    "sides up": """
        title: T
        steps:
          - exercise: Twist
            sides: up
    """,
    "negative rest": """
        title: T
        steps:
          - exercise: Twist
            hold: 10s
            rest: -5
    """,
    "breathe in an exercise without hold": """
        title: T
        steps:
          - exercise: Twist
            breathe: relax
    """,
    "hold of 0 breaths": """
        title: T
        steps:
          - exercise: Twist
            hold: 0 breaths
    """,
    "reps 0": """
        title: T
        steps:
          - exercise: Twist
            reps: 0
    """,
    "exercise countdown 11": """
        title: T
        steps:
          - exercise: Twist
            hold: 30s
            countdown: 11
    """,
    "repeat without steps": """
        title: T
        steps:
          - repeat: 3
    """,
    "repeat 0 times": """
        title: T
        steps:
          - repeat: 0
            steps:
              - say: Hello.
    """,
    "unknown sound": """
        title: T
        steps:
          - sound: gong
    """,
    "pace 3": """
        title: T
        pace: 3
        steps:
          - say: Hello.
    """,
    "voice rate 50": """
        title: T
        voice: {rate: 50}
        steps:
          - say: Hello.
    """,
    "unknown engine": """
        title: T
        voice: {engine: festival}
        steps:
          - say: Hello.
    """,
    "verbosity loud": """
        title: T
        verbosity: loud
        steps:
          - say: Hello.
    """,
    "countdown 11": """
        title: T
        countdown: 11
        steps:
          - say: Hello.
    """,
    "unknown placeholder": """
        title: T
        steps:
          - exercise: Twist
            sides: both
            say: Turn to your {sdie}.
    """,
    "side placeholder without sides": """
        title: T
        steps:
          - exercise: Twist
            say: Turn to your {side}.
    """,
    "rep placeholder outside exercise and repeat": """
        title: T
        steps:
          - say: Round {rep}.
    """,
    "lone brace": """
        title: T
        steps:
          - say: A { brace.
    """,
    "pronounce as a list": """
        title: T
        pronounce: [psoas]
        steps:
          - say: Hello.
    """,
    "pronounce of a phrase with punctuation": """
        title: T
        pronounce: {"psoas!": so-as}
        steps:
          - say: Hello.
    """,
    "unknown ambience": """
        title: T
        ambience: thunder
        steps:
          - say: Hello.
    """,
    "unknown cue mode": """
        title: T
        cues: beeps
        steps:
          - say: Hello.
    """,
    "cue volume too loud": """
        title: T
        cues: {volume: 7}
        steps:
          - say: Hello.
    """,
    "unknown key in cues": """
        title: T
        cues: {mode: tones, speed: 2}
        steps:
          - say: Hello.
    """,
    "ambience too loud": """
        title: T
        ambience: {sound: rain, volume: -3}
        steps:
          - say: Hello.
    """,
}


@pytest.mark.parametrize("text", BROKEN.values(), ids=BROKEN.keys())
def test_broken_document_is_rejected(validator: Draft202012Validator, text: str) -> None:
    assert not validator.is_valid(load(text))
