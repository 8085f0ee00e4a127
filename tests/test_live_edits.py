"""Live edits of a planned timeline (pure, in samples): +, n, b, resume, q, --from, --wait."""

from __future__ import annotations

import re
import textwrap
from dataclasses import replace
from pathlib import Path

import pytest
from test_plan import TONES, assert_tiles

from voiceguide import pipeline
from voiceguide.core.model import Event, Timeline
from voiceguide.core.plan import plan, spoken_phrases
from voiceguide.core.script import parse_script
from voiceguide.live import edits, recap
from voiceguide.live.keys import actions
from voiceguide.live.opening import OPENING_S, opening
from voiceguide.live.status import status_line

RATE = 44100
COUNTS = recap.count_words("en")
SCRIPTS = sorted(Path(__file__).parent.parent.joinpath("scripts").glob("*.yaml"))

HOLD_SCRIPT = """\
title: Holds
steps:
  - say: Lie down.
  - exercise: Knee hug
    sides: both
    say: Hug your {side} knee.
    hold: 30s
    breathe: relax
    release: Let go.
    rest: 5s
  - breathe: box
    cycles: 1
  - say: Done.
"""


def s(seconds: float) -> int:
    return round(seconds * RATE)


def make(text: str = HOLD_SCRIPT) -> Timeline:
    session = parse_script(textwrap.dedent(text), "t.yaml")
    lengths = {p: round(0.06 * len(p) * RATE) for p in spoken_phrases(session)}
    return plan(session, lengths, TONES, RATE)


def sounds(t: Timeline) -> list[Event]:
    return sorted(
        (e for e in t.events if e.kind in ("speech", "tone")), key=lambda e: e.start_sample
    )


def speech_at(t: Timeline, text: str) -> Event:
    return next(e for e in t.events if e.kind == "speech" and e.text == text)


def holds(t: Timeline) -> list[Event]:
    return [e for e in t.events if e.kind == "hold"]


def countdown(t: Timeline, hold: Event) -> list[tuple[str, int]]:
    """(word, samples before the hold's end) of the final countdown."""
    return [
        (e.text or "", hold.end_sample - e.start_sample)
        for e in sounds(t)
        if e.text in COUNTS.values() and hold.start_sample <= e.start_sample < hold.end_sample
    ]


def test_plus_adds_15_s_by_default_before_the_countdown() -> None:
    before = make()
    hold = holds(before)[0]
    at = hold.start_sample + s(5)
    after = edits.extend(before, at, s(edits.DEFAULT_EXTEND_S), COUNTS)
    assert after is not None
    assert_tiles(after)
    longer = holds(after)[0]
    assert longer.start_sample == hold.start_sample
    assert longer.length_samples == hold.length_samples + s(15)
    assert countdown(after, longer) == [("3", s(3)), ("2", s(2)), ("1", s(1))]
    assert after.duration_samples == before.duration_samples + s(15)
    # Everything heard before the press is unchanged; everything after it is 15 s later.
    old, new = sounds(before), sounds(after)
    assert len(old) == len(new)
    for a, b in zip(old, new, strict=True):
        expected = a.start_sample + (s(15) if a.start_sample >= at else 0)
        assert (b.start_sample, b.text, b.cue) == (expected, a.text, a.cue)


def test_plus_during_a_sound_adds_after_it() -> None:
    before = make()
    hold = holds(before)[0]
    cue = next(e for e in sounds(before) if e.start_sample > hold.start_sample)
    after = edits.extend(before, cue.start_sample + 10, s(4), COUNTS)
    assert after is not None
    assert_tiles(after)
    moved = [e for e in sounds(after) if e.start_sample > cue.start_sample]
    assert moved[0].start_sample == next(
        e.start_sample for e in sounds(before) if e.start_sample > cue.start_sample
    ) + s(4)


def test_plus_during_the_countdown_starts_it_again() -> None:
    before = make()
    hold = holds(before)[0]
    at = hold.end_sample - s(1.5)  # after "3" and "2"
    after = edits.extend(before, at, s(15), COUNTS)
    assert after is not None
    assert_tiles(after)
    longer = holds(after)[0]
    assert (longer.start_sample, longer.end_sample) == (hold.start_sample, hold.end_sample + s(15))
    heard_again = countdown(after, longer)
    # "3" and "2" were heard; the whole countdown follows again, ending the longer hold.
    assert heard_again[-3:] == [("3", s(3)), ("2", s(2)), ("1", s(1))]
    end_tone = next(e for e in sounds(after) if e.cue == "end_of_hold")
    assert end_tone.end_sample == longer.end_sample


