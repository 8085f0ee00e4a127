"""The timing contract (shared/spec/script-format.md), rule by rule, in samples."""

from __future__ import annotations

import textwrap

import pytest

from voiceguide.core.model import Event, Timeline
from voiceguide.core.phrases import ENGLISH
from voiceguide.core.plan import (
    POSITION_GAP_S,
    SENTENCE_GAP_S,
    STEP_GAP_S,
    plan,
    split_sentences,
    spoken_phrases,
)
from voiceguide.core.script import parse_script
from voiceguide.errors import ScriptError

RATE = 44100
TONES = {
    "inhale": 26460,
    "exhale": 26460,
    "hold": 22050,
    "end_of_hold": 19845,
    "switch_sides": 35280,
    "chime": 66150,
    "bell": 110250,
    "tick": 2205,
}


def speech_length(text: str) -> int:
    return round(0.06 * len(text) * RATE)


def make(yaml_text: str, lengths: dict[str, int] | None = None) -> Timeline:
    session = parse_script(textwrap.dedent(yaml_text), "t.yaml")
    phrases = spoken_phrases(session)
    table = {p: speech_length(p) for p in phrases}
    table.update(lengths or {})
    return plan(session, table, TONES, RATE)


def s(seconds: float) -> int:
    return round(seconds * RATE)


def sounds(t: Timeline) -> list[Event]:
    return [e for e in t.events if e.kind in ("speech", "tone")]


def speech(t: Timeline, text: str) -> list[Event]:
    return [e for e in t.events if e.kind == "speech" and e.text == text]


def assert_tiles(t: Timeline) -> None:
    flat = sorted(
        (e for e in t.events if e.kind in ("speech", "silence", "tone")),
        key=lambda e: e.start_sample,
    )
    cursor = 0
    for event in flat:
        assert event.start_sample == cursor, event
        assert event.end_sample > event.start_sample
        cursor = event.end_sample
    assert cursor == t.duration_samples


SPEC_EXAMPLE = """
title: Back spasm relief
steps:
  - say: Lie on your back on the floor, knees bent, feet flat.
  - pause: 5s
  - exercise: Single knee to chest
    sides: both
    reps: 2
    say: Slowly pull your {side} knee into your chest and hug it. Let your lower back rest flat on the floor.
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
"""


def test_spec_example_tiles_and_never_overlaps() -> None:
    t = make(SPEC_EXAMPLE)
    assert_tiles(t)
    assert t.events[0].start_sample == 0


def test_first_sound_starts_at_zero_and_session_ends_at_last_sound() -> None:
    t = make("title: x\nsteps:\n  - say: Hello there.\n  - say: Bye.\n")
    assert sounds(t)[0].start_sample == 0
    assert sounds(t)[-1].end_sample == t.duration_samples


# Rule 1: a phrase is placed at its trimmed length.
def test_speech_event_has_the_clip_length() -> None:
    t = make("title: x\nsteps:\n  - say: Hello.\n", {"Hello.": 12345})
    assert speech(t, "Hello.")[0].length_samples == 12345
    assert t.duration_samples == 12345


# Rule 2: automatic gaps, pace, and exact pauses.
def test_sentence_gap_inside_a_step_and_step_gap_between_steps() -> None:
    t = make("title: x\nsteps:\n  - say: One. Two.\n  - say: Three.\n")
    one, two, three = (speech(t, w)[0] for w in ("One.", "Two.", "Three."))
    assert two.start_sample - one.end_sample == s(SENTENCE_GAP_S)
    assert three.start_sample - two.end_sample == s(STEP_GAP_S)
    assert s(SENTENCE_GAP_S) < s(STEP_GAP_S)


@pytest.mark.parametrize("pace", [0.5, 1.5, 2.0])
def test_pace_scales_automatic_gaps(pace: float) -> None:
    t = make(f"title: x\npace: {pace}\nsteps:\n  - say: One. Two.\n  - say: Three.\n")
    one, two, three = (speech(t, w)[0] for w in ("One.", "Two.", "Three."))
    assert two.start_sample - one.end_sample == s(SENTENCE_GAP_S * pace)
    assert three.start_sample - two.end_sample == s(STEP_GAP_S * pace)


@pytest.mark.parametrize("pace", [0.5, 1.0, 2.0])
def test_pause_is_exact_and_adds_no_automatic_gap(pace: float) -> None:
    t = make(f"title: x\npace: {pace}\nsteps:\n  - say: One.\n  - pause: 2.5s\n  - say: Two.\n")
    one, two = speech(t, "One.")[0], speech(t, "Two.")[0]
    assert two.start_sample - one.end_sample == s(2.5)
    silences = [e for e in t.events if e.kind == "silence"]
    assert [(e.length_samples, e.step, e.cue) for e in silences] == [(s(2.5), 1, "pause")]


