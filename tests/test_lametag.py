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
from mutagen.mp3 import MP3, BitrateMode
from pedalboard.io import AudioFile

from voiceguide.outputs import lametag
from voiceguide.outputs.lametag import (
    ENCODER_LAME_3_100,
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
    with AudioFile(
        out, "w", samplerate=rate, num_channels=1, bit_depth=16, quality=kbps, format="mp3"
    ) as f:
        f.write(noise(samples, samples)[None, :])
    return out.getvalue()


def rebuilt_info_frame(stream: bytes, samples: int) -> bytes:
    """Our frame for the audio frames of ``stream``, from what they show."""
    first = parse_header(stream).frame_bytes
    audio = stream[first:]
    offsets = frame_offsets(audio)
    header = parse_header(audio)
    return info_frame(
        encoder=ENCODER_LAME_3_100,
        sample_rate_hz=header.sample_rate_hz,
        bitrate_kbps=header.bitrate_kbps,
        frames=len(offsets),
        audio_bytes=len(audio),
        delay_samples=LAME_DELAY_SAMPLES,
        padding_samples=len(offsets) * header.samples_per_frame - LAME_DELAY_SAMPLES - samples,
        music_crc=crc16(audio),
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


class LameWithTag:
    """lameenc's own LAME 3.100 through ctypes, set up as lameenc sets it up but
    with the tag on, so LAME itself hands out the Info frame for the stream."""

    def __init__(self) -> None:
        try:
            self.lib = ctypes.CDLL(lameenc.__file__)
            self.lib.lame_get_lametag_frame  # noqa: B018
        except (OSError, AttributeError) as exc:
            pytest.skip(f"lameenc's LAME functions are not reachable through ctypes: {exc}")
        self.lib.lame_init.restype = ctypes.c_void_p
        self.lib.lame_get_lametag_frame.restype = ctypes.c_size_t
        handle, buffer, size = ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int
        self.lib.lame_get_lametag_frame.argtypes = [handle, buffer, ctypes.c_size_t]
        self.lib.lame_encode_buffer.argtypes = [handle, handle, handle, size, buffer, size]
        self.lib.lame_encode_flush.argtypes = [handle, buffer, size]

    def encode(
        self, pcm: np.ndarray, rate: int, kbps: int, quality: int
    ) -> tuple[bytes, bytes, int, int]:
        """(stream with LAME's zeroed first frame, LAME's Info frame, delay, padding)."""
        lib, handle = self.lib, ctypes.c_void_p(self.lib.lame_init())
        try:
            for setter, value in [
                ("num_channels", 1),
                ("in_samplerate", rate),
                ("brate", kbps),
                ("quality", quality),
            ]:
                getattr(lib, f"lame_set_{setter}")(handle, value)
            assert lib.lame_init_params(handle) >= 0
            out = ctypes.create_string_buffer(len(pcm) * 2 + 20000)
            data = pcm.ctypes.data_as(ctypes.c_void_p)
            made = lib.lame_encode_buffer(handle, data, data, len(pcm), out, len(out))
            stream = out.raw[:made]
            made = lib.lame_encode_flush(handle, out, len(out))
            stream += out.raw[:made]
            made = lib.lame_get_lametag_frame(handle, out, len(out))
            delay, padding = (
                lib.lame_get_encoder_delay(handle),
                lib.lame_get_encoder_padding(handle),
            )
            return stream, out.raw[:made], delay, padding
        finally:
            lib.lame_close(handle)


def lameenc_mp3(pcm: np.ndarray, rate: int, kbps: int, quality: int = 3) -> bytes:
    encoder = lameenc.Encoder()
    encoder.set_bit_rate(kbps)
    encoder.set_in_sample_rate(rate)
    encoder.set_channels(1)
    encoder.set_quality(quality)
    encoder.silence()
    return bytes(encoder.encode(pcm.tobytes())) + bytes(encoder.flush())


MPEG1_KBPS = [32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320]
MPEG2_KBPS = [8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160]
SETTINGS = [(rate, kbps, 3, 3000) for rate in (44100, 48000, 32000) for kbps in MPEG1_KBPS]
SETTINGS += [
    (rate, kbps, 3, 3000)
    for rate in (24000, 22050, 16000, 12000, 11025, 8000)
    for kbps in MPEG2_KBPS
]
SETTINGS += [(44100, kbps, quality, 3000) for kbps in (128, 192) for quality in range(10)]
# Frame counts where LAME's float32 seek-table arithmetic rounds differently from exact.
SETTINGS += [(44100, 128, 9, (frames - 1) * 1152 - 576) for frames in (50, 100, 401, 661)]


@pytest.mark.parametrize(("rate", "kbps", "quality", "samples"), SETTINGS)
def test_info_frame_is_the_frame_lameencs_lame_would_write(
    rate: int, kbps: int, quality: int, samples: int
) -> None:
    pcm = as_int16(noise(samples, kbps))
    stream, lame_frame, delay, padding = LameWithTag().encode(pcm, rate, kbps, quality)
    audio = stream[parse_header(stream).frame_bytes :] if lame_frame else stream
    # Switching the tag on changes nothing else: lameenc's frames are LAME's frames.
    assert lameenc_mp3(pcm, rate, kbps, quality) == audio
    header = parse_header(audio)
    frames = len(frame_offsets(audio))
    settings = {
        "sample_rate_hz": header.sample_rate_hz,  # LAME resamples when the bitrate is low
        "bitrate_kbps": header.bitrate_kbps,
        "frames": frames,
        "audio_bytes": len(audio),
        "delay_samples": delay,
        "padding_samples": padding,
        "music_crc": crc16(audio),
        "lame_quality": quality,
        "input_rate_hz": rate,
    }
    if not lame_frame:  # LAME writes no tag where it does not fit the frame; nor do we
        with pytest.raises(ValueError, match="too small"):
            info_frame(**settings)
        return
    assert info_frame(**settings) == lame_frame
    assert delay == LAME_DELAY_SAMPLES
    if header.sample_rate_hz == rate:
        assert frames * header.samples_per_frame == delay + samples + padding


def gapless_mp3(pcm: np.ndarray) -> bytes:
    """lameenc's frames behind our Info frame: what the export will write."""
    audio = lameenc_mp3(pcm, 44100, 128)
    frames = len(frame_offsets(audio))
    first = info_frame(
        sample_rate_hz=44100,
        bitrate_kbps=128,
        frames=frames,
        audio_bytes=len(audio),
        delay_samples=LAME_DELAY_SAMPLES,
        padding_samples=frames * 1152 - LAME_DELAY_SAMPLES - len(pcm),
        music_crc=crc16(audio),
    )
    return first + audio


def lag_of_best_match(decoded: np.ndarray, pcm: np.ndarray, max_lag: int = 200) -> int:
    decoded, pcm = decoded.astype(np.float64), pcm.astype(np.float64)
    core = pcm[max_lag:-max_lag]
    scores = [
        float(np.dot(decoded[max_lag + lag : len(pcm) - max_lag + lag], core))
        for lag in range(-max_lag, max_lag + 1)
    ]
    return int(np.argmax(scores)) - max_lag


LENGTHS = [1, 10 * 1152 - 576, 10 * 1152, 44100, 3 * 44100 + 17]


@pytest.mark.parametrize("samples", LENGTHS)
def test_decoders_return_exactly_the_encoded_samples(samples: int, tmp_path: Path) -> None:
    pcm = as_int16(noise(samples, samples))
    path = tmp_path / "session.mp3"
    path.write_bytes(gapless_mp3(pcm))
    decoded = miniaudio.decode_file(
        str(path), output_format=miniaudio.SampleFormat.SIGNED16, nchannels=1, sample_rate=44100
    )
    samples_out = np.asarray(decoded.samples, dtype=np.int16)
    assert len(samples_out) == samples
    if samples > 1000:
        assert lag_of_best_match(samples_out, pcm) == 0
    info = MP3(path).info
    assert info.length == pytest.approx(samples / 44100, abs=0.5 / 44100)
    # mutagen's bitrate is the Info tag's bytes over all frames' duration: 417.96-byte frames.
    assert info.bitrate == pytest.approx(128000, rel=0.002)
    assert (info.bitrate_mode, info.sample_rate, info.channels) == (BitrateMode.CBR, 44100, 1)
    assert info.encoder_info.startswith("LAME 4.0")


def test_without_our_frame_the_length_is_wrong() -> None:
    # The contrast that makes the frame worth writing: lameenc's frames alone decode long.
    pcm = as_int16(noise(44100))
    decoded = miniaudio.decode(lameenc_mp3(pcm, 44100, 128), nchannels=1, sample_rate=44100)
    assert len(decoded.samples) != 44100
    assert len(miniaudio.decode(gapless_mp3(pcm), nchannels=1, sample_rate=44100).samples) == 44100


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg is not installed")
@pytest.mark.parametrize("samples", LENGTHS)
def test_ffmpeg_returns_exactly_the_encoded_samples(samples: int, tmp_path: Path) -> None:
    pcm = as_int16(noise(samples, samples))
    path = tmp_path / "session.mp3"
    path.write_bytes(gapless_mp3(pcm))
    command = ["ffmpeg", "-v", "error", "-i", str(path), "-f", "s16le", "-ac", "1", "-"]
    done = subprocess.run(command, capture_output=True, check=True, timeout=60)
    decoded = np.frombuffer(done.stdout, dtype="<i2")
    assert len(decoded) == samples
    if samples > 1000:
        assert lag_of_best_match(decoded, pcm) == 0


def test_parse_info_frame_reads_back_what_info_frame_wrote() -> None:
    frame = info_frame(
        sample_rate_hz=48000, bitrate_kbps=96, frames=1000, audio_bytes=288_000,
        delay_samples=576, padding_samples=1300, music_crc=0xBEEF,
    )  # fmt: skip
    tag = parse_info_frame(frame)
    assert len(frame) == tag.header.frame_bytes == 288
    assert (tag.frames, tag.stream_bytes, tag.music_length) == (1000, 288_288, 288_288)
    assert (tag.delay_samples, tag.padding_samples, tag.music_crc) == (576, 1300, 0xBEEF)
    assert tag.decoded_samples == 1000 * 1152 - 576 - 1300
    assert (tag.encoder, tag.lowpass_hz, tag.bitrate_kbps, tag.preset, tag.quality) == (
        "LAME4.0 ",
        20500,
        96,
        96,
        57,
    )
    assert tag.tag_crc_ok
    damaged = bytearray(frame)
    damaged[60] ^= 1
    assert not parse_info_frame(bytes(damaged)).tag_crc_ok


def test_parse_info_frame_refuses_what_is_not_one() -> None:
    audio = lameenc_mp3(as_int16(noise(5000)), 44100, 128)
    frame = gapless_mp3(as_int16(noise(5000)))[:417]
    for data, why in [
        (audio, "no Info or Xing tag"),
        (b"", "data ends"),
        (b"ID3\x04" + bytes(500), "no MPEG Layer III frame header"),
        (frame[:150], "no LAME extension"),
        (frame[:25] + b"\x00\x00\x00\x07" + frame[29:], "lacks frames, bytes"),
    ]:
        with pytest.raises(ValueError, match=why):
            parse_info_frame(data)


def test_frame_offsets_walk_the_frames() -> None:
    audio = lameenc_mp3(as_int16(noise(44100)), 44100, 128)
    offsets = frame_offsets(audio)
    assert offsets[0] == 0
    assert set(np.diff(offsets).tolist()) == {417, 418}  # the padding bit spreads 417.96 bytes
    assert len(offsets) * 1152 >= 44100 + 576
    with pytest.raises(ValueError, match="cut short"):
        frame_offsets(audio[:-1])
    with pytest.raises(ValueError, match="no MPEG Layer III frame header at byte 417"):
        frame_offsets(audio[:417] + b"\x00" + audio[418:])


@pytest.mark.parametrize(
    ("rate", "kbps", "frames", "padding", "why"),
    [
        (44100, 100, 10, 0, "no MPEG Layer III stream"),
        (44000, 128, 10, 0, "no MPEG Layer III stream"),
        (44100, 40, 10, 0, "too small"),
        (44100, 128, 0, 0, "at least one frame"),
        (44100, 128, 10, 4096, "under 4096"),
    ],
)
def test_info_frame_refuses_impossible_streams(
    rate: int, kbps: int, frames: int, padding: int, why: str
) -> None:
    with pytest.raises(ValueError, match=why):
        info_frame(
            sample_rate_hz=rate, bitrate_kbps=kbps, frames=frames, audio_bytes=4000,
            delay_samples=576, padding_samples=padding, music_crc=0,
        )  # fmt: skip
