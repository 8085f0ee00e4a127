"""The Info/LAME frame we write, byte for byte against the frames real LAME 3.100 writes.

Two oracles: pedalboard's MP3 writer (LAME 3.100 writing its own tag) and the
LAME inside the lameenc wheel, driven through ctypes with the tag switched on
(the settings lameenc uses, but LAME's ``lame_get_lametag_frame`` gives the
frame). The end-to-end test decodes lameenc's frames behind our frame with
decoders that are not LAME: miniaudio (dr_mp3), ffmpeg, mutagen.
"""

from __future__ import annotations

import ctypes
import io
import shutil
import subprocess
from pathlib import Path

import lameenc
import miniaudio
import numpy as np
import pytest
from mutagen.mp3 import MP3
from pedalboard.io import AudioFile

from voiceguide.outputs import lametag
from voiceguide.outputs.lametag import (
    LAME_DELAY_SAMPLES,
    crc16,
    crc16_combine,
    frame_offsets,
    info_frame,
    parse_header,
    parse_info_frame,
)


def reference_crc16(data: bytes, crc: int = 0) -> int:
    """CRC-16/ARC one bit at a time, straight from its definition."""
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc


def noise(samples: int, seed: int = 0) -> np.ndarray:
    return (np.random.default_rng(seed).standard_normal(samples) * 0.1).astype(np.float32)


def as_int16(pcm: np.ndarray) -> np.ndarray:
    return np.round(pcm * 32767).astype("<i2")


def test_crc16_check_value() -> None:
    assert crc16(b"123456789") == 0xBB3D
    assert reference_crc16(b"123456789") == 0xBB3D


@pytest.mark.parametrize("length", [0, 1, 2, 1023, 1024, 1025, 2048, 5000, 70_001])
def test_crc16_matches_the_reference(length: int) -> None:
    data = np.random.default_rng(length).integers(0, 256, length, dtype=np.uint8)
    assert crc16(data.tobytes()) == reference_crc16(data.tobytes())
    assert crc16(data, 0x1234) == reference_crc16(data.tobytes(), 0x1234)
    assert crc16(memoryview(data.tobytes())) == reference_crc16(data.tobytes())


def test_crc16_across_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    # Small chunks make a short input take the long-stream path: chunks, lanes, folds.
    monkeypatch.setattr(lametag, "_CHUNK_BYTES", 8 * 1024)
    data = np.random.default_rng(7).integers(0, 256, 100_003, dtype=np.uint8).tobytes()
    assert crc16(data) == reference_crc16(data)
    assert crc16(np.frombuffer(data[1:], dtype=np.uint8)) == reference_crc16(data[1:])


@pytest.mark.parametrize("split", [0, 1, 1000, 4096, 49_999, 50_000])
def test_crc16_combine(split: int) -> None:
    data = np.random.default_rng(split).integers(0, 256, 50_000, dtype=np.uint8).tobytes()
    head, tail = data[:split], data[split:]
    assert crc16_combine(crc16(head), crc16(tail), len(tail)) == crc16(data)
    assert crc16(tail, crc16(head)) == reference_crc16(data)


def pedalboard_mp3(samples: int, rate: int, kbps: int) -> bytes:
    out = io.BytesIO()
    with AudioFile(out, "w", samplerate=rate, num_channels=1, bit_depth=16, quality=kbps, format="mp3") as f:
        f.write(noise(samples, samples)[None, :])
    return out.getvalue()


def rebuilt_info_frame(stream: bytes, samples: int, **settings: int) -> bytes:
    """Our frame for the audio frames of ``stream``, from what they show."""
    first = parse_header(stream).frame_bytes
    audio = stream[first:]
    offsets = frame_offsets(audio)
    header = parse_header(audio)
    return info_frame(
        sample_rate_hz=header.sample_rate_hz,
        bitrate_kbps=header.bitrate_kbps,
        frames=len(offsets),
        stream_bytes=len(stream),
        delay_samples=LAME_DELAY_SAMPLES,
        padding_samples=len(offsets) * header.samples_per_frame - LAME_DELAY_SAMPLES - samples,
        music_crc=crc16(audio),
        **settings,
    )


@pytest.mark.parametrize(
    ("samples", "rate", "kbps"),
    [
        (44100, 44100, 128),  # padding 1404
        (10 * 1152 - 576, 44100, 128),  # padding exactly 1152
        (10 * 1152, 44100, 128),  # a whole number of frames: padding 1728
        (1, 44100, 128),
        (30 * 44100, 44100, 128),  # 1149 frames: the seek table's bag is halved twice
        (20000, 44100, 64),
        (20000, 44100, 320),
        (20000, 48000, 192),
        (20000, 32000, 96),
        (20000, 22050, 64),  # MPEG-2
        (20000, 8000, 32),  # MPEG-2.5
    ],
)
def test_info_frame_is_the_frame_lame_writes(samples: int, rate: int, kbps: int) -> None:
    stream = pedalboard_mp3(samples, rate, kbps)
    ours = rebuilt_info_frame(stream, samples)
    assert ours == stream[: len(ours)]
    tag = parse_info_frame(stream)
    assert tag.decoded_samples == samples
    assert (tag.delay_samples, tag.encoder, tag.tag_crc_ok) == (576, "LAME3.100", True)
