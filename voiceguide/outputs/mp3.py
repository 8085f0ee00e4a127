"""MP3 files from LAME, encoded in parts on several cores and joined at silences.

LAME (through lameenc) gives raw frames; ``lametag`` writes the Info/LAME
frame in front of them, whose encoder delay and padding make gapless
decoders return exactly the samples written.

A part's frames stand alone: LAME starts each stream with 576 samples of
its own silence (the encoder delay) and fills its last frame with silence.
So a part that ends where LAME's frames end (576 + its samples a whole
number of frames) can be followed directly by the next part's frames, and
decoders then play the part, the next part's 576 samples of delay, and the
next part: the join adds exactly 576 samples. Taking 576 samples of the
session's own silence out at each join keeps every sample where the plan
put it; joins are made only inside silence long enough that the encoders'
and decoders' windows (about two frames either side) see silence too.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import BinaryIO

import lameenc
import numpy as np

from . import lametag

FRAME_SAMPLES = 1152  # MPEG-1 Layer III
ENCODER_DELAY_SAMPLES = 576  # LAME's, for every MPEG-1 rate
JOIN_SAMPLES = ENCODER_DELAY_SAMPLES
# Silence a join needs before and after it, beyond its own 576 samples.
JOIN_GUARD_SAMPLES = 4 * FRAME_SAMPLES
# Parts short enough that a few in flight hold little memory (3 minutes at
# 320 kbit/s is 7 MB), long enough that joins are rare.
PART_S = 180.0
# Below LAME's own default (3): for a voice at 128 kbit/s or more it sounds the same,
# and the encoder is a quarter faster, which a cold export spends waiting on it.
LAME_QUALITY = 5
MPEG1_RATES_HZ = (32000, 44100, 48000)
# LAME scales its input for constant bitrates by its ABR preset's "scale" (presets.c,
# abr_switch_map, nearest bitrate): 0.95 up to 160 kbit/s costs 0.45 dB of the level
# mastering set. lameenc cannot set the scale, so the input is divided by it; the
# table is checked against LAME's own lame_get_scale in tests/test_mp3.py.
_LAME_SCALE = {8: 0.95, 160: 0.95, 192: 0.97, 224: 0.98, 256: 1.0, 320: 1.0}


# How far below -1 dBTP mastering must keep true peaks for the decoded MP3 to stay
# under it: coding noise adds peaks, more the fewer the bits. Measured as decoded
# over mastered true peak on the bundled scripts and a rain bed (the worst, noise
# everywhere), with espeak and piper: at most 0.4 dB at 128 kbit/s and up, 0.6 at
# 96-112, 0.8 at 80 and 2.1 at 64; each margin leaves about half a dB more.
_PEAK_MARGIN_DB = {64: 2.5, 80: 1.5, 96: 1.5, 128: 1.0}


def mastering_ceiling_dbtp(bitrate_kbps: int) -> float:
    """The true-peak ceiling to master for at this bitrate, so the file keeps -1 dBTP."""
    fitting = [kbps for kbps in _PEAK_MARGIN_DB if kbps <= bitrate_kbps]
    margin = _PEAK_MARGIN_DB[max(fitting)] if fitting else max(_PEAK_MARGIN_DB.values())
    return -1.0 - margin


def lame_input_scale(bitrate_kbps: int) -> float:
    """The factor LAME multiplies its input by at this constant bitrate."""
    nearest = min(_LAME_SCALE, key=lambda kbps: (abs(kbps - bitrate_kbps), kbps))
    return _LAME_SCALE[nearest]


def plan_parts(
    start_sample: int,
    stop_sample: int,
    silences: Sequence[tuple[int, int]],
    rate_hz: int,
    part_samples: int | None = None,
) -> list[tuple[int, int]]:
    """The spans to encode apart for the audio ``[start_sample, stop_sample)``.

    ``silences`` are spans of digital silence (sorted, not overlapping). A
    join goes near every ``part_samples`` where a silence is long enough for
    it; between parts, ``JOIN_SAMPLES`` of that silence are left out.
    """
    part = part_samples or round(PART_S * rate_hz)
    if rate_hz not in MPEG1_RATES_HZ:
        return [(start_sample, stop_sample)]
    parts: list[tuple[int, int]] = []
    begin = start_sample
    for silence_start, silence_stop in silences:
        lo = max(silence_start, start_sample) + JOIN_GUARD_SAMPLES
        hi = min(silence_stop, stop_sample) - JOIN_GUARD_SAMPLES - JOIN_SAMPLES
        if hi < begin + part:
            continue
        # The first end in the silence, past the part length, that closes a whole frame.
        end = max(lo, begin + part)
        end += -(ENCODER_DELAY_SAMPLES + end - begin) % FRAME_SAMPLES
        if end > hi:
            continue
        parts.append((begin, end))
        begin = end + JOIN_SAMPLES
    parts.append((begin, stop_sample))
    return parts


def pcm16(chunk: np.ndarray, gain: float = 1.0) -> bytes:
    scaled = np.rint(np.asarray(chunk, dtype=np.float32) * np.float32(32767.0 * gain))
    return np.clip(scaled, -32768, 32767).astype("<i2").tobytes()


class LameStream:
    """One LAME encoder: float32 mono in, raw MP3 frames out (no Info frame)."""

    def __init__(self, rate_hz: int, bitrate_kbps: int, quality: int = LAME_QUALITY) -> None:
        self._encoder = lameenc.Encoder()
        self._encoder.set_bit_rate(bitrate_kbps)
        self._encoder.set_in_sample_rate(rate_hz)
        self._encoder.set_out_sample_rate(rate_hz)
        self._encoder.set_channels(1)
        self._encoder.set_quality(quality)
        self._encoder.silence()
        # What LAME takes away is given first, so the decoded level is the one mastered.
        self._gain = 1.0 / lame_input_scale(bitrate_kbps)

    def encode(self, chunk: np.ndarray) -> bytes:
        return bytes(self._encoder.encode(pcm16(chunk, self._gain))) if len(chunk) else b""

    def flush(self) -> bytes:
        return bytes(self._encoder.flush())


@dataclass(frozen=True)
class EncodedPart:
    frames: bytes
    frame_count: int
    samples: int
    crc: int  # CRC-16 of ``frames``, for the Info frame's music CRC


def encode_part(
    chunks: Iterable[np.ndarray], rate_hz: int, bitrate_kbps: int, *, joined: bool
) -> EncodedPart:
    """One part's frames; a ``joined`` part (one followed by another) ends with the
    frame holding its last sample, leaving out LAME's padding frame."""
    lame = LameStream(rate_hz, bitrate_kbps)
    out = bytearray()
    samples = 0
    for chunk in chunks:
        samples += len(chunk)
        out += lame.encode(chunk)
    out += lame.flush()
    offsets = lametag.frame_offsets(bytes(out))
    if joined:
        whole, rest = divmod(ENCODER_DELAY_SAMPLES + samples, FRAME_SAMPLES)
        if rest:
            raise ValueError(f"a joined part must end on a frame; {samples} samples do not")
        if whole < len(offsets):
            del out[int(offsets[whole]) :]
            offsets = offsets[:whole]
    frames = bytes(out)
    return EncodedPart(frames, len(offsets), samples, lametag.crc16(frames))


