"""Property-based tests: generated scripts keep the timing contract, mutated ones fail cleanly.

``make fuzz`` runs the same properties with many more examples
(``VOICEGUIDE_FUZZ_EXAMPLES``); figures are in docs/reliability.md.
"""

from __future__ import annotations

import os
import random
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import event as note_outcome
from hypothesis import strategies as st

from voiceguide.cli import main
from voiceguide.core.cues import CUE_NAMES, cue_length_samples
from voiceguide.core.durations import parse_duration_text
from voiceguide.core.model import Exercise, Pause, Timeline
from voiceguide.core.patterns import NAMED_PATTERNS
from voiceguide.core.plan import plan, spoken_phrases
from voiceguide.core.script import MAX_ERRORS_SHOWN, parse_script
from voiceguide.errors import ScriptError

RATE = 44100
TONES = {name: cue_length_samples(name, RATE) for name in CUE_NAMES}
EXAMPLES = int(os.environ.get("VOICEGUIDE_FUZZ_EXAMPLES", "60"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

WORDS = ["Breathe", "slowly", "and", "let", "your", "back", "soften", "knee", "rest", "gently"]
sentence = st.lists(st.sampled_from(WORDS), min_size=1, max_size=8).map(
    lambda words: " ".join(words).capitalize() + "."
)
text = st.lists(sentence, min_size=1, max_size=3).map(" ".join)
seconds = st.one_of(
    st.integers(1, 40),
    st.sampled_from(["500ms", "2s", "7.5s", "1m", "1m5s"]),
    st.floats(0.2, 30.0, allow_nan=False).map(lambda x: round(x, 2)),
)
pattern = st.one_of(
    st.sampled_from(sorted(NAMED_PATTERNS)),
    st.fixed_dictionaries(
        {"in": st.integers(1, 6), "out": st.integers(1, 8)},
        optional={"hold": st.integers(0, 4), "hold_out": st.integers(0, 4)},
    ),
)


@st.composite
def exercise(draw: st.DrawFn) -> dict[str, Any]:
    sides = draw(st.sampled_from(["none", "both", "left", "right"]))
    step: dict[str, Any] = {"exercise": draw(st.sampled_from(["Knee hug", "Cat cow", "Bridge"]))}
    if sides != "none":
        step["sides"] = sides
    step["reps"] = draw(st.integers(1, 3))
    say = draw(text)
    step["say"] = say + (" Use your {side} leg." if sides != "none" else "")
    if draw(st.booleans()):
        step["brief"] = draw(sentence)
    hold = draw(st.one_of(st.none(), seconds, st.integers(1, 4).map(lambda n: f"{n} breaths")))
    if hold is not None:
        step["hold"] = hold
        if draw(st.booleans()):
            step["breathe"] = draw(pattern)
    if draw(st.booleans()):
        step["release"] = draw(sentence)
    if draw(st.booleans()):
        step["rest"] = draw(seconds)
    return step


simple_step = st.one_of(
    text.map(lambda t: {"say": t}),
    seconds.map(lambda d: {"pause": d}),
    st.sampled_from(["chime", "bell", "tick"]).map(lambda n: {"sound": n}),
)
breathe_step = st.one_of(
    st.builds(lambda p, n: {"breathe": p, "cycles": n}, pattern, st.integers(1, 3)),
    st.builds(lambda p, d: {"breathe": p, "for": d}, pattern, st.integers(5, 40)),
)
repeat_step = st.builds(
    lambda n, steps: {"repeat": n, "steps": steps},
    st.integers(1, 3),
    st.lists(simple_step, min_size=1, max_size=3),
)
step = st.one_of(simple_step, exercise(), breathe_step, repeat_step)


@st.composite
def script(draw: st.DrawFn) -> dict[str, Any]:
    data: dict[str, Any] = {
        "title": draw(sentence),
        "steps": draw(st.lists(step, min_size=1, max_size=6)),
    }
    if draw(st.booleans()):
        data["pace"] = draw(st.sampled_from([0.5, 0.8, 1.0, 1.5, 2.0]))
    if draw(st.booleans()):
        data["verbosity"] = draw(st.sampled_from(["full", "brief", "cues"]))
    return data


def dump(data: dict[str, Any]) -> str:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def only_words(steps: list[dict[str, Any]]) -> bool:
    """Whether the steps, repeat blocks included, are nothing but spoken text."""
    return all(
        only_words(step["steps"]) if "repeat" in step else set(step) == {"say"} for step in steps
    )


def make_plan(text_yaml: str, seconds_per_char: float) -> tuple[Any, Timeline]:
    session = parse_script(text_yaml, "gen.yaml")
    lengths = {p: max(1, round(seconds_per_char * len(p) * RATE)) for p in spoken_phrases(session)}
    return session, plan(session, lengths, TONES, RATE)


@FUZZ
@given(script(), st.floats(0.02, 0.15))
def test_generated_scripts_keep_the_timing_contract(data: dict[str, Any], per_char: float) -> None:
    if data.get("verbosity") == "cues" and only_words(data["steps"]):
        with pytest.raises(ScriptError, match="nothing is left to play"):
            make_plan(dump(data), per_char)
        return
    session, timeline = make_plan(dump(data), per_char)
    tiling = sorted(
        (e for e in timeline.events if e.kind in ("speech", "silence", "tone")),
        key=lambda e: e.start_sample,
    )
    cursor = 0
    for event in tiling:  # sounds and silences tile the session: no overlap, no hole
        assert event.start_sample == cursor, event
        assert event.end_sample > event.start_sample, event
        cursor = event.end_sample
    assert cursor == timeline.duration_samples
    assert timeline.duration_samples == sum(e.length_samples for e in tiling)

    spans = [e for e in timeline.events if e.kind in ("hold", "breath")]
    for span in spans:  # cues inside a hold or breath never stick out of it
        assert 0 <= span.start_sample < span.end_sample <= timeline.duration_samples
    holds = [e for e in timeline.events if e.kind == "hold"]
    for index, scripted in enumerate(session.steps):
        if isinstance(scripted, Pause):
            pauses = [e for e in tiling if e.step == index and e.cue == "pause"]
            assert [e.length_samples for e in pauses] == [round(scripted.duration_s * RATE)]
        if isinstance(scripted, Exercise) and scripted.hold is not None:
            mine = [e for e in holds if e.step == index]
            sides = 2 if scripted.sides == "both" else 1
            assert len(mine) == sides * scripted.reps
            # Every hold is exactly its scripted length, to the sample.
            expected = round(scripted.hold.duration_s * RATE)
            assert {e.length_samples for e in mine} == {expected}
    for chapter in timeline.chapters:
        assert 0 <= chapter.start_sample < chapter.end_sample <= timeline.duration_samples


def test_generated_hold_lengths_follow_the_script_text() -> None:
    # The property above reads the hold from the parsed session; pin the
    # parser to the text so the two cannot drift together.
    data = {"title": "x", "steps": [{"exercise": "A", "say": "Go.", "hold": "1m5s"}]}
    session, _ = make_plan(dump(data), 0.06)
    (scripted,) = session.steps
    assert isinstance(scripted, Exercise) and scripted.hold is not None
    assert scripted.hold.duration_s == parse_duration_text("1m5s") == 65


MUTATIONS = ("delete", "insert", "duplicate line", "swap lines", "truncate", "retype value")
JUNK = [":", "-", "{", "}", "[", "]", "'", '"', "&a", "*a", "!!python/object", "\t", "0", "-1", "x"]


def mutate(text_yaml: str, rng: random.Random) -> str:
    if not text_yaml:
        return rng.choice(JUNK)
    kind = rng.choice(MUTATIONS)
    lines = text_yaml.splitlines(keepends=True)
    if kind == "delete":
        at = rng.randrange(len(text_yaml))
        return text_yaml[:at] + text_yaml[at + rng.randint(1, 5) :]
    if kind == "insert":
        at = rng.randrange(len(text_yaml) + 1)
        return text_yaml[:at] + rng.choice(JUNK) + text_yaml[at:]
    if kind == "duplicate line":
        at = rng.randrange(len(lines))
        return "".join(lines[: at + 1] + lines[at:])
    if kind == "swap lines" and len(lines) > 1:
        a, b = rng.sample(range(len(lines)), 2)
        lines[a], lines[b] = lines[b], lines[a]
        return "".join(lines)
    if kind == "truncate":
        return text_yaml[: rng.randrange(len(text_yaml))]
    at = rng.randrange(len(lines))
    key, sep, _ = lines[at].partition(": ")
    return "".join([*lines[:at], f"{key}{sep or ': '}{rng.choice(JUNK)}\n", *lines[at + 1 :]])


@FUZZ
@given(script(), st.randoms(use_true_random=False), st.integers(1, 3))
def test_mutated_scripts_are_valid_or_refused_with_a_position(
    data: dict[str, Any], rng: random.Random, rounds: int
) -> None:
    text_yaml = dump(data)
    for _ in range(rounds):
        text_yaml = mutate(text_yaml, rng)
    try:
        make_plan(text_yaml, 0.06)
        note_outcome("mutant still valid")
    except ScriptError as error:
        note_outcome("mutant refused")
        assert error.source == "gen.yaml"
        # One line per independent error, each naming the file.
        lines = str(error).splitlines()
        assert 1 <= len(lines) <= MAX_ERRORS_SHOWN + 1
        assert all(line.startswith("gen.yaml") for line in lines)
        assert "Traceback" not in str(error)


@settings(max_examples=max(10, EXAMPLES // 6), deadline=None)
@given(script(), st.randoms(use_true_random=False))
def test_mutated_scripts_through_the_cli_exit_2_with_file_and_line(
    tmp_path_factory: pytest.TempPathFactory, data: dict[str, Any], rng: random.Random
) -> None:
    folder = tmp_path_factory.mktemp("mutant")
    path = folder / "mutant.yaml"
    out = folder / "mutant.mp3"
    path.write_text(mutate(dump(data), rng), encoding="utf-8")
    capture = _run_cli(["check", "--engine", "test", "--no-cache", str(path)])
    if capture.status == 0:
        note_outcome("mutant still valid")
        return
    note_outcome("mutant refused")
    assert capture.status == 2, capture.stderr
    lines = capture.stderr.strip().splitlines()
    assert 1 <= len(lines) <= MAX_ERRORS_SHOWN + 1, capture.stderr
    assert all(line.startswith(f"voiceguide: {path}") for line in lines), capture.stderr
    assert not out.exists()


class _Captured:
    def __init__(self, status: int, stderr: str) -> None:
        self.status = status
        self.stderr = stderr


def _run_cli(argv: list[str]) -> _Captured:
    import contextlib
    import io

    stderr, stdout = io.StringIO(), io.StringIO()
    status = 0
    with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(stdout):
        try:
            main(argv)
        except SystemExit as exit_:
            status = int(exit_.code or 0)
    return _Captured(status, stderr.getvalue())