def test_plus_in_a_rest_lengthens_the_rest_and_elsewhere_does_nothing() -> None:
    before = make()
    rest = next(e for e in before.events if e.kind == "silence" and e.cue == "rest")
    after = edits.extend(before, rest.start_sample + 10, s(15), COUNTS)
    assert after is not None
    assert after.duration_samples == before.duration_samples + s(15)
    first = sounds(before)[0]
    assert edits.extend(before, first.start_sample + 5, s(15), COUNTS) is None


def test_next_skips_to_the_following_part_with_a_short_lead() -> None:
    before = make()
    lead = s(0.5)
    chapters = before.chapters
    at = chapters[1].start_sample + s(3)  # inside the left side
    after = edits.skip_next(before, at, lead)
    assert_tiles(after)
    right = before.chapters[2]
    assert right.title.endswith("(right)")
    skipped = right.start_sample - lead - at
    first_after = next(e for e in sounds(after) if e.start_sample >= at)
    assert first_after.start_sample == at + lead
    assert first_after.cue == "switch_sides"
    assert after.duration_samples == before.duration_samples - skipped


def test_back_replays_the_current_exercise_from_its_start() -> None:
    before = make()
    chapter = before.chapters[1]
    at = chapter.start_sample + s(12)
    after = edits.back_to_start(before, at, 0)
    assert_tiles(after)
    replay = [e for e in sounds(after) if e.start_sample >= at]
    original = [e for e in sounds(before) if e.start_sample >= chapter.start_sample]
    assert [(e.start_sample - at, e.text, e.cue) for e in replay] == [
        (e.start_sample - chapter.start_sample, e.text, e.cue) for e in original
    ]
    assert after.duration_samples == before.duration_samples + at - chapter.start_sample


def test_resume_repeats_a_cut_phrase_whole_after_the_recap() -> None:
    before = make()
    phrase = sounds(before)[1]
    at = phrase.start_sample + 100
    block, length = recap.spoken_block("Knee hug. 3 minutes to go.", s(1), 0, RATE)
    after = edits.resumed(before, at, block, length)
    assert_tiles(after)
    later = [e for e in sounds(after) if e.start_sample >= at]
    assert later[0].text == "Knee hug. 3 minutes to go."
    assert later[0].start_sample == at + s(recap.LEAD_S)
    assert later[1].text == phrase.text
    assert later[1].start_sample == at + length
    assert after.duration_samples == before.duration_samples + length + 100


def test_close_ends_with_the_closing_cue() -> None:
    before = make()
    at = holds(before)[0].start_sample + s(2)
    block, length = recap.spoken_block(recap.closing_text("en"), s(2), 0, RATE)
    after = edits.closed(before, at, block, length)
    assert_tiles(after)
    assert after.duration_samples == at + length
    assert sounds(after)[-1].text == recap.closing_text("en")


def test_recap_says_where_and_what_is_left() -> None:
    t = make()
    hold = holds(t)[1]  # the right side's hold
    assert recap.recap_text(t, hold.end_sample - s(15)) == (
        "Right side, Knee hug. 15 seconds left."
    )
    minutes = round(t.duration_s / 60)
    assert recap.recap_text(t, 10) == f"Introduction. {minutes} minutes to go."


def test_from_a_step_number_or_a_name() -> None:
    t = make()
    assert edits.start_of(t, 4, "2") == min(e.start_sample for e in t.events if e.step == 1)
    # "Done." after the last exercise is the closing chapter, after the box breathing.
    assert [c.title for c in t.chapters[-2:]] == ["Box breathing", "Closing"]
    assert edits.start_of(t, 4, "box") == t.chapters[-2].start_sample
    assert edits.start_of(t, 4, "closing") == speech_at(t, "Done.").start_sample
    with pytest.raises(ValueError, match="no step 9"):
        edits.start_of(t, 4, "9")
    with pytest.raises(ValueError, match="no exercise is called 'plank'"):
        edits.start_of(t, 4, "plank")