def test_consecutive_pauses_add_up_and_a_leading_pause_delays_the_first_sound() -> None:
    t = make(
        "title: x\nsteps:\n  - pause: 500ms\n  - say: One.\n  - pause: 1s\n"
        "  - pause: 1m\n  - say: Two.\n  - pause: 3\n"
    )
    one, two = speech(t, "One.")[0], speech(t, "Two.")[0]
    assert one.start_sample == s(0.5)
    assert two.start_sample - one.end_sample == s(61)
    assert t.duration_samples == two.end_sample + s(3)


def test_rest_is_exact_silence_after_each_rep() -> None:
    t = make(
        "title: x\nsteps:\n  - exercise: Lift\n    reps: 2\n    say: Lift.\n"
        "    release: Lower.\n    rest: 7s\n  - say: Done.\n"
    )
    lowers = speech(t, "Lower.")
    assert speech(t, "Once more.")[0].start_sample - lowers[0].end_sample == s(7)
    assert speech(t, "Done.")[0].start_sample - lowers[1].end_sample == s(7)


# Rule 3: holds.
HOLD = """
title: x
steps:
  - exercise: Knee hug
    say: Hug your knee.
    hold: {hold}
    breathe: relax
    release: Let go.
"""


@pytest.mark.parametrize("hold", ["30s", "17.3s", "45", "1m30s"])
def test_hold_starts_at_instruction_end_and_ends_at_release_start(hold: str) -> None:
    from voiceguide.core.durations import parse_duration_text

    t = make(HOLD.format(hold=hold))
    (h,) = [e for e in t.events if e.kind == "hold"]
    assert h.start_sample == speech(t, "Hug your knee.")[0].end_sample
    assert h.end_sample == speech(t, "Let go.")[0].start_sample
    assert h.length_samples == s(parse_duration_text(hold) or 0)
    assert_tiles(t)


def test_hold_in_breaths_is_exactly_n_pattern_lengths() -> None:
    t = make(HOLD.format(hold="5 breaths").replace("relax", "box"))
    (h,) = [e for e in t.events if e.kind == "hold"]
    assert h.length_samples == s(5 * 16)
    breaths = [e for e in t.events if e.kind == "breath"]
    assert len(breaths) == 5 * 4
    assert breaths[0].start_sample == h.start_sample
    assert breaths[-1].end_sample == h.end_sample


def test_hold_in_breaths_without_pattern_uses_relax() -> None:
    t = make(HOLD.format(hold="3 breaths").replace("    breathe: relax\n", ""))
    (h,) = [e for e in t.events if e.kind == "hold"]
    assert h.length_samples == s(3 * 10)


def test_cues_lie_inside_the_hold_and_never_lengthen_it() -> None:
    t = make(HOLD.format(hold="30s"))
    (h,) = [e for e in t.events if e.kind == "hold"]
    inside = [e for e in sounds(t) if h.start_sample <= e.start_sample < h.end_sample]
    assert {e.cue for e in inside if e.kind == "tone"} >= {"inhale", "exhale", "end_of_hold"}
    assert all(e.end_sample <= h.end_sample for e in inside)
    end_tone = next(e for e in inside if e.cue == "end_of_hold")
    assert end_tone.end_sample == h.end_sample


def test_breathing_cues_start_on_each_phase() -> None:
    t = make(HOLD.format(hold="30s"))
    phases = [e for e in t.events if e.kind == "breath"]
    assert [p.cue for p in phases] == ["inhale", "exhale"] * 3
    starts = {e.start_sample for e in sounds(t)}
    for phase in phases:
        assert phase.start_sample in starts
    first, second = phases[0], phases[1]
    assert speech(t, ENGLISH["inhale"])[0].start_sample == first.start_sample
    assert speech(t, ENGLISH["exhale"])[0].start_sample == second.start_sample


def test_a_cue_that_does_not_fit_becomes_a_tone_and_check_says_so() -> None:
    t = make(HOLD.format(hold="30s"), {ENGLISH["inhale"]: s(3.99)})
    (inhale,) = [e for e in t.events if e.kind == "breath"][:1]
    first = next(e for e in sounds(t) if e.start_sample == inhale.start_sample)
    assert first.kind == "tone" and first.cue == "inhale"
    assert any("replaced by a tone" in note for note in t.notes)
    assert_tiles(t)


