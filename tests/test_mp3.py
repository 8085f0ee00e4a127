"""MP3 in parts: joins only in silence, decoded by other decoders to exactly the samples given."""

from __future__ import annotations

import itertools
from pathlib import Path

import miniaudio
import numpy as np
import pytest
import soundfile

from voiceguide.outputs import lametag, mp3
from voiceguide.outputs.encode import AudioJob, AudioWriter, write_audio_files

RATE = 44100
PART = 2 * RATE  # short parts, so a few seconds of audio have several joins


def bursts(seconds: float, seed: int = 1) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """Speech-like noise bursts with digital silence between them, and those silences."""
    rng = np.random.default_rng(seed)
    pcm = np.zeros(int(seconds * RATE), dtype=np.float32)
    silences = []
    position = 0
    while position < len(pcm):
        loud = int(rng.uniform(0.3, 1.2) * RATE)
        quiet = int(rng.uniform(0.2, 0.9) * RATE)
        burst = rng.standard_normal(min(loud, len(pcm) - position)) * 0.1
        burst *= np.hanning(len(burst))  # clips fade in and out, as the render's do
        pcm[position : position + len(burst)] = burst
        position += len(burst)
        if position < len(pcm):
            silences.append((position, min(len(pcm), position + quiet)))
        position += quiet
    return pcm, silences


def decoded(path: Path) -> dict[str, np.ndarray]:
    by_miniaudio = miniaudio.decode_file(
        str(path), output_format=miniaudio.SampleFormat.FLOAT32, nchannels=1, sample_rate=RATE
    )
    by_mpg123, rate = soundfile.read(str(path), dtype="float32")
    assert rate == RATE
    return {
        "miniaudio": np.asarray(by_miniaudio.samples, dtype=np.float32),
        "mpg123": np.asarray(by_mpg123, dtype=np.float32),
    }


def write_parts(path: Path, pcm: np.ndarray, silences: list[tuple[int, int]], workers: int) -> None:
    def render(start: int, stop: int) -> list[np.ndarray]:
        return [pcm[a : min(stop, a + 5000)] for a in range(start, stop, 5000)]

    job = AudioJob(path, 0, len(pcm), render, silences)
    write_audio_files([job], RATE, 128, workers, part_s=PART / RATE)


def test_parts_join_inside_silences_and_cover_the_audio_but_the_joins() -> None:
    pcm, silences = bursts(30.0)
    parts = mp3.plan_parts(0, len(pcm), silences, RATE, PART)
    assert len(parts) >= 5
    assert parts[0][0] == 0 and parts[-1][1] == len(pcm)
    for (_, end), (next_start, _) in itertools.pairwise(parts):
        assert next_start - end == mp3.JOIN_SAMPLES
        # The join, and a guard on either side, lie in one silence.
        low, high = end - mp3.JOIN_GUARD_SAMPLES, next_start + mp3.JOIN_GUARD_SAMPLES
        assert any(a <= low and high <= b for a, b in silences)
    for start, end in parts[:-1]:
        assert (mp3.ENCODER_DELAY_SAMPLES + end - start) % mp3.FRAME_SAMPLES == 0
        assert end - start >= PART


def test_no_silence_or_no_room_means_one_part() -> None:
    assert mp3.plan_parts(0, 10 * PART, [], RATE, PART) == [(0, 10 * PART)]
    short = [(PART + 100, PART + 100 + 2 * mp3.JOIN_GUARD_SAMPLES)]  # too short for a join
    assert mp3.plan_parts(0, 10 * PART, short, RATE, PART) == [(0, 10 * PART)]
    assert mp3.plan_parts(500, 800, [(0, 10**6)], RATE, PART) == [(500, 800)]
    assert mp3.plan_parts(0, 10 * PART, [(0, 10 * PART)], 22050, PART) == [(0, 10 * PART)]


def test_a_joined_file_decodes_to_exactly_the_samples_in_place(tmp_path: Path) -> None:
    pcm, silences = bursts(20.0)
    assert len(mp3.plan_parts(0, len(pcm), silences, RATE, PART)) >= 4
    joined, single = tmp_path / "joined.mp3", tmp_path / "single.mp3"
    write_parts(joined, pcm, silences, workers=2)
    with AudioWriter(single, RATE) as writer:
        writer.write(pcm)
    reference = decoded(single)
    for decoder, audio in decoded(joined).items():
        assert len(audio) == len(pcm), decoder
        # As close to the input as one stream is: nothing moved, nothing added at the joins.
        error = np.abs(audio - pcm)
        single_error = np.abs(reference[decoder] - pcm)
        assert error.max() < 1.5 * single_error.max() + 1e-3, decoder
        assert np.sqrt(np.mean(error**2)) < 1.2 * np.sqrt(np.mean(single_error**2)), decoder
        for start, stop in silences:
            inside = slice(start + mp3.JOIN_GUARD_SAMPLES, stop - mp3.JOIN_GUARD_SAMPLES)
            assert np.abs(audio[inside]).max(initial=0.0) < 1e-3, decoder


