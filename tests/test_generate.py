"""`voiceguide new`: generated scripts pass check, keep the length, the avoided
tags, the sides and the positions, and come out the same for the same seed."""

from __future__ import annotations

import itertools
import json
import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from cli_helpers import run_cli

from voiceguide import pipeline
from voiceguide.core.generate import MAX_MINUTES, MIN_MINUTES, Request, generate
from voiceguide.core.library import GOALS, POSITION_CHOICES, POSITIONS, TAGS, Library
from voiceguide.core.model import Exercise, Say
from voiceguide.core.script import parse_script
from voiceguide.errors import UsageError

TEST_VOICE = pipeline.VoiceOptions(engine="test", use_cache=False)
SEEDS_PER_GOAL = 40  # 200 seeds over the five goals
LENGTHS_MIN = (3, 5, 8, 12, 20, 25)
AVOIDS: tuple[tuple[str, ...], ...] = ((), ("flexion",), ("rotation",), ("extension",), ())
# A comment above each exercise: "# ID: POSITION; TAGS"
EXERCISE_COMMENT = re.compile(r"^  # (?P<id>[a-z0-9-]+): (?P<position>[a-z-]+); (?P<tags>.*)$")


@pytest.fixture(scope="module")
def library() -> Library:
    return pipeline.exercise_library()


@pytest.fixture(scope="module")
def cached_voice(tmp_path_factory: pytest.TempPathFactory) -> pipeline.VoiceOptions:
    """The test voice through a phrase cache of its own: the 200 sessions share
    most phrases, and the cache is what the command line uses too."""
    folder = tmp_path_factory.mktemp("phrases")
    return pipeline.VoiceOptions(engine="test", use_cache=True, cache_dir=folder)


def request_for(goal: str, seed: int) -> Request:
    """A spread of lengths, positions, levels and avoided tags over the seeds."""
    return Request(
        goal=goal,
        minutes=LENGTHS_MIN[seed % len(LENGTHS_MIN)],
        position=("any", "floor", "any", "lying")[seed % 4] if seed % 3 else "any",
        avoid=AVOIDS[seed % len(AVOIDS)],
        level=1 + seed % 3,
        seed=seed,
        language=("en", "de", "es", "fr")[seed % 4],
    )


def exercises_in(text: str, library: Library) -> list[tuple[str, str]]:
    """(id, position) of each exercise, read from the script's text alone."""
    found = []
    for line in text.splitlines():
        match = EXERCISE_COMMENT.match(line)
        if match:
            found.append((match["id"], match["position"]))
    return found


def never_goes_back(positions: list[str]) -> bool:
    ranks = [POSITIONS.index(p) for p in positions]
    return ranks == sorted(ranks)


@pytest.mark.parametrize("goal", GOALS)
def test_generated_sessions_hold_every_promise(
    goal: str, library: Library, cached_voice: pipeline.VoiceOptions
) -> None:
    texts = []
    for seed in range(SEEDS_PER_GOAL * GOALS.index(goal), SEEDS_PER_GOAL * (GOALS.index(goal) + 1)):
        request = request_for(goal, seed)
        made = pipeline.generate_session(request, cached_voice, library)
        text = made.text
        texts.append(text)
        where = f"seed {seed}: {request}"
        # It passes check: it parses, and is planned afresh here.
        session = pipeline.with_voice_options(parse_script(text, where), cached_voice)
        timeline = pipeline.prepare_session(session, cached_voice, analyse_clips=False).timeline
        assert abs(timeline.duration_s - request.target_s) <= 0.05 * request.target_s, where
        # The script names its exercises; each is the library's, and none has an avoided tag.
        found = exercises_in(text, library)
        names = [step.name for step in session.steps if isinstance(step, Exercise)]
        assert len(found) == len(names) >= 3, where
        allowed = POSITION_CHOICES[request.position]
        for (ident, position), name in zip(found, names, strict=True):
            exercise = library.by_id(ident)
            assert exercise.text[request.language].name == name, where
            assert exercise.position == position and position in allowed, where
            assert not set(exercise.tags) & set(request.avoid), where
            assert exercise.intensity <= request.level, where
        # Sides: every sided exercise does both, with the same holds each side.
        assert all(s.sides in ("none", "both") for s in session.steps if isinstance(s, Exercise))
        holds: Counter[str] = Counter()
        for event in timeline.events:
            if event.kind == "hold" and event.side:
                holds[event.side] += event.end_sample - event.start_sample
        assert holds["left"] == holds["right"], where
        # Positions: visited in one direction only (never up again), so at most
        # one change per position.
        positions = [position for _, position in found]
        assert never_goes_back(positions), where
        changes = sum(a != b for a, b in itertools.pairwise(positions))
        assert changes <= len(set(positions)) - 1 <= len(POSITIONS) - 1, where
        # Warm-up, main part, cool-down, and the closing line on when to stop.
        lines = library.lines[request.language]
        said = [step.text for step in session.steps if isinstance(step, Say)]
        assert said.index(lines.warmup) < said.index(lines.main) < said.index(lines.cooldown)
        assert said[-1] == lines.stop, where
    # Different seeds, different sessions.
    assert len(set(texts)) == len(texts)


def test_the_same_seed_gives_the_same_script(library: Library) -> None:
    for seed in (0, 17, 123_456):
        request = Request(goal="mixed", minutes=12, seed=seed, avoid=("rotation",))
        first = pipeline.generate_session(request, TEST_VOICE, library).text
        again = pipeline.generate_session(request, TEST_VOICE, pipeline.exercise_library()).text
        assert first == again
    other = pipeline.generate_session(Request(goal="mixed", minutes=12, seed=1), TEST_VOICE)
    assert other.text != first


