"""Cue tones, synthesised from sine partials so no sound files ship.

Every cue is meant for someone lying down with eyes closed: soft attacks,
no harsh partials, and each cue shaped differently enough to be told apart
by ear alone: the breathing cues by the direction of their pitch and also
by their length, envelope and timbre (a short bright swell in, a longer dark
sigh out), so they differ for someone who misses the pitch; the rest by
rhythm, register and decay.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

CUE_NAMES: tuple[str, ...] = (
    "inhale",
    "exhale",
    "hold",
    "end_of_hold",
    "switch_sides",
    "chime",
    "bell",
    "tick",
)

# Loudness relative to speech as heard in the final mix (BS.1770, each clip
# alone): 6 to 7 dB under the voice, so that hundreds of breathing cues in a
# session do not tire the ear, yet each is heard over a quiet room.
CUE_LEVEL_DB: dict[str, float] = {
    "inhale": -7.0,
    "exhale": -7.0,
    "hold": -7.0,
    "end_of_hold": -6.5,
    "switch_sides": -6.0,
    "chime": -6.0,
    "bell": -6.0,
    "tick": -7.0,
}

_DURATION_S: dict[str, float] = {
    "inhale": 0.5,
    "exhale": 0.9,
    "hold": 0.5,
    "end_of_hold": 0.4,
    "switch_sides": 0.8,
    "chime": 1.5,
    "bell": 2.5,
    "tick": 0.05,
}

# (fade in, fade out) in seconds; the tick needs a faster attack to sound
# like a knock, everything else starts gently.
_FADES_S: dict[str, tuple[float, float]] = {
    "tick": (0.002, 0.01),
    "chime": (0.004, 0.05),
    "bell": (0.004, 0.08),
}
_DEFAULT_FADES_S = (0.01, 0.03)

_PEAK = 0.5

FloatArray = np.ndarray


def _check(name: str, sample_rate_hz: int) -> None:
    if name not in _DURATION_S:
        raise ValueError(f"unknown cue {name!r}; known cues: {', '.join(CUE_NAMES)}")
    if int(sample_rate_hz) != sample_rate_hz or sample_rate_hz < 8000:
        raise ValueError(f"sample rate must be an integer >= 8000 Hz, got {sample_rate_hz!r}")


def cue_length_samples(name: str, sample_rate_hz: int) -> int:
    """Length of ``cue_samples(name, sample_rate_hz)`` without synthesising it."""
    _check(name, sample_rate_hz)
    return round(_DURATION_S[name] * sample_rate_hz)


def _partials(
    t: FloatArray,
    f0: float,
    ratios: Sequence[float],
    amps: Sequence[float],
    decays_s: Sequence[float],
    rate: int,
) -> FloatArray:
    """Sum of exponentially decaying sines; ``t`` may be negative (silent)."""
    out = np.zeros_like(t)
    on = t >= 0
    for ratio, amp, tau in zip(ratios, amps, decays_s, strict=True):
        freq = f0 * ratio
        # Partials near Nyquist would alias into audible, unrelated pitches.
        if freq >= 0.45 * rate:
            continue
        out += on * amp * np.exp(-np.maximum(t, 0.0) / tau) * np.sin(2 * np.pi * freq * t)
    return out


def _attack(t: FloatArray, attack_s: float) -> FloatArray:
    """Raised-cosine onset for a note that starts at ``t == 0``."""
    x = np.clip(t / attack_s, 0.0, 1.0)
    return 0.5 - 0.5 * np.cos(np.pi * x)


def _inhale(t: FloatArray, rate: int) -> FloatArray:
    # Drawing breath in: short, bright (four harmonics), swelling up to a
    # late peak and stopping, as an in-breath fills and stops.
    length_s = t[-1]
    peak_s = 0.8 * length_s
    swell = np.where(
        t < peak_s,
        # From a murmur, not from nothing: a cue sounds from its first sample.
        0.6 - 0.4 * np.cos(np.pi * np.clip(t / peak_s, 0.0, 1.0)),
        # Down to a quarter only: the cue's own fade-out ends it, and a cue
        # must sound to its last sample.
        0.625 + 0.375 * np.cos(np.pi * np.clip((t - peak_s) / (length_s - peak_s), 0.0, 1.0)),
    )
    return swell * _glide_partials(t, 330.0, 495.0, length_s, (1.0, 0.5, 0.3, 0.15))


def _exhale(t: FloatArray, rate: int) -> FloatArray:
    # Letting breath out: longer, dark (almost a pure sine), sounding at once
    # and then dying away like a sigh.
    length_s = t[-1]
    sigh = _attack(t, 0.03) * np.exp(-t / (0.4 * length_s))
    return sigh * _glide_partials(t, 495.0, 330.0, length_s, (1.0, 0.04))


def _glide_partials(
    t: FloatArray, f_start: float, f_end: float, length_s: float, amps: Sequence[float]
) -> FloatArray:
    """Harmonics of an exponential glide, so it sounds even in musical steps."""
    ratio = f_end / f_start
    # Phase is the integral of f_start * ratio**(t / length_s).
    phase = 2 * np.pi * f_start * length_s / np.log(ratio) * (ratio ** (t / length_s) - 1.0)
    return sum((amp * np.sin((k + 1) * phase) for k, amp in enumerate(amps)), np.zeros_like(t))


def _hold(t: FloatArray, rate: int) -> FloatArray:
    out = np.zeros_like(t)
    # Two pulses filling the cue edge to edge: a cue must sound from its first
    # sample to its last, or the plan's times would not be the heard times.
    for start in (0.0, 0.26):
        local = np.clip((t - start) / 0.24, 0.0, 1.0)
        pulse = np.sin(np.pi * local)
        out += pulse * (np.sin(2 * np.pi * 392.0 * t) + 0.1 * np.sin(2 * np.pi * 784.0 * t))
    return out


def _notes(
    t: FloatArray, notes: Sequence[tuple[float, float, float]], attack_s: float, rate: int
) -> FloatArray:
    """Soft mallet notes, each ``(start_s, f0, decay_s)``."""
    out = np.zeros_like(t)
    for start, f0, tau in notes:
        local = t - start
        tone = _partials(
            local, f0, (1.0, 2.0, 3.0), (1.0, 0.25, 0.06), (tau, tau / 2, tau / 3), rate
        )
        out += _attack(local, attack_s) * tone
    return out


def _end_of_hold(t: FloatArray, rate: int) -> FloatArray:
    # A falling fifth reads as "finished" without sounding like an alarm.
    return _notes(t, ((0.0, 587.33, 0.22), (0.22, 392.0, 0.3)), 0.01, rate)


def _switch_sides(t: FloatArray, rate: int) -> FloatArray:
    # Up and back down: the motif itself suggests moving across and returning.
    return _notes(t, ((0.0, 440.0, 0.12), (0.25, 659.25, 0.12), (0.5, 440.0, 0.12)), 0.008, rate)


def _chime(t: FloatArray, rate: int) -> FloatArray:
    return _partials(
        t, 1046.5, (1.0, 2.0, 3.0, 4.0), (1.0, 0.5, 0.25, 0.12), (0.5, 0.3, 0.2, 0.12), rate
    )


def _bell(t: FloatArray, rate: int) -> FloatArray:
    # Ratios of a tuned church bell (hum, prime, tierce, quint, nominal, ...).
    ratios = (0.5, 1.0, 1.183, 1.506, 2.0, 2.514, 2.662)
    amps = (0.6, 1.0, 0.5, 0.3, 0.45, 0.15, 0.1)
    decays = (1.2, 0.9, 0.7, 0.5, 0.45, 0.3, 0.25)
    return _partials(t, 220.0, ratios, amps, decays, rate)


def _tick(t: FloatArray, rate: int) -> FloatArray:
    # A woodblock's two strongest modes, damped within a few milliseconds.
    return _partials(t, 1100.0, (1.0, 2.32), (1.0, 0.35), (0.009, 0.005), rate)


_SYNTHS: dict[str, Callable[[FloatArray, int], FloatArray]] = {
    "inhale": _inhale,
    "exhale": _exhale,
    "hold": _hold,
    "end_of_hold": _end_of_hold,
    "switch_sides": _switch_sides,
    "chime": _chime,
    "bell": _bell,
    "tick": _tick,
}


def _fades(n: int, fade_in: int, fade_out: int) -> FloatArray:
    env = np.ones(n)
    ramp_in = 0.5 - 0.5 * np.cos(np.pi * np.arange(fade_in) / fade_in)
    ramp_out = 0.5 + 0.5 * np.cos(np.pi * np.arange(fade_out) / (fade_out - 1))
    env[:fade_in] *= ramp_in
    env[n - fade_out :] *= ramp_out
    return env


def cue_samples(name: str, sample_rate_hz: int) -> np.ndarray:
    """The cue as float32 mono at ``sample_rate_hz``, peak 0.5, silent at both ends."""
    n = cue_length_samples(name, sample_rate_hz)
    t = np.arange(n, dtype=np.float64) / sample_rate_hz
    raw = _SYNTHS[name](t, int(sample_rate_hz))
    fade_in_s, fade_out_s = _FADES_S.get(name, _DEFAULT_FADES_S)
    fade_in = max(2, round(fade_in_s * sample_rate_hz))
    fade_out = max(2, round(fade_out_s * sample_rate_hz))
    shaped = raw * _fades(n, fade_in, fade_out)
    peak = float(np.max(np.abs(shaped)))
    return (shaped * (_PEAK / peak)).astype(np.float32)


def acknowledgement(sample_rate_hz: int) -> np.ndarray:
    """The blip that answers a spoken command: two quick high notes, rising and
    much shorter and brighter than any cue, so it is never taken for one (and
    never in a script: a command was heard, nothing more)."""
    n = round(0.16 * sample_rate_hz)
    t = np.arange(n, dtype=np.float64) / sample_rate_hz
    raw = _notes(t, ((0.0, 1318.5, 0.04), (0.07, 1760.0, 0.05)), 0.003, int(sample_rate_hz))
    shaped = raw * _fades(n, round(0.002 * sample_rate_hz), round(0.02 * sample_rate_hz))
    return (shaped * (0.25 / float(np.max(np.abs(shaped))))).astype(np.float32)
