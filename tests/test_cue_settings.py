"""The script's ``cues:`` setting: its values, what each mode plans, and the volume heard."""

from __future__ import annotations

import textwrap

import numpy as np
import pytest

from voiceguide import pipeline
from voiceguide.core.loudness import clip_loudness_db
from voiceguide.core.model import Cues, Timeline
from voiceguide.core.plan import CUE_GUARD_S, plan, spoken_phrases
from voiceguide.core.script import parse_script

RATE = 44100
TONES = {
    "inhale": 22050,
    "exhale": 39690,
    "hold": 22050,
    "end_of_hold": 17640,
    "switch_sides": 35280,
    "chime": 66150,
    "bell": 110250,
    "tick": 2205,
}

BREATHING = """\
title: Breathing
{cues}
steps:
  - breathe: box
    cycles: 2
"""


def session_with(cues: str, verbosity: str = "full"):  # type: ignore[no-untyped-def]
    text = BREATHING.format(cues=cues) + f"verbosity: {verbosity}\n"
    return parse_script(text, "cues.yaml")


def make(cues: str, verbosity: str = "full") -> Timeline:
    session = session_with(cues, verbosity)
    lengths = {p: round(0.06 * len(p) * RATE) for p in spoken_phrases(session)}
    return plan(session, lengths, TONES, RATE)


def cues_in_breathing(t: Timeline) -> list[tuple[str, str]]:
    """(kind, cue or words) of every sound inside the breathing, in order."""
    breath = [e for e in t.events if e.kind == "breath"]
    start, end = breath[0].start_sample, breath[-1].end_sample
    return [
        (e.kind, e.cue if e.kind == "tone" else e.text or "")
        for e in t.sounds()
        if start <= e.start_sample < end
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", Cues()),
        ("cues: tones", Cues("tones")),
        ("cues: spoken", Cues("spoken")),
        ("cues: both", Cues("both")),
        ("cues: {mode: spoken}", Cues("spoken")),
        ("cues: {volume: -6}", Cues(None, -6.0)),
        ("cues: {mode: both, volume: 3.5}", Cues("both", 3.5)),
        ("cues: {volume: -20}", Cues(None, -20.0)),
        ("cues: {volume: 6}", Cues(None, 6.0)),
        ("cues: {mode: tones, volume: 0}", Cues("tones", 0.0)),
        ("cues: null", Cues()),
    ],
)
def test_every_value_of_cues_is_read(text: str, expected: Cues) -> None:
    assert session_with(text).cues == expected


BOX_TONES = ["inhale", "hold", "exhale", "hold"]


def words(t: Timeline) -> list[str]:
    return [value for kind, value in cues_in_breathing(t) if kind == "speech"]


def tones(t: Timeline) -> list[str]:
    return [value for kind, value in cues_in_breathing(t) if kind == "tone"]


def test_without_a_mode_the_first_cycle_is_spoken_and_the_rest_are_tones() -> None:
    first_cycle = words(make("cues: spoken"))[:4]
    assert cues_in_breathing(make("")) == [("speech", w) for w in first_cycle] + [
        ("tone", c) for c in BOX_TONES
    ]
    # At verbosity brief nothing is spoken: tones throughout, as before ``cues:``.
    assert cues_in_breathing(make("", "brief")) == [("tone", c) for c in BOX_TONES * 2]


def test_tones_mode_cues_every_cycle_with_tones_and_speaks_no_phase() -> None:
    t = make("cues: tones")
    assert words(t) == []
    assert tones(t) == BOX_TONES * 2


def test_spoken_mode_speaks_every_phase_and_plays_no_breathing_tone() -> None:
    t = make("cues: spoken")
    assert tones(t) == []
    assert len(words(t)) == 8
    assert words(t)[:4] == words(t)[4:]


@pytest.mark.parametrize("verbosity", ["full", "brief", "cues"])
def test_spoken_and_tones_modes_do_not_depend_on_verbosity(verbosity: str) -> None:
    assert cues_in_breathing(make("cues: spoken", verbosity)) == cues_in_breathing(
        make("cues: spoken")
    )
    assert cues_in_breathing(make("cues: tones", verbosity)) == cues_in_breathing(
        make("cues: tones")
    )


def test_both_mode_plays_each_tone_then_its_word_in_the_same_phase() -> None:
    t = make("cues: both")
    spoken = words(make("cues: spoken"))
    expected = [
        item
        for tone, word in zip(BOX_TONES * 2, spoken, strict=True)
        for item in (
            ("tone", tone),
            ("speech", word),
        )
    ]
    assert cues_in_breathing(t) == expected
    sounds = [e for e in t.sounds() if e.kind in ("tone", "speech")]
    phases = [e for e in t.events if e.kind == "breath"]
    for phase in phases:
        inside = [e for e in sounds if phase.start_sample <= e.start_sample < phase.end_sample]
        tone, word = inside
        assert tone.start_sample == phase.start_sample
        assert word.start_sample == tone.end_sample + round(CUE_GUARD_S * RATE)
        assert word.end_sample <= phase.end_sample


def test_a_mode_changes_no_timing() -> None:
    durations = {
        make(mode).duration_samples for mode in ("", "cues: tones", "cues: spoken", "cues: both")
    }
    assert len(durations) == 1


@pytest.mark.parametrize("volume_db", [-6.0, 3.0])
def test_cue_volume_moves_every_tone_and_leaves_speech_alone(volume_db: float) -> None:
    def levels(cues: str) -> dict[tuple[str, str], float]:
        text = textwrap.dedent(
            f"""\
            title: Volume
            {cues}
            steps:
              - say: Lie down and breathe slowly.
              - breathe: box
                cycles: 2
              - sound: chime
            """
        )
        session = parse_script(text, "v.yaml")
        options = pipeline.VoiceOptions(engine="test", use_cache=False)
        prepared = pipeline.prepare_session(pipeline.with_voice_options(session, options), options)
        mastered = pipeline.mastered(prepared)
        return {key: clip_loudness_db(clip, RATE) for key, clip in mastered.clips.items()}

    default = levels("")
    moved = levels(f"cues: {{volume: {volume_db:g}}}")
    assert default.keys() == moved.keys()
    tone_keys = [key for key in default if key[0] == "tone"]
    assert {key[1] for key in tone_keys} >= {"inhale", "exhale", "hold", "chime"}
    # The session is levelled again, so speech may move a little; tones move
    # by the volume against it.
    speech_shift = np.median([moved[k] - default[k] for k in default if k[0] == "speech"])
    assert abs(speech_shift) < 1.0
    for key in tone_keys:
        assert moved[key] - default[key] - speech_shift == pytest.approx(volume_db, abs=0.3)