def test_a_cue_with_no_room_is_left_out_and_noted() -> None:
    t = make(HOLD.format(hold="4s").replace("relax", "{in: 0.5, out: 0.5}"))
    assert any("left out" in note for note in t.notes)
    assert_tiles(t)


# Rule 4: the final countdown.
@pytest.mark.parametrize("count", [3, 5, 1])
def test_countdown_starts_exactly_n_seconds_before_the_end(count: int) -> None:
    t = make(f"title: x\ncountdown: {count}\n" + HOLD.format(hold="40s").split("\n", 2)[2])
    (h,) = [e for e in t.events if e.kind == "hold"]
    for number in range(1, count + 1):
        (spoken,) = speech(t, str(number))
        assert spoken.start_sample == h.end_sample - number * RATE
    assert not speech(t, str(count + 1))


def test_countdown_zero_turns_it_off_and_exercise_level_overrides() -> None:
    t = make(HOLD.format(hold="30s") + "    countdown: 0\n")
    assert not any(e.text in ("1", "2", "3") for e in sounds(t))


def test_countdown_number_too_long_becomes_a_tick() -> None:
    t = make(HOLD.format(hold="30s"), {"1": s(0.8)})
    (h,) = [e for e in t.events if e.kind == "hold"]
    at_one = [e for e in sounds(t) if e.start_sample == h.end_sample - RATE]
    assert at_one[0].kind == "tone" and at_one[0].cue == "tick"
    assert any("countdown '1'" in n for n in t.notes)


# Rule 5: both sides.
SIDES = """
title: x
steps:
  - exercise: Knee hug
    sides: both
    reps: {reps}
    say: Hug your {{side}} knee, not the {{other_side}} one.
    hold: 20s
    release: Lower the {{side}} foot.
"""


@pytest.mark.parametrize("reps", [1, 3])
def test_both_sides_left_then_switch_then_right_with_identical_holds(reps: int) -> None:
    t = make(SIDES.format(reps=reps))
    texts = [e.text or e.cue for e in sounds(t)]
    left = texts.index("Left side.")
    switch = texts.index("switch_sides")
    right = texts.index("Right side.")
    assert texts[0] == "Knee hug"
    assert left < switch < right
    assert texts[switch + 1] == "Switch sides."
    assert "Hug your left knee, not the right one." in texts[left:switch]
    # Without a brief text, later sides are cued by the short built-in line.
    assert "Again, right side." in texts[right:]
    holds = [e for e in t.events if e.kind == "hold"]
    assert len(holds) == 2 * reps
    assert len({h.length_samples for h in holds}) == 1
    said = speech(t, "Switch sides.")[0]
    assert speech(t, "Right side.")[0].start_sample - said.end_sample == s(POSITION_GAP_S)


def test_each_side_is_a_chapter_and_chapters_tile_the_session() -> None:
    t = make("title: x\nsteps:\n  - say: Welcome.\n" + SIDES.format(reps=1).split("steps:\n")[1])
    assert [c.title for c in t.chapters] == ["Introduction", "Knee hug (left)", "Knee hug (right)"]
    assert t.chapters[0].start_sample == 0
    assert t.chapters[-1].end_sample == t.duration_samples
    for a, b in zip(t.chapters, t.chapters[1:], strict=False):
        assert a.end_sample == b.start_sample
    switch = next(e for e in sounds(t) if e.cue == "switch_sides")
    assert t.chapters[2].start_sample == switch.start_sample
    assert t.chapters[1].start_sample == speech(t, "Knee hug")[0].start_sample


LEAD_INS = """
title: x
steps:
  - say: Welcome.
  - exercise: Knee hug
    sides: both
    hold: 5s
    release: Let go.
    rest: 3s
  - say: Rest a moment.
  - pause: 4s
  - say: Next, both knees.
  - exercise: Both knees
    hold: 5s
    release: Lower them.
  - pause: 2s
  - sound: bell
  - breathe: box
    cycles: 1
  - say: That is all.
  - sound: chime
"""


def chapter_starts(t: Timeline) -> list[tuple[str, int]]:
    return [(c.title, c.start_sample) for c in t.chapters]