class Mp3File:
    """An MP3 file assembled from parts in order, behind its Info frame.

    The Info frame is written last (over a placeholder of its size), once
    the frame count, padding and music CRC are known.
    """

    def __init__(self, file: BinaryIO, rate_hz: int, bitrate_kbps: int) -> None:
        self._file = file
        self.rate_hz = rate_hz
        self.bitrate_kbps = bitrate_kbps
        self._info_bytes = lametag.info_frame_bytes(rate_hz, bitrate_kbps)
        self._file.write(bytes(self._info_bytes))
        self._music_bytes = 0
        self._crc = 0
        self._frames = 0
        self.samples = 0  # as decoders will return them

    def append(self, part: EncodedPart) -> None:
        """Add a part that ``encode_part`` made; after the first, parts are joined."""
        if self._frames:
            self.samples += JOIN_SAMPLES
        self._add(part.frames, part.frame_count, part.crc)
        self.samples += part.samples

    def append_frames(self, frames: bytes, count: int) -> None:
        """Add ``count`` whole frames of one stream; the caller sets ``samples``
        before ``finish``."""
        self._add(frames, count, lametag.crc16(frames))

    def _add(self, frames: bytes, count: int, crc: int) -> None:
        self._file.write(frames)
        self._crc = lametag.crc16_combine(self._crc, crc, len(frames))
        self._music_bytes += len(frames)
        self._frames += count

    def finish(self) -> None:
        padding = self._frames * FRAME_SAMPLES - ENCODER_DELAY_SAMPLES - self.samples
        info = lametag.info_frame(
            sample_rate_hz=self.rate_hz,
            bitrate_kbps=self.bitrate_kbps,
            frames=self._frames,
            audio_bytes=self._music_bytes,
            delay_samples=ENCODER_DELAY_SAMPLES,
            padding_samples=padding,
            music_crc=self._crc,
            lame_quality=LAME_QUALITY,
        )
        self._file.flush()
        self._file.seek(0, os.SEEK_SET)
        self._file.write(info)
        self._file.seek(0, os.SEEK_END)
