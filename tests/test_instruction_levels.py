"""Instruction levels: the full text once, then the brief text or a short line (plans, exactly)."""

from __future__ import annotations

import pytest

from voiceguide.core.model import Timeline
from voiceguide.core.plan import plan, spoken_phrases
from voiceguide.core.script import parse_script
from voiceguide.errors import ScriptError

RATE = 44100
TONES = {
    name: RATE // 2
    for name in ("inhale", "exhale", "hold", "end_of_hold", "switch_sides", "chime", "bell", "tick")
}
SAY = "Pull your {side} knee in. Hug it close."
BRIEF = "Hug your {side} knee."


def exercise(
    *,
    sides: str = "both",
    brief: bool = True,
    top: str = "",
    own: str = "",
    language: str = "en",
) -> str:
    lines = [
        "title: Levels",
        f"language: {language}",
        top,
        "steps:",
        "  - exercise: Knee hug",
        f"    sides: {sides}",
        "    reps: 2",
        f"    say: {SAY if sides != 'none' else SAY.replace('{side} ', '')}",
    ]
    if brief:
        lines.append(f"    brief: {BRIEF if sides != 'none' else 'Hug your knee.'}")
    lines += ["    hold: 5s", "    countdown: 0", "    release: Let go.", own]
    return "\n".join(line for line in lines if line) + "\n"


def make(text: str) -> Timeline:
    session = parse_script(text, "levels.yaml")
    lengths = {p: round(0.05 * len(p) * RATE) for p in spoken_phrases(session)}
    return plan(session, lengths, TONES, RATE)


def spoken(text: str) -> list[str]:
    """What is said, apart from the exercise's name and release, in order."""
    t = make(text)
    return [
        e.text or ""
        for e in t.sounds()
        if e.kind == "speech" and e.text not in ("Knee hug", "Let go.")
    ]


def test_full_text_once_then_brief_on_every_later_rep_and_side() -> None:
    assert spoken(exercise()) == [
        "Left side.",
        "Pull your left knee in.",
        "Hug it close.",
        "Hug your left knee.",
        "Switch sides.",
        "Right side.",
        "Hug your right knee.",
        "Hug your right knee.",
    ]


def test_without_brief_later_reps_and_sides_get_the_short_line() -> None:
    assert spoken(exercise(brief=False)) == [
        "Left side.",
        "Pull your left knee in.",
        "Hug it close.",
        "Again, left side.",
        "Switch sides.",
        "Right side.",
        "Again, right side.",
        "Again, right side.",
    ]


def test_without_sides_the_short_line_is_once_more() -> None:
    assert spoken(exercise(sides="none", brief=False)) == [
        "Pull your knee in.",
        "Hug it close.",
        "Once more.",
    ]
    assert spoken(exercise(sides="none")) == [
        "Pull your knee in.",
        "Hug it close.",
        "Hug your knee.",
    ]


FULL_EVERY_TIME = [
    "Left side.",
    "Pull your left knee in.",
    "Hug it close.",
    "Once more.",
    "Pull your left knee in.",
    "Hug it close.",
    "Switch sides.",
    "Right side.",
    "Pull your right knee in.",
    "Hug it close.",
    "Once more.",
    "Pull your right knee in.",
    "Hug it close.",
]


@pytest.mark.parametrize(
    ("top", "own"),
    [
        ("repeat_instructions: full", ""),
        ("", "    repeat_instructions: full"),
        ("repeat_instructions: brief", "    repeat_instructions: full"),
    ],
    ids=["script", "exercise", "exercise-overrides-script"],
)
def test_repeat_instructions_full_speaks_the_whole_text_every_time(top: str, own: str) -> None:
    assert spoken(exercise(top=top, own=own)) == FULL_EVERY_TIME


def test_an_exercise_can_ask_for_brief_repeats_against_the_script() -> None:
    text = exercise(top="repeat_instructions: full", own="    repeat_instructions: brief")
    assert spoken(text) == spoken(exercise())


def test_brief_verbosity_uses_the_brief_text_throughout() -> None:
    assert spoken(exercise(top="verbosity: brief")) == [
        "Left side.",
        "Hug your left knee.",
        "Hug your left knee.",
        "Switch sides.",
        "Right side.",
        "Hug your right knee.",
        "Hug your right knee.",
    ]
    # With no brief text: the say text once, then the short line.
    assert spoken(exercise(top="verbosity: brief", brief=False))[3:] == [
        "Again, left side.",
        "Switch sides.",
        "Right side.",
        "Again, right side.",
        "Again, right side.",
    ]


def test_cues_verbosity_speaks_no_instruction_and_no_short_line() -> None:
    assert spoken(exercise(top="verbosity: cues", brief=False)) == ["Left side.", "Right side."]


@pytest.mark.parametrize(
    ("language", "left", "right"),
    [
        ("de", "Noch einmal, linke Seite.", "Noch einmal, rechte Seite."),
        ("es", "Otra vez, lado izquierdo.", "Otra vez, lado derecho."),
        ("fr", "Encore une fois, côté gauche.", "Encore une fois, côté droit."),
    ],
)
def test_the_short_line_is_translated(language: str, left: str, right: str) -> None:
    said = spoken(exercise(brief=False, language=language))
    assert said[3] == left
    assert said[-2:] == [right, right]


def test_four_tellings_of_ten_seconds_become_one() -> None:
    # The case: reps 2, sides both; the full text was spoken four times.
    said = spoken(exercise())
    assert said.count("Pull your left knee in.") + said.count("Pull your right knee in.") == 1


@pytest.mark.parametrize(
    ("where", "text", "field"),
    [
        ("top", "repeat_instructions: always\n", "repeat_instructions"),
        ("exercise", "    repeat_instructions: yes\n", "steps[0].repeat_instructions"),
    ],
)
def test_a_bad_value_is_one_line_naming_the_field(where: str, text: str, field: str) -> None:
    script = exercise(
        top=text.strip() if where == "top" else "", own=text.rstrip() if where == "exercise" else ""
    )
    with pytest.raises(ScriptError) as info:
        parse_script(script, "levels.yaml")
    message = str(info.value)
    assert info.value.field == field
    assert "expected one of brief, full" in message
    assert message.startswith("levels.yaml:")
    assert "\n" not in message
