"""The player without a device: what ``pull`` hands out, frame by frame."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from voiceguide import pipeline
from voiceguide.core.mastering import with_speech
from voiceguide.core.render import render_all
from voiceguide.live import edits, recap
from voiceguide.live.opening import opening
from voiceguide.live.player import Player

SCRIPT = Path(__file__).parent.parent / "scripts" / "back-spasm-relief.yaml"
OPTIONS = pipeline.VoiceOptions(engine="test", use_cache=False)
PERIOD = 4410


def pull_until(player: Player, sample: int) -> np.ndarray:
    parts = []
    while player.played < sample:
        parts.append(player.pull(PERIOD))
    return np.concatenate(parts) if parts else np.zeros(0, np.float32)


def cut_start(prepared: pipeline.Prepared, at: int) -> int:
    """Where the sound playing at ``at`` started (it is heard again whole), or ``at``."""
    sound = edits.sound_at(prepared.timeline, at)
    return at if sound is None else sound.start_sample


def no_waits(timeline: object) -> list[int]:
    return []


def test_the_device_gets_the_export_pcm_across_openings_and_a_paused_recap() -> None:
    session = pipeline.with_voice_options(pipeline.load_session(SCRIPT), OPTIONS)
    source = pipeline.clip_source(session, OPTIONS)
    first = opening(session, source, OPTIONS, 3.0)
    whole = pipeline.prepare_session(session, OPTIONS, source=source)
    mastered = pipeline.mastered(whole)
    # The opening is played with the whole session's levels here, so that the
    # samples can be compared exactly; its timing is what is under test.
    player = Player(first.timeline, mastered, final=False)
    heard = [pull_until(player, 2 * 44100)]
    player.pause()
    paused = [player.pull(PERIOD) for _ in range(5)]
    assert all(not np.any(p) for p in paused)
    timeline, at = player.position()
    text = recap.recap_text(timeline, at, planned=False)
    clip = source.clip(text)
    player.say(text, clip)
    block, length = recap.spoken_block(text, len(clip), 0, 44100)
    player.resume(lambda t, a: edits.resumed(t, a, block, length))
    heard.append(pull_until(player, at + length // 2))
    # The whole session arrives mid-recap: the pause's edit is made again on it.
    player.upgrade(whole.timeline, mastered, no_waits)
    assert player.final
    heard.append(pull_until(player, player.timeline.duration_samples))
    assert player.finished.is_set() and player.starved_frames == 0
    expected_timeline = edits.resumed(whole.timeline, at, block, length)
    assert player.timeline == expected_timeline
    expected = render_all(expected_timeline, with_speech(mastered, text, clip, 44100))
    got = np.concatenate(heard)[: expected_timeline.duration_samples]
    # Before the pause, the plan as it was (a phrase cut by the pause is
    # silence in the edited timeline); after it, the recap and the rest.
    np.testing.assert_array_equal(got[:at], render_all(whole.timeline, mastered)[:at])
    np.testing.assert_array_equal(got[at:], expected[at:])
    assert len(expected) == whole.timeline.duration_samples + length + (at - cut_start(whole, at))


def test_plus_and_next_change_what_comes_next_at_once() -> None:
    prepared = pipeline.prepare(SCRIPT, OPTIONS)
    mastered = pipeline.mastered(prepared)
    player = Player(prepared.timeline, mastered)
    hold = next(e for e in prepared.timeline.events if e.kind == "hold")
    heard = [pull_until(player, hold.start_sample + 44100)]
    counts = recap.count_words("en")
    player.edit("extend", lambda t, at: edits.extend(t, at, 15 * 44100, counts) or t)
    _, at = player.position()
    expected = edits.extend(prepared.timeline, at, 15 * 44100, counts)
    assert expected is not None and player.timeline == expected
    heard.append(pull_until(player, expected.duration_samples))
    got = np.concatenate(heard)[: expected.duration_samples]
    np.testing.assert_array_equal(got, render_all(expected, mastered))
    assert len(got) == prepared.timeline.duration_samples + 15 * 44100