def test_the_length_is_the_plans_not_an_estimate(library: Library) -> None:
    # A voice twice as slow makes every phrase longer: the holds are refitted so
    # that the session is still as long as asked, which no estimate would do.
    request = Request(goal="core", minutes=8, seed=5)
    calls: list[str] = []

    def slow(text: str) -> float:
        calls.append(text)
        return 1.3 * pipeline.planned_duration_s(text, TEST_VOICE)

    made = generate(library, request, slow)
    assert abs(slow(made.text) - request.target_s) <= 0.05 * request.target_s
    assert made.text != pipeline.generate_session(request, TEST_VOICE, library).text
    assert len(calls) >= 2


@pytest.mark.parametrize(
    ("request_", "option"),
    [
        (Request(goal="relief", position="standing", minutes=60), "--minutes 60"),
        (Request(goal="yoga", minutes=MAX_MINUTES + 1), "--minutes"),
        (Request(goal="yoga", minutes=MIN_MINUTES - 1), "--minutes"),
        (Request(goal="dance"), "--goal dance"),
        (Request(language="it"), "--language it"),
    ],
)
def test_an_impossible_request_names_its_option(
    request_: Request, option: str, library: Library
) -> None:
    with pytest.raises(UsageError) as caught:
        pipeline.generate_session(request_, TEST_VOICE, library)
    assert option in str(caught.value)
    assert caught.value.exit_status == 2


def test_nothing_left_after_avoid_is_refused_naming_the_options(library: Library) -> None:
    # Every bundled exercise has a tag here, so avoiding them all leaves none.
    tagged = Library(tuple(e for e in library.exercises if e.tags), library.lines)
    with pytest.raises(UsageError) as caught:
        pipeline.generate_session(Request(goal="core", avoid=TAGS), TEST_VOICE, tagged)
    message = str(caught.value)
    assert message.startswith("--goal core: no exercise is left")
    assert all(f"--avoid {tag}" in message for tag in TAGS)


def test_new_writes_the_script_and_says_its_seed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "mine.yaml"
    args = ["new", "--engine", "test", "--goal", "relief", "--minutes", "5", "--position", "floor"]
    code, stdout, _ = run_cli([*args, "--avoid", "flexion,rotation", "-o", str(out)], capsys)
    assert code == 0
    seed = int(re.search(r"seed (\d+)\)", stdout)[1])  # type: ignore[index]
    text = out.read_text(encoding="utf-8")
    assert f"--seed {seed}" in text.splitlines()[0]
    # The seed it printed makes the same session again, here on stdout.
    avoid = ["--avoid", "rotation", "--avoid", "flexion"]
    code, again, err = run_cli([*args, *avoid, "--seed", str(seed)], capsys)
    assert code == 0 and again == text and "seed" not in err
    code, _, _ = run_cli(["check", "--engine", "test", str(out)], capsys)
    assert code == 0
    library = pipeline.exercise_library()
    for ident, position in exercises_in(text, library):
        assert position in POSITION_CHOICES["floor"]
        assert not {"flexion", "rotation"} & set(library.by_id(ident).tags)
    code, _, err = run_cli([*args, "--avoid", "flexion,twisting"], capsys)
    assert code == 2 and "twisting: the tags are flexion" in err


def test_new_refuses_an_impossible_request_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "none.yaml"
    args = ["new", "--engine", "test", "--goal", "core", "--position", "standing"]
    code, _, err = run_cli([*args, "--minutes", "60", "-o", str(out)], capsys)
    assert code == 2
    assert err.startswith("voiceguide: --minutes 60:") and "--position standing" in err
    assert len(err.strip().splitlines()) == 1
    assert not out.exists() and list(tmp_path.iterdir()) == []


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed")
def test_the_same_seed_gives_the_same_script_and_mp3_with_espeak(tmp_path: Path) -> None:
    # As a person would: `new` and `export` run twice, each in a process of its own.
    request = ["--goal", "breathing", "--minutes", "3", "--position", "lying", "--seed", "11"]
    outputs = []
    for name in ("one", "two"):
        # The same names in two folders: the file's name is in its tags.
        folder = tmp_path / name
        folder.mkdir()
        script = folder / "session.yaml"
        voiceguide(["new", *request, "--engine", "espeak", "--no-cache", "-o", str(script)])
        mp3 = folder / "session.mp3"
        voiceguide(["export", str(script), "--engine", "espeak", "--no-cache", "-o", str(mp3)])
        outputs.append((script.read_bytes(), mp3.read_bytes()))
    assert outputs[0][0] == outputs[1][0]
    assert outputs[0][1] == outputs[1][1] and len(outputs[0][1]) > 10_000
    # Fitted with espeak's own phrase lengths: `check` plans it within 5 % of 3 min.
    plan = json.loads(
        voiceguide(
            ["check", "--json", "--engine", "espeak", str(tmp_path / "one" / "session.yaml")]
        )
    )
    assert abs(plan["duration"] - 180) <= 9


def voiceguide(args: list[str]) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "voiceguide", *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=Path(__file__).resolve().parent,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_no_exercise_is_done_twice_in_a_session(
    library: Library, cached_voice: pipeline.VoiceOptions
) -> None:
    # Narrow positions leave few exercises: the warm-up, the cool-down and the
    # fitting all draw on the same ones.
    for seed in range(40):
        goal = GOALS[seed % 5]
        position = ("seated", "standing", "lying", "floor")[seed // 5 % 4]
        request = Request(goal=goal, minutes=(10, 20)[seed % 2], position=position, seed=seed)
        if request.position == "standing" and request.minutes > 15:
            continue  # too few standing exercises for that long
        ids = [
            i.exercise.id for i in pipeline.generate_session(request, cached_voice, library).items
        ]
        assert len(ids) == len(set(ids)), (seed, ids)