def test_lead_in_lines_open_the_chapter_they_lead_into() -> None:
    t = make(LEAD_INS)
    bell = next(e for e in sounds(t) if e.cue == "bell")
    chime = next(e for e in sounds(t) if e.cue == "chime")
    assert chapter_starts(t) == [
        ("Introduction", 0),
        ("Knee hug (left)", speech(t, "Knee hug")[0].start_sample),
        ("Knee hug (right)", next(e for e in sounds(t) if e.cue == "switch_sides").start_sample),
        # The first sound after the last rest, and the pause between the lines, are its lead-in.
        ("Both knees", speech(t, "Rest a moment.")[0].start_sample),
        # A pause right after an exercise stays in the silence that ends its chapter.
        ("Box breathing", bell.start_sample),
        ("Closing", speech(t, "That is all.")[0].start_sample),
    ]
    assert [c.kind for c in t.chapters] == [
        "introduction",
        "exercise",
        "exercise",
        "exercise",
        "exercise",
        "closing",
    ]
    assert t.chapters[-1].end_sample == t.duration_samples == chime.end_sample
    for a, b in zip(t.chapters, t.chapters[1:], strict=False):
        assert a.end_sample == b.start_sample
    # The rest after the last rep still belongs to the exercise it follows.
    rest = [e for e in t.events if e.cue == "rest"][-1]
    assert rest.end_sample <= t.chapters[3].start_sample


def test_a_say_step_with_chapter_starts_a_named_chapter_there() -> None:
    text = LEAD_INS.replace(
        "  - say: Next, both knees.", "  - say: Next, both knees.\n    chapter: Both knees, slowly"
    ).replace("  - say: Welcome.", "  - say: Welcome.\n    chapter: Settling in")
    t = make(text)
    starts = chapter_starts(t)
    assert starts[0] == ("Settling in", 0)
    # The named chapter starts at its own line: the lines before it stay with the
    # exercise they follow, and the exercise after it starts at its name.
    assert starts[3] == ("Both knees, slowly", speech(t, "Next, both knees.")[0].start_sample)
    assert starts[4] == ("Both knees", speech(t, "Both knees")[0].start_sample)
    assert [c.kind for c in t.chapters][:5] == [
        "named",
        "exercise",
        "exercise",
        "named",
        "exercise",
    ]


def test_a_named_chapter_in_a_repeat_block_counts_its_rounds() -> None:
    t = make(
        """
        title: x
        steps:
          - repeat: 2
            steps:
              - say: Round {rep}.
                chapter: Set {rep}
              - exercise: Squat
                hold: 5s
          - say: Done.
        """
    )
    assert [c.title for c in t.chapters] == [
        "Set 1, round 1 of 2",
        "Squat, round 1 of 2",
        "Set 2, round 2 of 2",
        "Squat, round 2 of 2",
        "Closing",
    ]


def test_in_cues_verbosity_the_sounds_between_exercises_still_lead_in() -> None:
    t = make(LEAD_INS.replace("title: x", "title: x\nverbosity: cues"))
    assert [c.title for c in t.chapters] == [
        "Knee hug (left)",
        "Knee hug (right)",
        "Both knees",
        "Box breathing",
    ]
    bell = next(e for e in sounds(t) if e.cue == "bell")
    assert t.chapters[-1].start_sample == bell.start_sample
    # Nothing is said after the last exercise: the closing chime ends its chapter.
    chime = next(e for e in sounds(t) if e.cue == "chime")
    assert t.chapters[-1].end_sample == chime.end_sample == t.duration_samples


def test_single_side_is_announced() -> None:
    t = make(SIDES.format(reps=1).replace("sides: both", "sides: right"))
    texts = [e.text for e in sounds(t)]
    assert texts[:2] == ["Knee hug", "Right side."]
    assert "Left side." not in texts


# Rule 6: breathe steps.
@pytest.mark.parametrize(
    ("pattern", "cycles", "phases"),
    [
        ("box", 2, [4, 4, 4, 4]),
        ("4-7-8", 3, [4, 7, 8]),
        ("coherent", 2, [5.5, 5.5]),
        ("relax", 1, [4, 6]),
        ("{in: 3, hold: 0, out: 2.5, hold_out: 1}", 2, [3, 2.5, 1]),
    ],
)
def test_breathe_step_phases_start_on_schedule(pattern: str, cycles: int, phases: list) -> None:
    t = make(f"title: x\nsteps:\n  - breathe: {pattern}\n    cycles: {cycles}\n  - say: Done.\n")
    breaths = [e for e in t.events if e.kind == "breath"]
    start = breaths[0].start_sample
    expected, offset = [], 0.0
    for _ in range(cycles):
        for length in phases:
            expected.append((start + s(offset), start + s(offset + length)))
            offset += length
    assert [(b.start_sample, b.end_sample) for b in breaths] == expected
    starts = {e.start_sample for e in sounds(t)}
    assert all(b.start_sample in starts for b in breaths)
    assert_tiles(t)


