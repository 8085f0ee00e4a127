"""`voiceguide play` through a real PulseAudio null sink, recorded with parec.

Each test plays a session of a few seconds, records the sink's monitor and
compares what was heard with the plan: every sound within 50 ms, the end
within 50 ms. Controls are pressed through a pseudo-terminal.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import soundfile
from played import (
    TWO_PARTS,
    Journal,
    PtyPlay,
    assert_heard_as,
    assert_no_silence_added,
    busy_cores,
    device_sounds,
    expected_signal,
    onsets,
    plan_sounds,
    sound_span,
)
from pulse_server import PulseServer, missing, pulse_server

from voiceguide import pipeline
from voiceguide.errors import AudioDeviceError
from voiceguide.live import edits, recap
from voiceguide.live.device import PERIOD_MS, Output

RATE = 44100
SCRIPTS = sorted(Path(__file__).parent.parent.joinpath("scripts").glob("*.yaml"))

SESSION = """\
title: Played session
steps:
  - say: Lie down.
  - pause: 1s
  - exercise: Knee hug
    say: Hug your knee.
    hold: 3s
    release: Let go.
    rest: 1s
  - sound: chime
"""

HOLD = """\
title: Hold session
steps:
  - say: Lie down.
  - exercise: Knee hug
    say: Hug your knee.
    hold: 5s
    release: Let go.
  - say: Done.
"""


# About three minutes: holds, sides, reps, breathing, pauses and a cue.
THREE_MINUTES = """\
title: Three minutes
steps:
  - say: Lie down on your back and let your arms rest by your sides.
  - pause: 4s
  - say: First, a few easy breaths to settle.
  - breathe: relax
    cycles: 2
  - exercise: Single knee to chest
    sides: both
    say: Slowly draw your {side} knee up toward your chest and hug it in.
    brief: Hug your {side} knee in.
    hold: 15s
    release: Gently let go, and lower your {side} foot.
    rest: 5s
  - say: Rest with both feet on the floor.
  - pause: 6s
  - exercise: Both knees to chest
    say: Draw both knees slowly in toward your chest and rock softly.
    hold: 20s
    release: Lower one foot to the floor, then the other.
    rest: 5s
  - say: Let your whole back grow heavy and still.
  - pause: 6s
  - exercise: Pelvic tilt
    reps: 3
    say: Flatten the small of your back into the floor.
    hold: 5s
    release: Relax.
    rest: 3s
  - say: When you are ready, roll onto your side and get up slowly.
  - sound: chime
"""

AMBIENT = """\
title: Ambient session
ambience: rain
steps:
  - say: Lie down on your back.
  - pause: 3s
  - exercise: Knee hug
    say: Hug your knee.
    hold: 5s
    release: Let go.
  - say: Rest here and listen to the rain.
  - pause: 8s
  - say: Done.
