"""Cues as a listener hears them in an exported session (real espeak, MP3 decoded).

Inhale and exhale must be told apart by more than the direction of their
pitch, and every cue must sit 6 +-2 dB under the voice, measured as loudness
(BS.1770) of each clip in the final mix, not as the levels mastering asked for.
"""

from __future__ import annotations

from dataclasses import dataclass

import miniaudio
import numpy as np
import pyloudnorm
import pytest
from scipy.signal import hilbert

from voiceguide import pipeline
from voiceguide.core.model import Event, Timeline
from voiceguide.outputs.session_files import ExportRequest

pytestmark = pytest.mark.espeak

SCRIPT = """\
title: Every cue
steps:
  - say: Lie down and get comfortable.
  - breathe: box
    cycles: 3
  - exercise: Side stretch
    sides: both
    say: Reach your {side} arm over your head.
    hold: 12s
    release: Lower your arm.
  - sound: bell
  - sound: tick
  - say: Well done.
  - sound: chime
"""


@dataclass
class Mix:
    timeline: Timeline
    samples: np.ndarray  # the decoded MP3, float64 mono

    @property
    def rate(self) -> int:
        return self.timeline.sample_rate_hz

    def clip(self, event: Event) -> np.ndarray:
        return self.samples[event.start_sample : event.end_sample]

    def tones(self, cue: str) -> list[Event]:
        return [e for e in self.timeline.sounds() if e.kind == "tone" and e.cue == cue]


@pytest.fixture(scope="module")
def mix(tmp_path_factory: pytest.TempPathFactory) -> Mix:
    folder = tmp_path_factory.mktemp("cues")
    script = folder / "every-cue.yaml"
    script.write_text(SCRIPT, encoding="utf-8")
    options = pipeline.VoiceOptions(engine="espeak", cache_dir=folder / "cache")
    prepared = pipeline.prepare(script, options)
    dest = folder / "every-cue.mp3"
    pipeline.export_prepared(script, prepared, ExportRequest(dest))
    rate = prepared.timeline.sample_rate_hz
    decoded = miniaudio.decode_file(
        str(dest), output_format=miniaudio.SampleFormat.FLOAT32, nchannels=1, sample_rate=rate
    )
    samples = np.frombuffer(decoded.samples, dtype=np.float32).astype(np.float64)
    assert len(samples) == prepared.timeline.duration_samples
    return Mix(prepared.timeline, samples)


def loudness_lufs(x: np.ndarray, rate: int) -> float:
    """BS.1770 gated loudness of one clip; one block of its own length if under 400 ms."""
    # pyloudnorm wants more samples than a block: a short clip is one block
    # one sample shorter than itself.
    block_s = min(0.4, (len(x) - 1) / rate)
    return float(pyloudnorm.Meter(rate, block_size=block_s).integrated_loudness(x))


def envelope(x: np.ndarray, rate: int) -> np.ndarray:
    """Amplitude envelope smoothed over 10 ms."""
    width = round(0.01 * rate)
    return np.convolve(np.abs(hilbert(x)), np.ones(width) / width, mode="same")


def attack_s(x: np.ndarray, rate: int) -> float:
    """Time from the cue's start to 90 % of its loudest moment."""
    env = envelope(x, rate)
    return float(np.argmax(env >= 0.9 * env.max()) / rate)


def centroid_hz(x: np.ndarray, rate: int) -> float:
    mag = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    freqs = np.fft.rfftfreq(len(x), 1 / rate)
    return float((freqs * mag).sum() / mag.sum())


def test_the_session_has_every_cue(mix: Mix) -> None:
    used = {e.cue for e in mix.timeline.sounds() if e.kind == "tone"}
    assert used >= {"inhale", "exhale", "hold", "end_of_hold", "switch_sides", "chime", "bell"}
    assert "tick" in used


def test_every_cue_sits_six_db_under_the_voice(mix: Mix) -> None:
    speech = [
        loudness_lufs(mix.clip(e), mix.rate) for e in mix.timeline.sounds() if e.kind == "speech"
    ]
    voice_lufs = float(np.median(speech))
    below: dict[str, float] = {}
    for event in mix.timeline.sounds():
        if event.kind == "tone" and event.cue not in below:
            below[event.cue or ""] = voice_lufs - loudness_lufs(mix.clip(event), mix.rate)
    assert below, "no tone in the session"
    off = {cue: round(db, 1) for cue, db in below.items() if not 4.0 <= db <= 8.0}
    assert not off, f"cues not 6 +-2 dB under the voice ({voice_lufs:.1f} LUFS): {off}"


def test_inhale_and_exhale_differ_in_length_envelope_and_timbre(mix: Mix) -> None:
    inhale = mix.tones("inhale")[0]
    exhale = mix.tones("exhale")[0]
    rate = mix.rate
    in_x, out_x = mix.clip(inhale), mix.clip(exhale)
    # Length: the out-breath cue lasts clearly longer.
    assert len(out_x) >= 1.5 * len(in_x)
    # Envelope: the in-breath swells to a late peak, the out-breath sounds at once.
    assert attack_s(in_x, rate) >= 0.25
    assert attack_s(out_x, rate) <= 0.08
    # ...and the out-breath dies away: its last fifth is far quieter than its first.
    fifth = len(out_x) // 5
    assert np.sqrt(np.mean(out_x[-fifth:] ** 2)) < 0.3 * np.sqrt(np.mean(out_x[:fifth] ** 2))
    # Timbre: the in-breath is brighter, though both glide over the same pitches.
    assert centroid_hz(in_x, rate) >= 1.3 * centroid_hz(out_x, rate)


def test_every_inhale_and_exhale_in_the_mix_is_the_same_sound(mix: Mix) -> None:
    # A cue is recognised by its sound: every instance sounds the same at the same level.
    for cue in ("inhale", "exhale"):
        levels = [loudness_lufs(mix.clip(e), mix.rate) for e in mix.tones(cue)]
        assert len(levels) >= 2
        assert np.ptp(levels) < 0.5