def test_breathe_for_ends_with_a_shortened_cycle() -> None:
    t = make("title: x\nsteps:\n  - breathe: relax\n    for: 25s\n")
    breaths = [e for e in t.events if e.kind == "breath"]
    assert breaths[-1].end_sample - breaths[0].start_sample == s(25)
    assert [b.cue for b in breaths] == ["inhale", "exhale"] * 3
    assert breaths[-1].length_samples == s(1)
    assert t.duration_samples == breaths[-1].end_sample


# Rule 8: named before it starts; each side announced; chapters.
def test_every_exercise_is_named_before_its_first_instruction() -> None:
    t = make(SPEC_EXAMPLE)
    first_hold = next(e for e in t.events if e.kind == "hold")
    name = speech(t, "Single knee to chest")[0]
    assert name.end_sample <= first_hold.start_sample
    assert speech(
        t,
        "Box breathing: breathe in for 4 counts, hold for 4 counts, breathe out for 4 counts, hold for 4 counts.",
    )


def test_cues_verbosity_keeps_names_sides_tones_and_countdown() -> None:
    t = make(SPEC_EXAMPLE.replace("title: Back spasm relief", "title: x\nverbosity: cues"))
    texts = {e.text for e in sounds(t) if e.kind == "speech"}
    assert {"Single knee to chest", "Left side.", "Right side.", "3", "2", "1"} <= texts
    assert not any(text and "knee into your chest" in text for text in texts)
    assert "Well done." not in texts
    assert_tiles(t)


def test_brief_verbosity_uses_brief_text() -> None:
    t = make(SPEC_EXAMPLE.replace("title: Back spasm relief", "title: x\nverbosity: brief"))
    assert speech(t, "Hug your left knee.")
    assert not speech(t, "Slowly pull your left knee into your chest and hug it.")
    assert not speech(t, ENGLISH["inhale"])


def test_repeat_runs_steps_n_times_with_rep_placeholders() -> None:
    t = make("title: x\nsteps:\n  - repeat: 3\n    steps:\n      - say: Round {rep} of {reps}.\n")
    assert [e.text for e in sounds(t)] == ["Round 1 of 3.", "Round 2 of 3.", "Round 3 of 3."]


def test_literal_braces() -> None:
    t = make("title: x\nsteps:\n  - say: Use {{braces}}.\n")
    assert speech(t, "Use {braces}.")


def test_events_carry_their_top_level_step() -> None:
    t = make(SPEC_EXAMPLE)
    assert speech(t, "Lie on your back on the floor, knees bent, feet flat.")[0].step == 0
    assert {e.step for e in t.events if e.kind == "hold"} == {2}
    assert {e.step for e in speech(t, "Rock gently from side to side.")} == {5}


def test_session_over_four_hours_is_refused_after_planning() -> None:
    from voiceguide.errors import ScriptError

    long_text = "word " * 300
    body = "title: x\nsteps:\n  - repeat: 100\n    steps:\n      - say: " + long_text + "\n"
    with pytest.raises(ScriptError, match="hours"):
        make(body, {long_text.strip(): s(200)})


def test_split_sentences() -> None:
    assert split_sentences("One. Two! Three? Four… five") == [
        "One.",
        "Two!",
        "Three?",
        "Four…",
        "five",
    ]
    assert split_sentences("3.5 seconds.") == ["3.5 seconds."]


def test_spoken_phrases_lists_every_spoken_text() -> None:
    session = parse_script(SPEC_EXAMPLE, "t.yaml")
    phrases = spoken_phrases(session)
    t = make(SPEC_EXAMPLE)
    assert {e.text for e in sounds(t) if e.kind == "speech"} <= set(phrases)
    assert len(phrases) == len(set(phrases))


@pytest.mark.parametrize("verbosity", ["full", "brief"])
def test_a_session_of_text_with_nothing_to_pronounce_is_refused_naming_the_text(
    verbosity: str,
) -> None:
    with pytest.raises(ScriptError) as caught:
        make(f"title: x\nverbosity: {verbosity}\nsteps:\n  - say: '...'\n  - say: '?!'\n")
    assert caught.value.field == "steps[0]" and caught.value.line == 4
    assert "nothing here makes a sound (the text has nothing to pronounce)" in str(caught.value)
    assert "verbosity" not in str(caught.value)


def test_a_session_with_nothing_to_play_is_refused_naming_verbosity() -> None:
    with pytest.raises(ScriptError, match="nothing is left to play") as caught:
        make("title: x\nverbosity: cues\nsteps:\n  - say: Only words.\n  - say: More words.\n")
    assert caught.value.field == "verbosity" and caught.value.line == 4
    # A sound or a pause is something to play.
    assert make(
        "title: x\nverbosity: cues\nsteps:\n  - say: Words.\n  - sound: bell\n"
    ).duration_samples
