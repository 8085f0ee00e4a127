"""The player without a device: what ``pull`` hands out, frame by frame."""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Iterator
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


AMBIENT = """\
title: Ambient
ambience: rain
steps:
  - say: Lie down.
  - pause: 6s
  - exercise: Knee hug
    say: Hug your knee.
    hold: 4s
    release: Let go.
  - pause: 4s
  - say: Done.
"""


def ambient(tmp_path: Path) -> pipeline.Prepared:
    script = tmp_path / "ambient.yaml"
    script.write_text(AMBIENT, encoding="utf-8")
    return pipeline.prepare(script, OPTIONS)


def exported_mix(prepared: pipeline.Prepared) -> np.ndarray:
    levels, bed = pipeline.mastered_with_bed(prepared)
    return np.concatenate([c[0] for c in pipeline.layered_chunks(prepared, levels, bed)])


def rms_db(samples: np.ndarray) -> float:
    return float(20 * np.log10(np.sqrt(np.mean(samples.astype(np.float64) ** 2))))


def test_the_device_gets_the_exports_mix_with_its_bed(tmp_path: Path) -> None:
    prepared = ambient(tmp_path)
    levels, bed = pipeline.mastered_with_bed(prepared)
    assert bed is not None
    player = Player(prepared.timeline, levels, bed=bed)
    got = pull_until(player, prepared.timeline.duration_samples)
    expected = exported_mix(prepared)
    np.testing.assert_allclose(got[: len(expected)], expected, atol=1e-6)