def test_the_file_does_not_depend_on_the_number_of_threads(tmp_path: Path) -> None:
    pcm, silences = bursts(12.0, seed=4)
    files = [tmp_path / f"{workers}.mp3" for workers in (1, 3)]
    for path, workers in zip(files, (1, 3), strict=True):
        write_parts(path, pcm, silences, workers)
    assert files[0].read_bytes() == files[1].read_bytes()


def test_the_info_frame_counts_every_frame_and_the_music_crc(tmp_path: Path) -> None:
    pcm, silences = bursts(12.0, seed=5)
    path = tmp_path / "s.mp3"
    write_parts(path, pcm, silences, workers=2)
    data = path.read_bytes()
    info = lametag.parse_info_frame(data)
    size = lametag.info_frame_bytes(RATE, 128)
    music = data[size:]
    assert info.frames == len(lametag.frame_offsets(music))
    assert info.delay_samples == mp3.ENCODER_DELAY_SAMPLES
    assert info.decoded_samples == len(pcm) and info.tag_crc_ok
    assert info.music_crc == lametag.crc16(music)


def test_a_failing_render_stops_every_thread_and_raises(tmp_path: Path) -> None:
    pcm, silences = bursts(12.0, seed=6)
    calls = []

    def render(start: int, stop: int) -> list[np.ndarray]:
        calls.append(start)
        if start > 0:
            raise RuntimeError("render failed")
        return [pcm[start:stop]]

    job = AudioJob(tmp_path / "x.mp3", 0, len(pcm), render, silences)
    with pytest.raises(RuntimeError, match="render failed"):
        write_audio_files([job], RATE, 128, 2, part_s=PART / RATE)
    assert 0 in calls and len(calls) >= 2


# --- the level LAME gives back ------------------------------------------------------------

ALL_KBPS = (64, 80, 96, 112, 128, 160, 192, 224, 256, 320)


def test_the_input_scale_is_the_one_lame_applies() -> None:
    import ctypes

    import lameenc

    try:
        lib = ctypes.CDLL(lameenc.__file__)
        lib.lame_get_scale.restype = ctypes.c_float
    except (OSError, AttributeError) as exc:
        pytest.skip(f"lameenc's LAME functions are not reachable through ctypes: {exc}")
    lib.lame_init.restype = ctypes.c_void_p
    for kbps in ALL_KBPS:
        handle = ctypes.c_void_p(lib.lame_init())
        try:
            lib.lame_set_num_channels(handle, 1)
            lib.lame_set_in_samplerate(handle, RATE)
            lib.lame_set_brate(handle, kbps)
            lib.lame_set_quality(handle, mp3.LAME_QUALITY)
            assert lib.lame_init_params(handle) >= 0
            assert mp3.lame_input_scale(kbps) == pytest.approx(lib.lame_get_scale(handle)), kbps
        finally:
            lib.lame_close(handle)


@pytest.mark.parametrize("kbps", ALL_KBPS)
def test_a_tone_decodes_at_the_level_it_was_given(kbps: int) -> None:
    # LAME scales its input by 0.95 up to 160 kbit/s: 0.45 dB off the mastered level.
    seconds = np.arange(3 * RATE) / RATE
    tone = (0.3 * np.sin(2 * np.pi * 1000 * seconds)).astype(np.float32)
    lame = mp3.LameStream(RATE, kbps)
    frames = lame.encode(tone) + lame.flush()
    delay = mp3.ENCODER_DELAY_SAMPLES + 529  # LAME's and the decoder's, without an Info frame
    as_float = miniaudio.SampleFormat.FLOAT32
    out = np.asarray(miniaudio.decode(frames, as_float, 1, RATE).samples, dtype=np.float64)
    middle = slice(RATE // 2, -RATE // 2)
    given, heard = tone[middle].astype(float), out[delay : delay + len(tone)][middle]
    gain_db = 20 * np.log10(np.dot(given, heard) / np.dot(given, given))
    assert abs(gain_db) < 0.02
