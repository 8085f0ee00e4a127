"""`play --listen` through real PulseAudio: a null sink for the output and a
second null sink whose monitor is the default source (the microphone).

Commands are spoken by espeak-ng with another voice than the session's
(en-us+m7), with noise under them, and played into the microphone's sink with
paplay. The session's own output is routed into the microphone too
(module-loopback), so it must never take itself for a command.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import soundfile
from played import Journal, PtyPlay
from pulse_server import MIC, PulseServer, missing, pulse_server

pytestmark = pytest.mark.pulseaudio

pocketsphinx = pytest.importorskip("pocketsphinx", reason="pip install 'voiceguide[listen]'")

LONG_HOLD = """\
title: Listened session
steps:
  - say: Lie down.
  - exercise: Knee hug
    say: Hug your knee.
    hold: 40s
    release: Let go.
  - say: Done.
"""


@pytest.fixture(scope="module")
def pulse() -> Iterator[PulseServer]:
    reason = missing()
    if reason is None and shutil.which("espeak-ng") is None:
        reason = "espeak-ng is not installed (apt-get install espeak-ng)"
    if reason is not None:
        pytest.skip(reason)
    with pulse_server() as server:
        server.add_microphone()
        yield server


@pytest.fixture
def env(pulse: PulseServer, tmp_path: Path) -> dict[str, str]:
    return {**pulse.env, "XDG_CACHE_HOME": str(tmp_path / "cache")}


@pytest.fixture
def room(env: dict[str, str], tmp_path: Path) -> Iterator[None]:
    """The room's own noise in the microphone all along (40 dB under the
    commands' peaks), as a real one has: the recogniser follows its floor."""
    path = tmp_path / "room.wav"
    rate = 16000
    noise = np.random.default_rng(0).normal(0, 0.01, rate * 200).astype(np.float32)
    soundfile.write(str(path), noise, rate)
    playing = subprocess.Popen(["paplay", "-d", MIC, str(path)], env=env)
    try:
        yield
    finally:
        playing.terminate()
        playing.wait(timeout=10)


def spoken(tmp_path: Path, text: str) -> Path:
    """``text`` said by another voice than the session's."""
    raw = tmp_path / f"{text.replace(' ', '-')}-raw.wav"
    subprocess.run(["espeak-ng", "-v", "en-us+m7", "-w", str(raw), text], check=True)
    voice, rate = soundfile.read(str(raw), dtype="float32")
    pad = np.zeros(rate // 2, dtype=np.float32)
    said = np.concatenate([pad, voice / np.max(np.abs(voice)) * 0.5, pad])
    path = tmp_path / f"{text.replace(' ', '-')}.wav"
    soundfile.write(str(path), said, rate)
    return path


def say_into_mic(env: dict[str, str], path: Path) -> None:
    subprocess.run(["paplay", "-d", MIC, str(path)], env=env, check=True, timeout=30)


def command(player: PtyPlay, env: dict[str, str], tmp_path: Path, text: str) -> None:
    """``text`` said into the microphone until heard, at most six times (as a
    person would say it again when it is not heard): the assertion is that it
    is heard, not that it is heard the first time (bench/listen.py measures how
    often that is)."""
    path = spoken(tmp_path, text)
    for _ in range(6):
        say_into_mic(env, path)
        try:
            player.wait_for(f'heard: "{text.lower()}"', timeout_s=4)
            return
        except AssertionError:
            continue
    raise AssertionError(f"{text!r} was never heard: {player.output[-300:]!r}")


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "session.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_spoken_commands_pause_resume_and_stop(
    env: dict[str, str], tmp_path: Path, room: None
) -> None:
    script = write(tmp_path, LONG_HOLD)
    journal_path = tmp_path / "j.json"
    player = PtyPlay([str(script), "--listen", "--journal", str(journal_path)], env)
    try:
        player.wait_for(r"hold 0:3\d\.\d left")
        # Past the gate: the voice said the instruction just before the hold.
        time.sleep(2.5)
        command(player, env, tmp_path, "pause")
        player.wait_for("paused")
        time.sleep(3.0)
        command(player, env, tmp_path, "resume")
        # The recap said on resuming, then quiet in the hold again.
        time.sleep(5.0)
        command(player, env, tmp_path, "stop")
        assert player.finish(timeout_s=30) == 0, player.output[-500:]
    finally:
        player.close()
    journal = Journal.read(journal_path)
    heard = [m["detail"]["phrase"] for m in journal.marks if m["what"] == "heard"]
    assert heard == ["pause", "resume", "stop"]
    actions = [m["what"] for m in journal.marks if m["what"] in ("pause", "resume", "close")]
    assert actions == ["pause", "resume", "close"]
    # Resuming said the recap, as space does.
    assert any(e.text and e.text.startswith("Knee hug.") for e in journal.timeline.sounds())


def test_its_own_voice_coming_back_is_never_a_command(env: dict[str, str], tmp_path: Path) -> None:
    """A bundled session's first minute, its output looped into the microphone."""
    script = Path(__file__).parent.parent / "scripts" / "back-spasm-relief.yaml"
    journal_path = tmp_path / "j.json"
    mic = subprocess.Popen(
        ["parec", "-d", f"{MIC}.monitor", "--format=s16le", "--rate=16000", "--channels=1"],
        env=env,
        stdout=subprocess.PIPE,
    )
    player = PtyPlay([str(script), "--listen", "--journal", str(journal_path)], env)
    try:
        player.wait_for(r"\d:\d\d", timeout_s=60)
        time.sleep(60)
        player.press("q")
        player.press("q")
        player.finish(timeout_s=30)
    finally:
        player.close()
        mic.terminate()
        recorded, _ = mic.communicate(timeout=10)
    # The microphone did hear the session.
    assert np.abs(np.frombuffer(recorded, dtype="<i2")).max() > 3000
    assert "heard:" not in player.output, player.output
    assert "not listening" not in player.output
    journal = Journal.read(journal_path)
    assert [m for m in journal.marks if m["what"] == "heard"] == []


def short_play_errors(env: dict[str, str], tmp_path: Path, how: list[str], *args: str) -> str:
    """``play`` of a one-phrase session with ``args``, through the Python
    command line ``how``: it must end well; what it said on stderr."""
    script = write(tmp_path, "title: Short\nsteps:\n  - say: Lie down.\n")
    done = subprocess.run(
        [sys.executable, *how, "play", str(script), *args],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stderr


def test_no_such_microphone_is_one_line_and_play_goes_on(
    env: dict[str, str], tmp_path: Path
) -> None:
    said = short_play_errors(env, tmp_path, ["-m", "voiceguide"], "--mic", "no such input")
    assert said.splitlines() == [
        "voiceguide: not listening: no microphone named 'no such input' "
        "(inputs: 'Monitor of Null Output', 'Monitor of Null Output'); keys only"
    ]


def test_no_recogniser_installed_is_one_line_and_play_goes_on(
    env: dict[str, str], tmp_path: Path
) -> None:
    # As if voiceguide[listen] were not installed: the import fails.
    run = (
        "import sys; sys.modules['pocketsphinx'] = None; "
        "from voiceguide.cli import main; main(sys.argv[1:])"
    )
    said = short_play_errors(env, tmp_path, ["-c", run], "--listen")
    assert said.splitlines() == [
        "voiceguide: not listening: the recogniser is not installed "
        "(pip install 'voiceguide[listen]'); keys only"
    ]
