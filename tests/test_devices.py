"""`devices` and `play --device` against real ALSA: a device that discards sound is not one.

ALSA reads its whole configuration from ALSA_CONFIG_PATH here: a null PCM (the
one that is "Discard all samples") and a file PCM (what it plays lands in a
file, a device that keeps the sound). No PulseAudio is reachable, so
miniaudio falls back to ALSA as it does on a machine without a sound server.
"""

from __future__ import annotations

import ctypes.util
import os
import subprocess
import sys
from pathlib import Path

import pytest
from server_helpers import TINY

NULL_DESCRIPTION = "Discard all samples (playback) or generate zero samples (capture)"


def alsa_env(tmp_path: Path, *, only_null: bool = False) -> dict[str, str]:
    """ALSA with a null PCM and a file PCM; ``only_null``: the null PCM alone,
    and as the default device, as a machine with no sound card may have it."""
    if ctypes.util.find_library("asound") is None:
        pytest.skip("needs ALSA's libasound2 (apt-get install libasound2)")
    config = tmp_path / "alsa.conf"
    null = f"""\
    type null
    hint {{ show on description "{NULL_DESCRIPTION}" }}
}}
"""
    tofile = f"""\
pcm.tofile {{
    type file
    slave.pcm "null"
    file "{tmp_path / "played.raw"}"
    format "raw"
    hint {{ show on description "Into a file" }}
}}
"""
    others = f"pcm.!default {{\n{null}" if only_null else tofile
    config.write_text(f"pcm.null {{\n{null}{others}")
    runtime = tmp_path / "runtime"
    runtime.mkdir()
    return {
        **os.environ,
        "ALSA_CONFIG_PATH": str(config),
        "PULSE_SERVER": f"unix:{runtime}/no-such-server",
        "XDG_RUNTIME_DIR": str(runtime),
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
    }


def voiceguide(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "voiceguide", *args],
        env=env,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=120,
    )


def test_devices_does_not_offer_a_device_that_discards_sound(tmp_path: Path) -> None:
    done = voiceguide(["devices"], alsa_env(tmp_path))
    assert done.returncode == 0, done.stderr
    # Neither as an output nor as an input (--mic).
    assert done.stdout.splitlines() == [
        "ALSA:",
        "  Into a file",
        "inputs (--mic):",
        "  Into a file",
    ]


@pytest.mark.parametrize("asked", ["Discard", NULL_DESCRIPTION])
def test_play_refuses_a_device_that_discards_sound(tmp_path: Path, asked: str) -> None:
    script = tmp_path / "tiny.yaml"
    script.write_text(TINY)
    done = voiceguide(
        ["play", str(script), "--engine", "test", "--device", asked], alsa_env(tmp_path)
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr == (
        f"voiceguide: the audio device '{NULL_DESCRIPTION}' throws the sound away; "
        "choose one from `voiceguide devices`\n"
    )
    assert not (tmp_path / "played.raw").exists()


ONLY_DISCARDING = (
    "voiceguide: cannot play here: every audio output here throws the sound away "
    "(ALSA's null device); use `voiceguide export` to write an audio file, or "
    "`voiceguide serve` to play it on another device\n"
)


def test_play_with_no_device_refuses_when_every_output_discards_sound(tmp_path: Path) -> None:
    script = tmp_path / "tiny.yaml"
    script.write_text(TINY)
    env = alsa_env(tmp_path, only_null=True)
    done = voiceguide(["play", str(script), "--engine", "test"], env)
    assert (done.returncode, done.stderr) == (1, ONLY_DISCARDING)
    done = voiceguide(["devices"], env)
    assert (done.returncode, done.stdout, done.stderr) == (1, "", ONLY_DISCARDING)
