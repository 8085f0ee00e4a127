"""Realistic long exercise scripts for the benchmarks, generated from code.

A real routine reuses a few dozen phrases: the same exercises, the same
instructions and the same breathing cues come back round after round. The
scripts here are built the same way: an introduction, a 13-minute circuit
of stretches, holds, breathing and rests run ``rounds`` times in a ``repeat``
block, and a cool-down. ``rounds=2`` gives about 30 minutes, ``rounds=9``
about two hours; ``voiceguide check --json`` tells the exact planned length.

``session-2h-many`` is the other kind of long script: about two hours in
which nearly every sentence is new (297 of 300 generated relaxation
sentences, each followed by a pause, and a few holds with breathing: about
330 distinct phrases), so what a session costs per distinct phrase shows,
not only per minute.

The scripts say ``engine: auto`` (piper where its voice is installed, else
espeak); the benchmarks pass ``--engine`` explicitly.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

Step = dict[str, Any]

INTRO: list[Step] = [
    {"say": "Welcome. This is a long, gentle session for a stiff back and tight hips."},
    {
        "say": "Move slowly, breathe through your nose, and stop any exercise that hurts. "
        "Keep some water close by."
    },
    {"say": "Find a quiet spot with room to lie down, and put a mat or a blanket on the floor."},
    {"pause": "8s"},
    {"say": "Sit comfortably and let your shoulders drop. First, let the breath settle."},
    {"breathe": "relax", "cycles": 3},
]

CIRCUIT: list[Step] = [
    {"say": "Round {rep} of {reps}. Come onto your hands and knees."},
    {"pause": "5s"},
    {
        "exercise": "Cat and cow",
        "reps": 3,
        "say": "Breathe in and let your belly sink. Breathe out and round your back up.",
        "brief": "Belly down, then round up.",
        "hold": "4s",
        "release": "Back to a flat back.",
        "rest": "2s",
        "countdown": 0,
    },
    {
        "exercise": "Thread the needle",
        "sides": "both",
        "say": "Slide your {side} arm under your body, palm up, and rest your shoulder down.",
        "brief": "{side} arm under.",
        "hold": "30s",
        "breathe": "relax",
        "release": "Come back up to your hands and knees.",
        "rest": "5s",
    },
    {"say": "Sit back onto your heels and stretch your arms forward."},
    {
        "exercise": "Child's pose",
        "say": "Rest your forehead on the floor. Let your back grow long and heavy.",
        "brief": "Forehead down, back long.",
        "hold": "4 breaths",
        "breathe": "relax",
        "release": "Walk your hands back and sit up slowly.",
    },
    {"pause": "10s"},
    {"say": "Now lie down on your back, knees bent, feet flat on the floor."},
    {"pause": "8s"},
    {"breathe": "coherent", "cycles": 3},
    {
        "exercise": "Glute bridge",
        "reps": 3,
        "say": "Bridge {rep} of {reps}. Press through your heels and lift your hips.",
        "brief": "Bridge {rep}. Hips up.",
        "hold": "3 breaths",
        "breathe": {"in": 3, "out": 4},
        "release": "Roll your back down slowly.",
        "rest": "4s",
    },
    {
        "exercise": "Figure four stretch",
        "sides": "both",
        "say": "Cross your {side} ankle over your {other_side} knee. "
        "Draw both legs in toward your chest.",
        "brief": "{side} ankle over the knee.",
        "hold": "40s",
        "breathe": "4-7-8",
        "release": "Uncross your legs and set your feet down.",
        "rest": "6s",
    },
    {
        "exercise": "Knee rolls",
        "sides": "both",
        "reps": 2,
        "say": "Let both knees fall slowly to the {side}. Keep your shoulders on the floor.",
        "brief": "Knees to the {side}.",
        "hold": "15s",
        "release": "Bring your knees back to the middle.",
        "rest": "3s",
        "countdown": 2,
    },
    {"say": "Roll onto your side and come up to sitting."},
    {"pause": "6s"},
    {
        "exercise": "Seated side bend",
        "sides": "both",
        "say": "Reach your {other_side} arm up and over, and lean gently to the {side}.",
        "brief": "Lean to the {side}.",
        "hold": "20s",
        "breathe": "box",
        "release": "Come back to the middle.",
        "rest": "3s",
    },
    {"say": "Now a short breathing break. Close your eyes if you like."},
    {"breathe": "box", "cycles": 2},
    {"say": "Take a sip of water if you need one."},
    {"pause": "20s"},
    {"sound": "tick"},
]


def outro(cooldown: str) -> list[Step]:
    return [
        {"say": "That was the last round. Lie down on your back for a final rest."},
        {"pause": "10s"},
        {"breathe": "coherent", "for": cooldown},
        {"say": "Let your whole body grow heavy and still."},
        {"pause": "30s"},
        {"say": "A few last slow breaths, with a long breath out."},
        {"breathe": "relax", "cycles": 4},
        {"pause": "30s"},
        {"say": "Well done. Roll onto your side and get up slowly when you are ready."},
        {"sound": "chime"},
    ]


def session(rounds: int, cooldown: str, title: str) -> dict[str, Any]:
    """The script as data: introduction, ``rounds`` circuits, a cool-down with
    ``cooldown`` (a duration) of even breathing."""
    return {
        "title": title,
        "description": f"A benchmark session: {rounds} rounds of a stretching circuit.",
        "language": "en",
        "voice": {"engine": "auto", "rate": 150},
        "pace": 1.0,
        "verbosity": "full",
        "countdown": 3,
        "steps": [*INTRO, {"repeat": rounds, "steps": CIRCUIT}, *outro(cooldown)],
    }


# Name → (rounds, cool-down breathing); the names are the scripts' file stems.
SESSIONS: dict[str, tuple[int, str]] = {
    "session-30min": (2, "2m"),
    "session-2h": (9, "7m30s"),
}

PARTS = (
    "neck", "jaw", "forehead", "chest", "belly", "spine", "upper back", "lower back",
    "left shoulder", "right shoulder", "left hip", "right hip", "left wrist", "right wrist",
    "left hamstring", "right hamstring", "left calf", "right calf", "left foot", "right foot",
)  # fmt: skip
ACTIONS = (
    "let your {part} grow soft and heavy",
    "notice any tension in your {part} and breathe into it",
    "move your {part} in a small, slow circle",
    "lengthen through your {part} without forcing anything",
    "relax your {part} a little more with every breath out",
)
ENDINGS = ("", " Keep your breath slow and even.", " Stay with this for a moment.")
OPENERS = ("Now", "Slowly", "Gently", "Without hurrying", "When you are ready")
# Sentences per round of the many-phrase session, and its rounds.
MANY_PER_ROUND = 33
MANY_ROUNDS = 9


def many_sentences() -> list[str]:
    """300 distinct sentences (every part × action × ending), in a mixed order."""
    found = []
    for i, (ending, action, part) in enumerate(
        (e, a, p) for e in ENDINGS for a in ACTIONS for p in PARTS
    ):
        # Each ending has its own opener for a part and action: no first sentence twice.
        opener = OPENERS[(i + i // (len(ACTIONS) * len(PARTS))) % len(OPENERS)]
        found.append(f"{opener}, {action.format(part=part)}.{ending}")
    step = 7  # coprime with 300: every sentence once, neighbours far apart
    return [found[(i * step) % len(found)] for i in range(len(found))]


def many_phrases_session() -> dict[str, Any]:
    """About two hours where nearly every sentence is said once."""
    sentences = many_sentences()
    steps: list[Step] = []
    for r in range(MANY_ROUNDS):
        steps.append(
            {"say": f"Round {r + 1} of {MANY_ROUNDS}. Settle into a comfortable position."}
        )
        for k in range(MANY_PER_ROUND):
            steps.append({"say": sentences[r * MANY_PER_ROUND + k]})
            steps.append({"pause": "13s"})
            if k % 11 == 10:
                steps.append(dict(CIRCUIT[5]))  # child's pose: a hold with breathing cues
    return {
        "title": "Benchmark relaxation session (many phrases)",
        "description": "A benchmark session in which nearly every sentence is new.",
        "language": "en",
        "voice": {"engine": "auto", "rate": 150},
        "pace": 1.0,
        "verbosity": "full",
        "countdown": 3,
        "steps": [*INTRO, *steps, *outro("2m")],
    }


def write_sessions(folder: Path) -> dict[str, Path]:
    """Writes every benchmark script into ``folder``; returns name → path."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, (rounds, cooldown) in SESSIONS.items():
        path = folder / f"{name}.yaml"
        title = f"Benchmark stretch session ({rounds} rounds)"
        text = yaml.safe_dump(session(rounds, cooldown, title), sort_keys=False, width=100)
        path.write_text(text, encoding="utf-8")
        paths[name] = path
    path = folder / "session-2h-many.yaml"
    text = yaml.safe_dump(many_phrases_session(), sort_keys=False, width=100)
    path.write_text(text, encoding="utf-8")
    paths["session-2h-many"] = path
    return paths


if __name__ == "__main__":
    import sys

    for written in write_sessions(Path(sys.argv[1] if len(sys.argv) > 1 else ".")).values():
        print(written)
