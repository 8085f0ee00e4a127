"""The gapless Info/LAME header frame of a mono CBR MP3, written without LAME.

lameenc hands out raw frames and no Info frame, so decoders would not know the
encoder delay and padding. ``info_frame`` builds the byte-exact frame LAME
3.100 writes at the start of a mono CBR stream (the tests compare it with
LAME's own); ``crc16`` gives its music CRC over the whole stream fast enough
for hours of audio; ``frame_offsets`` walks a raw stream to count its frames.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import numpy.typing as npt

# The tag's encoder field. lameenc 1.9.0 bundles a LAME that calls itself 4.0 (the
# tests hold this to the wheel); pedalboard's is 3.100. Both write the same tag.
ENCODER_LAMEENC = b"LAME4.0 "
ENCODER_LAME_3_100 = b"LAME3.100"
LAME_DELAY_SAMPLES = 576  # where LAME 3.100 puts the first input sample

_KBPS = {3: (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320)}
_KBPS[2] = _KBPS[0] = (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160)
# Header version bits: 3 is MPEG-1, 2 is MPEG-2, 0 is MPEG-2.5.
_RATES_HZ = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}
_TAG_BYTES = 156  # "Info" up to the end of the tag CRC
# LAME's CBR lowpass table up to the first bitrate whose mono value (1.5x) passes 20500 Hz.
_LOWPASS_HZ = {8: 2000, 16: 3700, 24: 3900, 32: 5500, 40: 7000, 48: 7500, 56: 10000}
_LOWPASS_HZ |= {64: 11000, 80: 13500}


def _crc_of_byte(crc: int) -> int:
    for _ in range(8):
        crc = crc >> 1 ^ 0xA001 if crc & 1 else crc >> 1
    return crc


_TABLE = [_crc_of_byte(byte) for byte in range(256)]
_T = np.array(_TABLE, dtype=np.uint16)
_V = np.arange(65536)
# Two bytes at a time: they replace all 16 state bits, so the next state is one
# lookup of (state ^ little-endian word).
_WORD_TABLE = (_T[_V & 0xFF] >> 8) ^ _T[((_V >> 8) ^ _T[_V & 0xFF]) & 0xFF]
_BLOCK_BYTES = 1024  # bytes per lane: many lanes make each numpy step long
_CHUNK_BYTES = 8192 * _BLOCK_BYTES  # bounds the working set on long streams


def _as_bytes(
    data: bytes | bytearray | memoryview | npt.NDArray[np.generic],
) -> npt.NDArray[np.uint8]:
    if isinstance(data, np.ndarray):
        return np.ascontiguousarray(data).reshape(-1).view(np.uint8)
    return np.frombuffer(data, dtype=np.uint8)


def _crc_bytewise(data: npt.NDArray[np.uint8], crc: int) -> int:
    for byte in data.tolist():
        crc = crc >> 8 ^ _TABLE[(crc ^ byte) & 0xFF]
    return crc


@lru_cache(maxsize=64)
def _shift_tables(length: int) -> tuple[npt.NDArray[np.uint16], npt.NDArray[np.uint16]]:
    """Tables of the linear map "feed ``length`` zero bytes" for a state's low and high byte.

    CRC-16/ARC without init or xorout is linear over GF(2), so the map is known
    by the images of the 16 state bits; squaring the one-byte map reaches any length.
    """
    one_byte = [bit >> 8 ^ _TABLE[bit & 0xFF] for bit in (1 << i for i in range(16))]
    images = [1 << i for i in range(16)]
    step, remaining = one_byte, length
    while remaining:
        if remaining & 1:
            images = [_apply(step, image) for image in images]
        step = [_apply(step, image) for image in step]
        remaining >>= 1
    low = np.array([_apply(images, byte) for byte in range(256)], dtype=np.uint16)
    high = np.array([_apply(images, byte << 8) for byte in range(256)], dtype=np.uint16)
    return low, high


def _apply(images: list[int], state: int) -> int:
    out = 0
    for bit, image in enumerate(images):
        if state >> bit & 1:
            out ^= image
    return out


def _shift(states: npt.NDArray[np.uint16], length: int) -> npt.NDArray[np.uint16]:
    low, high = _shift_tables(length)
    return low[states & 0xFF] ^ high[states >> 8]


def crc16_combine(crc_a: int, crc_b: int, length_b: int) -> int:
    """The CRC-16/ARC of A+B from the CRCs of A and B and B's length in bytes."""
    return int(_shift(np.array([crc_a], dtype=np.uint16), length_b)[0]) ^ crc_b