"""

pytestmark = pytest.mark.pulseaudio


@pytest.fixture(scope="module")
def pulse() -> Iterator[PulseServer]:
    reason = missing()
    if reason is not None:
        pytest.skip(reason)
    with pulse_server() as server:
        yield server


@pytest.fixture
def env(pulse: PulseServer, tmp_path: Path) -> dict[str, str]:
    return {**pulse.env, "XDG_CACHE_HOME": str(tmp_path / "cache")}


def write(tmp_path: Path, text: str, name: str = "session.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def voice(env: dict[str, str]) -> pipeline.VoiceOptions:
    return pipeline.VoiceOptions(cache_dir=Path(env["XDG_CACHE_HOME"]) / "voiceguide")


def play(
    args: list[str], env: dict[str, str], timeout_s: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "voiceguide", "play", *args],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout_s,
    )


@contextlib.contextmanager
def steered(
    pulse: PulseServer, args: list[str], env: dict[str, str]
) -> Iterator[tuple[PtyPlay, list[np.ndarray]]]:
    """`play ARGS` on a pseudo-terminal while the sink is recorded; after the
    block, it must have ended by itself with status 0, and the list holds what
    was heard."""
    recording = pulse.record()
    recording.wait_until_flowing()
    player = PtyPlay(args, env)
    heard: list[np.ndarray] = []
    try:
        yield player, heard
        assert player.finish() == 0, player.output[-500:]
    finally:
        player.close()
        heard.append(recording.stop())


def test_play_sounds_like_the_export(
    pulse: PulseServer, env: dict[str, str], tmp_path: Path
) -> None:
    script = write(tmp_path, SESSION)
    wav = tmp_path / "export.wav"
    subprocess.run(
        [sys.executable, "-m", "voiceguide", "export", str(script), "-o", str(wav), "-q"],
        env=env,
        check=True,
    )
    recording = pulse.record()
    recording.wait_until_flowing()
    done = play([str(script), "--journal", str(tmp_path / "j.json")], env)
    time.sleep(0.2)
    heard = recording.stop()
    assert done.returncode == 0, done.stderr
    journal = Journal.read(tmp_path / "j.json")
    assert journal.finished and journal.starved_frames == 0
    exported, rate = soundfile.read(str(wav), dtype="float32")
    assert rate == RATE
    prepared = pipeline.prepare(script, voice(env))
    planned = prepared.timeline
    assert journal.timeline == planned
    assert_heard_as(heard, exported, plan_sounds(planned))
    assert len(onsets(exported)) >= 7
    # Which engine and voice speak, in one line.
    assert done.stdout.splitlines()[0] == f"voice: {prepared.voice}"
    assert prepared.voice.endswith(")") and " (" in prepared.voice


@pytest.mark.slow
def test_a_busy_machine_does_not_make_play_late(
    pulse: PulseServer, env: dict[str, str], tmp_path: Path
) -> None:
    """Every core busy with another process from before the command to its end,
    and an empty phrase cache: the session is prepared behind its opening while
    the device is fed, and still nothing is late and no silence is added."""
    script = write(tmp_path, THREE_MINUTES)
    journal_path = tmp_path / "j.json"
    recording = pulse.record()
    recording.wait_until_flowing()
    with busy_cores():
        done = play([str(script), "--journal", str(journal_path)], env, timeout_s=600)
        time.sleep(0.3)
    heard = recording.stop()
    assert done.returncode == 0, done.stderr
    journal = Journal.read(journal_path)
    assert journal.finished and journal.starved_frames == 0
    planned = pipeline.prepare(script, voice(env)).timeline
    assert journal.timeline == planned
    assert planned.duration_s > 170
    expected = expected_signal(script, journal, voice(env))
    heard_first, heard_last = sound_span(heard)
    planned_first, planned_last = sound_span(expected)
    late_ms = ((heard_last - heard_first) - (planned_last - planned_first)) * 1000 / RATE
    assert_no_silence_added(heard, expected)
    assert abs(late_ms) <= 50, (
        f"the session was heard {late_ms:.0f} ms longer than planned, "
        f"from {first_late_s(heard, expected):.1f} s on"
    )
    assert_heard_as(heard, expected, plan_sounds(planned))


def first_late_s(heard: np.ndarray, expected: np.ndarray) -> float:
    """Where (in the plan) the recording starts to lag it by more than 20 ms."""
    planned, found = onsets(expected), onsets(heard)
    offset = int(found[0]) - int(planned[0])
    for onset in planned:
        nearest = found[np.argmin(np.abs(found - offset - onset))]
        if nearest - offset - onset > 0.02 * RATE:
            return float(onset) / RATE
    return float("nan")


def where(heard: np.ndarray, exported: np.ndarray) -> int:
    """The sample of ``heard`` where ``exported`` starts (a bed is noise: its
    cross-correlation has one sharp peak)."""
    part = exported[: 10 * RATE]
    size = 1 << int(np.ceil(np.log2(len(heard) + len(part))))
    spectrum = np.fft.rfft(heard, size) * np.conj(np.fft.rfft(part, size))
    return int(np.argmax(np.fft.irfft(spectrum, size)[: len(heard)]))


def level_db(samples: np.ndarray) -> float:
    return float(10 * np.log10(np.mean(samples.astype(np.float64) ** 2)))


def test_the_ambience_is_heard_at_the_exports_level(
    pulse: PulseServer, env: dict[str, str], tmp_path: Path
) -> None:
    script = write(tmp_path, AMBIENT)
    recording = pulse.record()
    recording.wait_until_flowing()
    done = play([str(script), "--journal", str(tmp_path / "j.json")], env)
    time.sleep(0.2)
    heard = recording.stop()
    assert done.returncode == 0, done.stderr
    journal = Journal.read(tmp_path / "j.json")
    assert journal.finished and journal.starved_frames == 0
    prepared = pipeline.prepare(script, voice(env))
    levels, bed = pipeline.mastered_with_bed(prepared)
    exported = np.concatenate([c[0] for c in pipeline.layered_chunks(prepared, levels, bed)])
    # The last pause, where the bed is up: after its release, before its next dip.
    pause = [e for e in prepared.timeline.events if e.cue == "pause"][-1]
    begin, end = pause.start_sample + RATE, pause.end_sample - RATE // 2
    # Openings are levelled on their own; by then the whole session plays.
    assert journal.mark("planned")["timeline_sample"] + RATE < begin
    at = where(heard, exported)
    heard_db = level_db(heard[at + begin : at + end])
    exported_db = level_db(exported[begin:end])
    assert exported_db > -60
    assert abs(heard_db - exported_db) <= 1.0, (heard_db, exported_db)
    # And it is the export's bed, not some other noise at that level.
    match = np.corrcoef(heard[at + begin : at + end], exported[begin:end])[0, 1]
    assert match > 0.95


def test_pause_adds_exactly_the_paused_time_and_a_recap(
    pulse: PulseServer, env: dict[str, str], tmp_path: Path
) -> None:
    script = write(tmp_path, HOLD)
    with steered(pulse, [str(script), "--journal", str(tmp_path / "j.json")], env) as (
        player,
        heard,
    ):
        player.wait_for(r"hold 0:04\.\d left")
        paused_at = player.press(" ")
        player.wait_for("paused")
        time.sleep(1.2)
        resumed_at = player.press(" ")
    journal = Journal.read(tmp_path / "j.json")
    assert journal.starved_frames == 0
    pause, resume = journal.mark("pause"), journal.mark("resume")
    paused_frames = resume["device_frame"] - pause["device_frame"]
    # The device takes a period at a time: the marks fall on its callbacks.
    assert abs(paused_frames / RATE - (resumed_at - paused_at)) < PERIOD_MS / 1000 + 0.1
    # The timeline after the pause is the plan with the recap put in, nothing else.
    planned = pipeline.prepare(script, voice(env)).timeline
    at = pause["timeline_sample"]
    text = recap.recap_text(planned, at)
    assert text.startswith("Knee hug.") and text.endswith("seconds left.")
    spoken = next(e for e in journal.timeline.sounds() if e.text == text)
    block, length = recap.spoken_block(
        text, spoken.length_samples, spoken.step, RATE, recap.RESUME_LEAD_S
    )
    assert journal.timeline.events == edits.resumed(planned, at, block, length).events
    # And it was heard so: the paused time and the recap added, to within 50 ms.
    expected = expected_signal(script, journal, voice(env))
    assert len(expected) == planned.duration_samples + length + paused_frames
    assert_heard_as(heard[0], expected, device_sounds(journal))


def test_plus_extends_the_hold_and_keeps_the_countdown(
    pulse: PulseServer, env: dict[str, str], tmp_path: Path
) -> None:
    script = write(tmp_path, HOLD)
    args = [str(script), "--extend", "2", "--journal", str(tmp_path / "j.json")]
    with steered(pulse, args, env) as (player, heard):
        player.wait_for(r"hold 0:04\.\d left")
        player.press("+")
        player.wait_for(r"hold 0:0[56]\.\d left")
    journal = Journal.read(tmp_path / "j.json")
    planned = pipeline.prepare(script, voice(env)).timeline
    at = journal.mark("extend")["timeline_sample"]
    longer = edits.extend(planned, at, 2 * RATE, recap.count_words("en"))
    assert longer is not None and journal.timeline == longer
    hold = next(e for e in longer.events if e.kind == "hold")
    assert hold.length_samples == 7 * RATE
    counted = {e.text: hold.end_sample - e.start_sample for e in longer.sounds()}
    assert (counted["3"], counted["2"], counted["1"]) == (3 * RATE, 2 * RATE, RATE)
    expected = expected_signal(script, journal, voice(env))
    assert len(expected) == planned.duration_samples + 2 * RATE
    assert_heard_as(heard[0], expected, device_sounds(journal))


def test_next_back_and_quit_with_a_closing_cue(
    pulse: PulseServer, env: dict[str, str], tmp_path: Path
) -> None:
    script = write(tmp_path, TWO_PARTS)
    with steered(pulse, [str(script), "--journal", str(tmp_path / "j.json")], env) as (
        player,
        heard,
    ):
        player.wait_for(r"Knee hug · hold 0:04\.\d left")
        player.press("n")
        player.wait_for(r"Cat stretch · hold 0:04\.\d left")
        player.press("b")
        player.wait_for(r"Cat stretch · Cat stretch")
        player.wait_for(r"Cat stretch · hold 0:04\.\d left")
        player.press("q")
    journal = Journal.read(tmp_path / "j.json")
    controls = [m for m in journal.marks if m["what"] not in ("opening", "planned")]
    assert [m["what"] for m in controls] == ["next", "back", "close"]
    planned = pipeline.prepare(script, voice(env)).timeline
    nxt, back, close = controls
    expected_timeline = edits.skip_next(planned, nxt["timeline_sample"], round(0.5 * RATE))
    expected_timeline = edits.back_to_start(expected_timeline, back["timeline_sample"], RATE // 2)
    closing = next(e for e in journal.timeline.sounds() if e.text == recap.closing_text("en"))
    block, length = recap.spoken_block(closing.text or "", closing.length_samples, 1, RATE)
    expected_timeline = edits.closed(expected_timeline, close["timeline_sample"], block, length)
    assert [(e.start_sample, e.text, e.cue) for e in journal.timeline.sounds()] == [
        (e.start_sample, e.text, e.cue) for e in expected_timeline.sounds()
    ]
    assert journal.timeline.duration_samples == close["timeline_sample"] + length
    expected = expected_signal(script, journal, voice(env))
    assert_heard_as(heard[0], expected, device_sounds(journal))


def test_wait_waits_for_a_key_before_each_exercise(
    pulse: PulseServer, env: dict[str, str], tmp_path: Path
) -> None:
    script = write(tmp_path, TWO_PARTS)
    player = PtyPlay([str(script), "--wait", "--journal", str(tmp_path / "j.json")], env)
    try:
        player.wait_for("waiting")
        time.sleep(0.5)
        player.press("x")
        player.wait_for(r"▶ Knee hug")
        player.wait_for("waiting")
        player.press("\r")
        assert player.finish() == 0
    finally:
        player.close()
    journal = Journal.read(tmp_path / "j.json")
    planned = pipeline.prepare(script, voice(env)).timeline
    assert [m["timeline_sample"] for m in journal.marks if m["what"] == "wait"] == [
        c.start_sample for c in planned.chapters
    ]
    waited = journal.gaps()
    assert waited[0][1] >= 0.4 * RATE


def test_from_starts_at_a_step_or_an_exercise(env: dict[str, str], tmp_path: Path) -> None:
    script = write(tmp_path, TWO_PARTS)
    done = play([str(script), "--from", "cat", "--journal", str(tmp_path / "j.json")], env)
    assert done.returncode == 0, done.stderr
    journal = Journal.read(tmp_path / "j.json")
    assert journal.timeline.sounds()[0].text == "Cat stretch"
    assert journal.timeline.sounds()[0].start_sample == 0
    planned = pipeline.prepare(script, voice(env)).timeline
    start = planned.chapters[1].start_sample
    assert journal.timeline.duration_samples == planned.duration_samples - start
    bad = play([str(script), "--from", "7"], env)
    assert bad.returncode == 2
    assert (
        bad.stderr.strip() == "voiceguide: --from: there is no step 7; the script has steps 1 to 2"
    )


def test_ctrl_c_stops_at_once_and_restores_the_terminal(
    env: dict[str, str], tmp_path: Path
) -> None:
    script = write(tmp_path, HOLD)
    player = PtyPlay([str(script)], env)
    try:
        before = player.terminal_attrs()
        player.wait_for("hold")
        assert player.terminal_attrs() != before  # keys without Enter, no echo
        pressed = player.press("\x03")
        code = player.finish(timeout_s=10)
        stopped_s = time.monotonic() - pressed
        assert code == 130
        assert stopped_s < 2.0
        assert player.terminal_attrs() == before
        assert "voiceguide: stopped" in player.output
        assert "Traceback" not in player.output
    finally:
        player.close()


def test_devices_lists_the_sink(env: dict[str, str]) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "voiceguide", "devices"], env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == "PulseAudio:"
    assert "  Null Output" in done.stdout.splitlines()
    # The inputs `play --mic` accepts: the sink's monitor is one.
    lines = done.stdout.splitlines()
    assert "  Monitor of Null Output" in lines[lines.index("inputs (--mic):") :]


def test_the_server_going_away_stops_playback_cleanly(tmp_path: Path) -> None:
    reason = missing()
    if reason is not None:
        pytest.skip(reason)
    script = write(tmp_path, HOLD)
    with pulse_server() as server:
        env = {**server.env, "XDG_CACHE_HOME": str(tmp_path / "cache")}
        recording = server.record()
        recording.wait_until_flowing()
        process = subprocess.Popen(
            [sys.executable, "-m", "voiceguide", "play", str(script)],
            env=env,
            stdin=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            # Mid-session for sure: killed only once the session is heard. (A
            # fixed sleep here let a slow start meet a server already gone.)
            recording.wait_until_heard()
            server.process.kill()
            server.process.wait()
            _, err = process.communicate(timeout=30)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
            recording.stop()
    assert process.returncode == 1, err
    assert err.strip().startswith("voiceguide: the audio device stopped"), err
    assert len(err.strip().splitlines()) == 1


def test_a_server_gone_before_the_device_starts_is_one_error(tmp_path: Path) -> None:
    """The device opened, then its server ended before it started: miniaudio's
    'failed to start audio device' (-1) becomes the one-line device error."""
    reason = missing()
    if reason is not None:
        pytest.skip(reason)

    def pull(frames: int) -> np.ndarray:
        return np.zeros(frames, dtype=np.float32)

    with pulse_server() as server, pytest.MonkeyPatch.context() as patch:
        for name, value in server.env.items():
            patch.setenv(name, value)
        output = Output(RATE)
        try:
            assert output.backend == "PulseAudio"
            server.process.kill()
            server.process.wait()
            with pytest.raises(AudioDeviceError) as raised:
                output.start(pull)
        finally:
            output.close()
    assert str(raised.value).startswith("cannot play here: the audio device would not start")
    assert "`voiceguide export`" in str(raised.value)


def test_a_server_gone_before_play_starts_is_one_line_and_exit_1(tmp_path: Path) -> None:
    reason = missing()
    if reason is not None:
        pytest.skip(reason)
    script = write(tmp_path, HOLD)
    with pulse_server() as server:
        server.process.kill()
        server.process.wait()
        # Its socket file is left behind: a connection is refused, not missing.
        assert (server.runtime_dir / "pulse" / "native").exists()
        done = play([str(script)], {**server.env, "XDG_CACHE_HOME": str(tmp_path / "cache")})
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("voiceguide: cannot play here: no sound server is running")


@pytest.mark.pulseaudio
def test_no_sound_server_is_one_line_and_exit_1(tmp_path: Path) -> None:
    empty = tmp_path / "run"
    empty.mkdir(mode=0o700)
    alsa = tmp_path / "asound.conf"
    alsa.write_text("", encoding="utf-8")
    env = {
        **os.environ,
        "XDG_RUNTIME_DIR": str(empty),
        "PULSE_SERVER": f"unix:{empty}/none",
        "ALSA_CONFIG_PATH": str(alsa),
        "HOME": str(tmp_path),
    }
    script = write(tmp_path, HOLD)
    done = play([str(script)], env)
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("voiceguide: cannot play here: no ")
    assert "`voiceguide export`" in lines[0]


@pytest.mark.slow
@pytest.mark.skipif(
    not os.environ.get("VOICEGUIDE_PLAY_BUNDLED"),
    reason="plays every bundled script in real time (about 40 minutes): "
    "set VOICEGUIDE_PLAY_BUNDLED=1",
)
@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.stem)
def test_every_bundled_script_sounds_like_its_export(script: Path, tmp_path: Path) -> None:
    reason = missing()
    if reason is not None:
        pytest.skip(reason)
    with pulse_server() as server:
        env = {**server.env, "XDG_CACHE_HOME": str(tmp_path / "cache")}
        recording = server.record()
        recording.wait_until_flowing()
        done = play([str(script), "--journal", str(tmp_path / "j.json")], env, timeout_s=1200)
        time.sleep(0.2)
        heard = recording.stop()
    assert done.returncode == 0, done.stderr
    wav = tmp_path / "export.wav"
    subprocess.run(
        [sys.executable, "-m", "voiceguide", "export", str(script), "-o", str(wav), "-q"],
        env=env,
        check=True,
    )
    exported, _ = soundfile.read(str(wav), dtype="float32")
    journal = Journal.read(tmp_path / "j.json")
    assert journal.starved_frames == 0
    planned = pipeline.prepare(script, voice(env)).timeline
    assert journal.timeline == planned
    assert_heard_as(heard, exported, plan_sounds(planned))