def test_wait_points_before_each_exercise_not_the_second_side() -> None:
    t = make()
    titles = {c.start_sample: c.title for c in t.chapters}
    assert [titles[p] for p in edits.wait_points(t)] == [
        "Knee hug (left)",
        "Box breathing",
    ]


def test_wait_points_come_before_the_lead_in_and_not_before_the_closing_lines() -> None:
    t = make(
        HOLD_SCRIPT.replace(
            "  - breathe: box", "  - say: Now some box breathing.\n  - breathe: box"
        )
    )
    points = edits.wait_points(t)
    assert speech_at(t, "Now some box breathing.").start_sample in points
    assert speech_at(t, "Done.").start_sample not in points
    assert len(points) == 2


def test_the_recap_names_the_chapter_a_lead_in_opens() -> None:
    t = make(
        HOLD_SCRIPT.replace(
            "  - breathe: box", "  - say: Now some box breathing.\n  - breathe: box"
        )
    )
    lead_in = speech_at(t, "Now some box breathing.")
    assert recap.recap_text(t, lead_in.start_sample + 10).startswith("Box breathing. ")
    assert recap.recap_text(t, speech_at(t, "Done.").start_sample + 10).startswith("Closing. ")
    assert status_line(t, lead_in.start_sample + 10, paused=False).startswith("▶ Box breathing")


def test_edits_keep_what_opened_each_chapter() -> None:
    t = make()
    kinds = [c.kind for c in t.chapters]
    assert kinds == ["introduction", "exercise", "exercise", "exercise", "closing"]
    at = t.chapters[1].start_sample + s(3)
    assert [c.kind for c in edits.splice(t, at, t.chapters[2].start_sample).chapters] == kinds
    # Just after the hold's first spoken cue: a silence inside the exercise.
    quiet = edits.after_sound(t, holds(t)[0].start_sample + 1) + 1
    assert holds(t)[0].start_sample < quiet < holds(t)[0].end_sample
    assert edits.sound_at(t, quiet) is None
    assert [c.kind for c in edits.insert(t, quiet, s(2), ()).chapters] == kinds


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.stem)
def test_the_opening_is_the_start_of_the_whole_plan(script: Path) -> None:
    options = pipeline.VoiceOptions(engine="test", use_cache=False)
    session = pipeline.with_voice_options(pipeline.load_session(script), options)
    source = pipeline.clip_source(session, options)
    whole = pipeline.prepare_session(session, options, source=source).timeline
    for min_s in (*OPENING_S, 120.0):
        first = opening(session, source, options, min_s)
        assert first.timeline.duration_s >= min(min_s, whole.duration_s)
        end = first.timeline.duration_samples
        assert [e for e in first.timeline.events if e.end_sample <= end] == [
            e for e in whole.events if e.end_sample <= end
        ]
        # Its chapters too: the same titles from the same starts (the last one cut short).
        starts = [(c.title, c.start_sample, c.kind) for c in first.timeline.chapters]
        assert starts == [(c.title, c.start_sample, c.kind) for c in whole.chapters][: len(starts)]


def test_keys_and_escape_sequences() -> None:
    assert actions(" +nbq") == ["pause", "extend", "next", "back", "quit"]
    assert actions("\x1b[6~\x1b[D") == ["next", "back"]
    assert actions("x") == ["other"]


def test_status_line_shows_the_part_time_left_and_progress() -> None:
    t = make()
    hold = holds(t)[0]
    line = status_line(t, hold.end_sample - s(12))
    assert "Knee hug (left)" in line
    assert "hold 0:12.0 left" in line
    assert line.endswith(f"({100 * (hold.end_sample - s(12)) // t.duration_samples}%)")
    assert status_line(replace(t), 0, paused=True).startswith("paused")


def test_the_from_examples_in_the_docs_exist() -> None:
    root = Path(__file__).parent.parent
    texts = (root / "README.md").read_text() + (root / "voiceguide/cli.py").read_text()
    examples = re.findall(r"voiceguide play (scripts/\S+\.yaml) --from (\"[^\"]+\"|\S+)", texts)
    assert len(examples) >= 3
    options = pipeline.VoiceOptions(engine="test", use_cache=False)
    for script, wanted in examples:
        session = pipeline.load_session(root / script)
        timeline = pipeline.prepare(root / script, options).timeline
        edits.start_of(timeline, len(session.steps), wanted.strip('"'))