def _crc_lanes(data: npt.NDArray[np.uint8]) -> int:
    """CRC of ``data`` (whole blocks): one lane per block, then a pairwise fold."""
    lanes = len(data) // _BLOCK_BYTES
    words = data.view("<u2").reshape(lanes, _BLOCK_BYTES // 2)
    state = np.zeros(lanes, dtype=np.uint16)
    mixed = np.empty_like(state)
    for column in range(_BLOCK_BYTES // 2):
        np.bitwise_xor(state, words[:, column], out=mixed)
        np.take(_WORD_TABLE, mixed, out=state)
    # Leading zero bytes leave a zero state, so zero lanes in front cost nothing.
    state = np.concatenate([np.zeros((-lanes) % (1 << (lanes - 1).bit_length()), np.uint16), state])
    length = _BLOCK_BYTES
    while len(state) > 1:
        state = _shift(state[0::2], length) ^ state[1::2]
        length *= 2
    return int(state[0])


def crc16(data: bytes | bytearray | memoryview | npt.NDArray[np.generic], crc: int = 0) -> int:
    """CRC-16/ARC (LAME's music and tag CRC) of ``data``, continuing from ``crc``."""
    array = _as_bytes(data)
    head = len(array) % _BLOCK_BYTES
    crc = _crc_bytewise(array[:head], crc)
    for start in range(head, len(array), _CHUNK_BYTES):
        chunk = array[start : start + _CHUNK_BYTES]
        crc = crc16_combine(crc, _crc_lanes(chunk), len(chunk))
    return crc


@dataclass(frozen=True)
class FrameHeader:
    version: int  # the header's version bits: 3 MPEG-1, 2 MPEG-2, 0 MPEG-2.5
    sample_rate_hz: int
    bitrate_kbps: int
    frame_bytes: int
    samples_per_frame: int
    mono: bool

    @property
    def side_info_bytes(self) -> int:
        return (17 if self.mono else 32) if self.version == 3 else (9 if self.mono else 17)


def parse_header(data: bytes | memoryview, offset: int = 0) -> FrameHeader:
    """The MPEG audio Layer III frame header at ``offset``; ValueError if there is none."""
    if len(data) < offset + 4:
        raise ValueError(f"no MPEG frame header at byte {offset}: the data ends")
    b1, b2, b3 = data[offset + 1], data[offset + 2], data[offset + 3]
    version, kbps_index, rate_index = b1 >> 3 & 3, b2 >> 4, b2 >> 2 & 3
    if data[offset] != 0xFF or b1 & 0xE6 != 0xE2 or version == 1:
        raise ValueError(f"no MPEG Layer III frame header at byte {offset}")
    if kbps_index in (0, 15) or rate_index == 3:
        raise ValueError(f"bad bitrate or sample rate in the frame header at byte {offset}")
    rate, kbps = _RATES_HZ[version][rate_index], _KBPS[version][kbps_index]
    size = (144000 if version == 3 else 72000) * kbps // rate + (b2 >> 1 & 1)
    return FrameHeader(version, rate, kbps, size, 1152 if version == 3 else 576, b3 >> 6 == 3)


def whole_frames(data: bytes | bytearray | memoryview) -> tuple[npt.NDArray[np.int64], int]:
    """Byte offsets of the whole frames a raw Layer III stream starts with, and the
    bytes they span: what LAME has handed out so far may end inside a frame."""
    offsets, offset = [], 0
    view = memoryview(data)
    while offset + 4 <= len(view):
        size = parse_header(view, offset).frame_bytes
        if offset + size > len(view):
            break
        offsets.append(offset)
        offset += size
    return np.array(offsets, dtype=np.int64), offset


def frame_offsets(data: bytes | bytearray | memoryview) -> npt.NDArray[np.int64]:
    """Byte offsets of the frames of a raw Layer III stream, which must end on a frame."""
    offsets, end = whole_frames(data)
    if end != len(data):
        raise ValueError(f"the last frame, at byte {end}, is cut short")
    return offsets


def lame_lowpass_hz(bitrate_kbps: int, sample_rate_hz: int) -> int:
    """LAME's mono CBR lowpass: its table times 1.5, at most 20500 Hz and Nyquist."""
    return min(_LOWPASS_HZ.get(bitrate_kbps, 20500) * 3 // 2, 20500, sample_rate_hz // 2)


def _lame_toc(frames: int, bitrate_kbps: int) -> bytes:
    """The seek table as LAME fills it: its 400-slot bag of running bitrate sums.

    LAME keeps every ``want``-th sum and halves the bag when it is full, then
    reads it in float32; copying that (not exact byte offsets) gives its bytes.
    """
    bag: list[int] = []
    want, seen, counted = 1, 0, 0
    while frames - counted >= want - seen:
        counted += want - seen
        seen = 0
        bag.append(counted * bitrate_kbps)
        if len(bag) == 400:
            bag, want = bag[1::2], want * 2
    toc = bytearray(100)
    total = float(np.float32(frames * bitrate_kbps))
    for i in range(1, 100):
        where = np.float32(i) / np.float32(100) * np.float32(len(bag))
        index = min(int(np.floor(where)), len(bag) - 1)
        toc[i] = min(int(256.0 * float(np.float32(bag[index])) / total), 255)
    return bytes(toc)


def _info_header(sample_rate_hz: int, bitrate_kbps: int) -> bytes:
    version = next((v for v, rates in _RATES_HZ.items() if sample_rate_hz in rates), None)
    if version is None or bitrate_kbps not in _KBPS[version][1:]:
        raise ValueError(
            f"no MPEG Layer III stream is {bitrate_kbps} kbit/s at {sample_rate_hz} Hz"
        )
    rate_index = _RATES_HZ[version].index(sample_rate_hz)
    kbps_index = _KBPS[version].index(bitrate_kbps)
    # Mono, no CRC, no padding, "original" set: the header LAME gives its audio frames.
    return bytes([0xFF, 0xE3 | version << 3, kbps_index << 4 | rate_index << 2, 0xC4])


def info_frame_bytes(sample_rate_hz: int, bitrate_kbps: int) -> int:
    """The size of the frame ``info_frame`` makes, known before its contents are."""
    return parse_header(_info_header(sample_rate_hz, bitrate_kbps)).frame_bytes


def info_frame(
    *,
    sample_rate_hz: int,
    bitrate_kbps: int,
    frames: int,
    audio_bytes: int,
    delay_samples: int,
    padding_samples: int,
    music_crc: int,
    lame_quality: int = 3,
    lowpass_hz: int | None = None,
    input_rate_hz: int | None = None,
    encoder: bytes = ENCODER_LAMEENC,
) -> bytes:
    """The first frame LAME 3.100 writes for a mono CBR stream: Info tag and LAME extension.

    ``frames`` and ``audio_bytes`` count the audio frames after this one and
    their bytes; ``music_crc`` is ``crc16`` of those bytes. ``lame_quality``
    is the encoder's -q (lameenc's ``set_quality``); ``input_rate_hz`` is the
    PCM rate when LAME resampled (it picks a lower rate below 64 kbit/s).
    """
    header = _info_header(sample_rate_hz, bitrate_kbps)
    layout = parse_header(header)
    tag_start = 4 + layout.side_info_bytes
    if layout.frame_bytes < tag_start + _TAG_BYTES:
        raise ValueError(
            f"a {bitrate_kbps} kbit/s frame at {sample_rate_hz} Hz is too small for the LAME tag"
        )
    if frames < 1 or not 0 <= delay_samples < 4096 or not 0 <= padding_samples < 4096:
        raise ValueError("the LAME tag needs at least one frame and delay and padding under 4096")
    quality = 7 if lame_quality == 8 else lame_quality  # LAME runs -q 8 as -q 7
    # Measured on LAME 3.100 mono CBR: no noise shaping from -q 7, and less from 192 kbit/s.
    noise_shaping = 0 if quality >= 7 else 2 if bitrate_kbps < 192 else 1
    source_rate = input_rate_hz or sample_rate_hz
    source_code = (source_rate > 32000) + (source_rate >= 48000) + (source_rate > 48000)
    # Bit 5 is LAME's "unwise settings" flag, which it sets for any input at 32 kHz or less.
    misc = noise_shaping | (source_rate <= 32000) << 5 | source_code << 6
    lowpass = lame_lowpass_hz(bitrate_kbps, sample_rate_hz) if lowpass_hz is None else lowpass_hz
    stream_bytes = layout.frame_bytes + audio_bytes
    xing = struct.pack(">4sIII", b"Info", 0x0F, frames, stream_bytes)
    xing += _lame_toc(frames, bitrate_kbps) + struct.pack(">I", max(0, 60 - quality))
    lame = struct.pack(">9sBBIHH", encoder, 0x01, min(int(lowpass / 100 + 0.5), 255), 0, 0, 0)
    # 0x14: ATH type 4 and the NsPsytune model, all LAME 3.100 uses for mono CBR.
    lame += bytes([0x14, min(bitrate_kbps, 255), delay_samples >> 4])
    lame += bytes([(delay_samples & 0xF) << 4 | padding_samples >> 8, padding_samples & 0xFF])
    # The preset field holds the bitrate: LAME applies the CBR bitrate as a preset.
    lame += struct.pack(">BBHIH", misc, 0, bitrate_kbps, stream_bytes, music_crc & 0xFFFF)
    frame = header + bytes(layout.side_info_bytes) + xing + lame
    frame += struct.pack(">H", crc16(frame))
    return frame + bytes(layout.frame_bytes - len(frame))


@dataclass(frozen=True)
class InfoTag:
    """What an Info/Xing frame with a LAME extension says (``parse_info_frame``)."""

    header: FrameHeader
    frames: int
    stream_bytes: int
    toc: bytes
    quality: int
    encoder: str
    lowpass_hz: int
    encoding_flags: int  # NsPsytune etc. in the high nibble, ATH type in the low one
    bitrate_kbps: int  # the LAME field: the CBR/ABR bitrate, 255 meaning 255 or more
    delay_samples: int
    padding_samples: int
    misc: int
    preset: int
    music_length: int
    music_crc: int
    tag_crc: int
    tag_crc_ok: bool

    @property
    def decoded_samples(self) -> int:
        """The samples a gapless decoder returns: all frames' minus delay and padding."""
        return (
            self.frames * self.header.samples_per_frame - self.delay_samples - self.padding_samples
        )


def parse_info_frame(data: bytes) -> InfoTag:
    """The Info/Xing tag and LAME extension of a stream's first frame; ValueError if absent."""
    header = parse_header(data)
    at = 4 + header.side_info_bytes
    if data[at : at + 4] not in (b"Info", b"Xing"):
        raise ValueError("the first frame holds no Info or Xing tag")
    if struct.unpack_from(">I", data, at + 4)[0] != 0x0F:
        raise ValueError("the Info tag lacks frames, bytes, seek table or quality")
    end = at + _TAG_BYTES
    if len(data) < end or header.frame_bytes < end or data[at + 120 : at + 124] != b"LAME":
        raise ValueError("the Info tag has no LAME extension")
    frames, stream_bytes = struct.unpack_from(">II", data, at + 8)
    (quality,) = struct.unpack_from(">I", data, at + 116)
    lame = data[at + 120 : end]
    delay_padding = int.from_bytes(lame[21:24], "big")
    preset, music_length, music_crc, tag_crc = struct.unpack_from(">HIHH", lame, 26)
    return InfoTag(
        header, frames, stream_bytes, bytes(data[at + 16 : at + 116]), quality,
        lame[:9].rstrip(b"\x00").decode("latin-1"), lame[10] * 100, lame[19], lame[20],
        delay_padding >> 12, delay_padding & 0xFFF, lame[24], preset & 0x7FF,
        music_length, music_crc, tag_crc, tag_crc_ok=crc16(data[: end - 2]) == tag_crc,
    )  # fmt: skip