def test_the_bed_goes_on_softly_while_paused_and_comes_back(tmp_path: Path) -> None:
    prepared = ambient(tmp_path)
    levels, bed = pipeline.mastered_with_bed(prepared)
    player = Player(prepared.timeline, levels, bed=bed)
    pause = next(e for e in prepared.timeline.events if e.cue == "pause")
    # Into the pause, past the bed's release after the phrase.
    at = pause.start_sample + 2 * 44100
    before = pull_until(player, at)
    at = player.played
    player.pause()
    paused = np.concatenate([player.pull(PERIOD) for _ in range(30)])  # 3 s
    player.resume()
    after = np.concatenate([player.pull(PERIOD) for _ in range(20)])  # 2 s
    level_db = rms_db(before[-PERIOD:])
    # It turns down over a second, and stays 12 dB down.
    assert abs(rms_db(paused[-44100:]) - (level_db - 12)) < 1.0

    # Never a jump: 50 ms windows move no more than the rain itself does.
    def steps_db(samples: np.ndarray) -> float:
        windows = [rms_db(w) for w in samples[: len(samples) // 2205 * 2205].reshape(-1, 2205)]
        return max(abs(b - a) for a, b in itertools.pairwise(windows))

    joined = np.concatenate([before[-44100:], paused, after])
    assert steps_db(joined) < steps_db(before[-3 * 44100 :]) + 1.0
    # Back at its level a second after resuming, the timeline where it was.
    assert abs(rms_db(after[-44100:]) - level_db) < 1.0
    assert player.played == at + len(after)


def test_the_gate_knows_when_the_session_itself_was_sounding() -> None:
    """`play --listen` takes a phrase only when none of the session's own sound
    (speech, cues, the acknowledgement laid over it) was heard meanwhile."""
    import time

    prepared = pipeline.prepare(SCRIPT, OPTIONS)
    player = Player(prepared.timeline, pipeline.mastered(prepared))
    speech = next(e for e in prepared.timeline.sounds() if e.kind == "speech")
    silence = next(
        e for e in prepared.timeline.events if e.kind == "silence" and e.length_samples > 3 * PERIOD
    )
    player.latency_s = 0.0
    before = time.monotonic()
    pull_until(player, speech.start_sample + PERIOD)
    assert not player.quiet_since(before)
    pull_until(player, silence.start_sample + 2 * PERIOD)
    # In a silence: the last sound sent is heard within one period of it
    # (no device latency here); from then on the session is quiet.
    since = time.monotonic() + PERIOD / 44100
    player.pull(PERIOD)
    assert player.quiet_since(since)
    # The acknowledgement is the session's own sound too.
    player.overlay("heard", pipeline.acknowledgement(), phrase="pause")
    player.pull(PERIOD)
    assert not player.quiet_since(since)
    assert player.marks[-1].what == "heard"


def test_frames_the_device_dropped_are_played_again_exactly() -> None:
    """A cut: the device dropped the last frames it took; the player hands the
    same samples out again, and a pause then falls where the listener was."""
    prepared = pipeline.prepare(SCRIPT, OPTIONS)
    mastered = pipeline.mastered(prepared)
    reference = render_all(prepared.timeline, mastered)
    player = Player(prepared.timeline, mastered)
    taken = pull_until(player, 3 * 44100)
    dropped = 44100 + 1234  # over a second, and not whole pulls
    player.retract(dropped)
    assert player.played == len(taken) - dropped
    assert player.device_frames == len(taken) - dropped
    again = pull_until(player, 4 * 44100)
    np.testing.assert_array_equal(
        np.concatenate([taken[: len(taken) - dropped], again])[: 4 * 44100], reference[: 4 * 44100]
    )
    # Paused: the frames taken stand still in the timeline, and dropping them
    # moves nothing; never back past the pause itself.
    player.pause()
    at = player.played
    for _ in range(5):
        player.pull(PERIOD)
    player.retract(10 * PERIOD)
    assert player.played == at
    assert player.device_frames == player.marks[-1].device_frame


def test_where_the_listener_is_when_the_device_holds_sound_unheard() -> None:
    prepared = pipeline.prepare(SCRIPT, OPTIONS)
    player = Player(prepared.timeline, pipeline.mastered(prepared))
    pull_until(player, 3 * 44100)
    assert player.heard()[1] == player.played
    player.unheard_frames = lambda: 30000
    assert player.heard()[1] == player.played - 30000
    # Nothing is known before the frames kept: the oldest is the answer.
    player.unheard_frames = lambda: 10**9
    assert player.heard()[1] == 0


class _CuttingOutput:
    """An output that only records its cuts: nothing is pulled during one."""

    def __init__(self) -> None:
        self.cutting = False

    @contextlib.contextmanager
    def cut(self) -> Iterator[None]:
        outer = not self.cutting
        self.cutting = True
        try:
            yield
        finally:
            if outer:
                self.cutting = False


def test_a_spoken_pause_is_acknowledged_before_the_recap_is_made() -> None:
    """The device pulls nothing during a cut, so the acknowledgement of a
    spoken "pause" waits for whatever is made inside it: the recap said on
    resuming (a whole phrase to synthesise) is made after it."""
    from voiceguide.live.listen import Heard
    from voiceguide.live.session import PlayOptions, _Controller

    session = pipeline.with_voice_options(pipeline.load_session(SCRIPT), OPTIONS)
    output = _CuttingOutput()
    controller = _Controller(
        session,
        OPTIONS,
        PlayOptions(quiet=True, log=False),
        output,
        None,
    )
    whole = pipeline.prepare_session(session, OPTIONS, source=controller.speaker.source)
    player = Player(whole.timeline, pipeline.mastered(whole), final=True)
    pull_until(player, 3 * 44100)
    made_while_cutting: list[bool] = []
    clip = controller.speaker.clip

    def recorded(text: str) -> np.ndarray:
        made_while_cutting.append(output.cutting)
        return clip(text)

    controller.speaker.clip = recorded
    controller._heard(player, Heard("pause", "pause", 0.0))
    assert player.paused
    assert [m.what for m in player.marks][-2:] == ["heard", "pause"]
    # The recap was made, and not while the device was held.
    assert made_while_cutting == [False]
    assert controller.recap
