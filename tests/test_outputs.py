"""Exports checked with decoders that are not the encoder (miniaudio, soundfile)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import miniaudio
import numpy as np
import pytest
import soundfile
from mutagen.id3 import ID3, CTOCFlags
from mutagen.mp3 import MP3, BitrateMode
from mutagen.wave import WAVE

from voiceguide.core.model import Chapter, Event, Timeline
from voiceguide.errors import OutputError
from voiceguide.outputs.atomic import AtomicFiles, display_path, write_text_atomic
from voiceguide.outputs.encode import SUPPORTED_SUFFIXES, AudioWriter
from voiceguide.outputs.playlist import m3u
from voiceguide.outputs.tags import Tags, chapters_from_timeline, write_tags
from voiceguide.outputs.vtt import timeline_to_webvtt

RATE = 44100
LENGTH = int(2.5 * RATE) + 17
CHUNKS = (1, 0, 7, 999, 4097, 3)  # odd sizes, one empty, repeated


def sine(n: int = LENGTH) -> np.ndarray:
    t = np.arange(n) / RATE
    return (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)


def encode(path: Path, audio: np.ndarray, bitrate_kbps: int = 128) -> None:
    with AudioWriter(path, RATE, bitrate_kbps=bitrate_kbps) as writer:
        i = 0
        while i < len(audio):
            for size in CHUNKS:
                writer.write(audio[i : i + size])
                i += size
        assert writer.samples_written == len(audio)


def decode_miniaudio(path: Path) -> np.ndarray:
    decoded = miniaudio.decode_file(
        str(path), output_format=miniaudio.SampleFormat.FLOAT32, nchannels=1, sample_rate=RATE
    )
    return np.asarray(decoded.samples, dtype=np.float32)


def decode_soundfile(path: Path) -> np.ndarray:
    samples, rate = soundfile.read(str(path), dtype="float32")
    assert rate == RATE
    return np.asarray(samples)


def mp3_info(path: Path) -> Any:
    # mutagen's type hints leave out most of MPEGInfo's attributes.
    return MP3(path).info


def best_correlation(a: np.ndarray, b: np.ndarray, max_lag: int = 2000) -> float:
    # A gapless decoder should need no lag at all; the search only keeps a
    # decoder that is off by a few samples from failing on the wrong count.
    best = -1.0
    for lag in range(-max_lag, max_lag + 1, 1):
        x = a[max(lag, 0) : len(a) + min(lag, 0)]
        y = b[max(-lag, 0) : len(b) + min(-lag, 0)]
        n = min(len(x), len(y))
        best = max(best, float(np.corrcoef(x[:n], y[:n])[0, 1]))
        if best > 0.999:
            break
    return best


@pytest.mark.parametrize("suffix", SUPPORTED_SUFFIXES)
def test_exports_decode_to_exactly_the_samples_written(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"session{suffix}"
    audio = sine()
    encode(path, audio)
    for decoded in (decode_miniaudio(path), decode_soundfile(path)):
        assert len(decoded) == LENGTH
        assert best_correlation(audio, decoded) > 0.99


@pytest.mark.parametrize("bitrate", [64, 128, 192])
def test_mp3_is_cbr_mono_at_the_requested_bitrate(tmp_path: Path, bitrate: int) -> None:
    path = tmp_path / "session.mp3"
    encode(path, sine(), bitrate)
    info = mp3_info(path)
    assert info.bitrate_mode == BitrateMode.CBR
    assert info.bitrate == bitrate * 1000
    assert info.channels == 1
    assert info.sample_rate == RATE


def test_wav_is_16_bit_pcm_mono(tmp_path: Path) -> None:
    path = tmp_path / "session.wav"
    encode(path, sine())
    info = soundfile.info(str(path))
    assert (info.subtype, info.channels, info.frames) == ("PCM_16", 1, LENGTH)


def test_a_first_chunk_of_one_sample_is_not_ambiguous(tmp_path: Path) -> None:
    path = tmp_path / "one.wav"
    with AudioWriter(path, RATE) as writer:
        writer.write(np.array([0.25], dtype=np.float32))
    assert decode_soundfile(path) == pytest.approx([0.25], abs=1e-4)


def test_unsupported_suffix_lists_the_supported_ones(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match=r"\.mp3, \.wav"):
        AudioWriter(tmp_path / "x.ogg", RATE)
    assert not (tmp_path / "x.ogg").exists()


def test_impossible_mp3_bitrate_is_an_output_error(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match="not 100"):
        AudioWriter(tmp_path / "x.mp3", RATE, bitrate_kbps=100)


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_full_disk_while_encoding_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "full.wav"
    path.symlink_to("/dev/full")
    with (
        pytest.raises(OutputError, match=r"full\.wav: the disk is full"),
        AudioWriter(path, RATE) as writer,
    ):
        writer.write(np.zeros(RATE * 10, dtype=np.float32))


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
@pytest.mark.parametrize("suffix", SUPPORTED_SUFFIXES)
def test_full_disk_while_finishing_names_the_file(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"full{suffix}"
    path.symlink_to("/dev/full")
    writer = AudioWriter(path, RATE)
    writer.write(np.zeros(10, dtype=np.float32))  # small enough to stay buffered
    with pytest.raises(OutputError, match=r"full\.[a-z0-9]+: the disk is full"):
        writer.close()
    writer.close()  # a second close has nothing left to do


TAGS = Tags(
    title="Morning stretch",
    album="Daily routines",
    artist="voiceguide",
    comment="Ünïcode & more",
    track=(2, 7),
    chapters=(("Warm-up", 0, 1000), ("Neck rolls", 1000, 2000), ("Rest", 2000, 2500)),
)


def check_tags(id3: ID3) -> None:
    assert id3.version == (2, 3, 0)
    assert id3["TIT2"].text == ["Morning stretch"]
    assert id3["TALB"].text == ["Daily routines"]
    assert id3["TPE1"].text == ["voiceguide"]
    [comment] = id3.getall("COMM")
    assert (comment.lang, comment.text) == ("eng", ["Ünïcode & more"])
    assert id3["TRCK"].text == ["2/7"]
    chaps = sorted(id3.getall("CHAP"), key=lambda c: c.start_time)
    assert [c.element_id for c in chaps] == ["ch0", "ch1", "ch2"]
    read_back = tuple((c.sub_frames["TIT2"].text[0], c.start_time, c.end_time) for c in chaps)
    assert read_back == TAGS.chapters
    assert {(c.start_offset, c.end_offset) for c in chaps} == {(0xFFFFFFFF, 0xFFFFFFFF)}
    [toc] = id3.getall("CTOC")
    assert toc.element_id == "toc"
    assert toc.flags == CTOCFlags.TOP_LEVEL | CTOCFlags.ORDERED
    assert toc.child_element_ids == ["ch0", "ch1", "ch2"]


def test_mp3_tags_read_back_and_keep_the_length_exact(tmp_path: Path) -> None:
    path = tmp_path / "tagged.mp3"
    encode(path, sine())
    write_tags(path, TAGS)
    check_tags(ID3(path))
    assert mp3_info(path).bitrate_mode == BitrateMode.CBR
    assert len(decode_miniaudio(path)) == LENGTH
    assert len(decode_soundfile(path)) == LENGTH


def test_more_than_255_chapters_nest_their_table_of_contents(tmp_path: Path) -> None:
    # A CTOC counts its entries in one byte: 600 chapters need sub-tables.
    path = tmp_path / "long.mp3"
    encode(path, sine())
    chapters = tuple((f"Move {i}", i * 4, i * 4 + 4) for i in range(600))
    write_tags(path, Tags("Long", None, "voiceguide", None, None, chapters))
    id3 = ID3(path)
    tocs = {toc.element_id: toc for toc in id3.getall("CTOC")}
    top = tocs.pop("toc")
    assert top.flags == CTOCFlags.TOP_LEVEL | CTOCFlags.ORDERED
    assert top.child_element_ids == ["toc0", "toc1", "toc2"]
    assert [len(tocs[name].child_element_ids) for name in top.child_element_ids] == [255, 255, 90]
    assert all(toc.flags == CTOCFlags.ORDERED for toc in tocs.values())
    listed = [c for name in top.child_element_ids for c in tocs[name].child_element_ids]
    assert listed == [f"ch{i}" for i in range(600)]
    assert [c.element_id for c in id3.getall("CHAP")] == listed  # in the file, too
    chaps = {c.element_id: c for c in id3.getall("CHAP")}
    assert [(chaps[c].start_time, chaps[c].end_time) for c in listed] == [
        (start, end) for _, start, end in chapters
    ]


# Titles whose lengths do not grow with time: mutagen, left to itself, stores
# frames by size and so shuffles these.
TIMED = (
    ("Introduction", 0, 400),
    ("Relaxing breath", 400, 800),
    ("Single knee to chest (left)", 800, 1300),
    ("Single knee to chest (right)", 1300, 1900),
    ("Both knees to chest", 1900, 2300),
    ("Closing", 2300, 2500),
)


@pytest.mark.parametrize("suffix", [".mp3", ".wav"])
def test_chapter_frames_are_stored_in_time_order(suffix: str, tmp_path: Path) -> None:
    path = tmp_path / f"timed{suffix}"
    encode(path, sine())
    write_tags(path, Tags("Timed", None, "voiceguide", None, None, TIMED))
    id3 = ID3(path) if suffix == ".mp3" else WAVE(path).tags
    assert id3 is not None
    # getall lists frames in the order they were read from the file.
    in_file = [(c.sub_frames["TIT2"].text[0], c.start_time, c.end_time) for c in id3.getall("CHAP")]
    assert in_file == list(TIMED)


@pytest.mark.skipif(shutil.which("ffprobe") is None, reason="ffprobe (ffmpeg) is not installed")
def test_ffprobe_lists_the_chapters_in_time_order(tmp_path: Path) -> None:
    path = tmp_path / "timed.mp3"
    encode(path, sine())
    write_tags(path, Tags("Timed", None, "voiceguide", None, None, TIMED))
    command = ["ffprobe", "-v", "error", "-show_chapters", "-of", "json", str(path)]
    listed = json.loads(subprocess.run(command, capture_output=True, check=True).stdout)
    assert [
        (
            c["tags"]["title"],
            round(float(c["start_time"]) * 1000),
            round(float(c["end_time"]) * 1000),
        )
        for c in listed["chapters"]
    ] == list(TIMED)


def test_wav_tags_read_back_and_keep_the_length_exact(tmp_path: Path) -> None:
    path = tmp_path / "tagged.wav"
    encode(path, sine())
    write_tags(path, TAGS)
    tags = WAVE(path).tags
    assert tags is not None
    check_tags(tags)
    assert len(decode_miniaudio(path)) == LENGTH
    assert len(decode_soundfile(path)) == LENGTH


def test_optional_tags_are_left_out(tmp_path: Path) -> None:
    path = tmp_path / "plain.mp3"
    encode(path, sine(1000))
    write_tags(path, Tags("T", None, "A", None, None, ()))
    id3 = ID3(path)
    assert sorted(frame.FrameID for frame in id3.values()) == ["TIT2", "TPE1"]


def test_chapters_from_timeline_round_to_milliseconds() -> None:
    timeline = Timeline(
        title="t",
        sample_rate_hz=48000,
        duration_samples=96_000,
        events=(),
        chapters=(Chapter("a", 0, 24), Chapter("b", 24, 71), Chapter("c", 71, 96_000)),
    )
    # At 48 kHz 24 samples are 0.5 ms (half up: 1) and 71 are 1.479 ms (1).
    assert chapters_from_timeline(timeline) == (("a", 0, 1), ("b", 1, 1), ("c", 1, 2000))


def listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_atomic_success_replaces_the_existing_file(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_bytes(b"old")
    with AtomicFiles() as files:
        temp_a = files.temp_for(tmp_path / "a.txt")
        temp_b = files.temp_for(tmp_path / "b.mp3")
        assert temp_a.parent == tmp_path and temp_a.name.startswith(".a.txt.tmp-")
        assert temp_b.suffix == ".mp3" and temp_b.name.startswith(".")
        assert display_path(temp_b) == tmp_path / "b.mp3"
        temp_a.write_bytes(b"new")
        temp_b.write_bytes(b"mp3")
        assert (tmp_path / "a.txt").read_bytes() == b"old"
        assert not (tmp_path / "b.mp3").exists()
    assert (tmp_path / "a.txt").read_bytes() == b"new"
    assert (tmp_path / "b.mp3").read_bytes() == b"mp3"
    assert listing(tmp_path) == ["a.txt", "b.mp3"]


class Boom(Exception):
    pass


@pytest.mark.parametrize("interruption", [Boom, KeyboardInterrupt])
def test_atomic_failure_leaves_the_old_file_and_no_temps(
    tmp_path: Path, interruption: type[BaseException]
) -> None:
    old = bytes(range(256)) * 10
    (tmp_path / "a.mp3").write_bytes(old)
    with pytest.raises(interruption), AtomicFiles() as files:
        encode(files.temp_for(tmp_path / "a.mp3"), sine(5000))
        files.temp_for(tmp_path / "new" / "b.mp3").write_bytes(b"partial")
        raise interruption()
    assert (tmp_path / "a.mp3").read_bytes() == old
    assert listing(tmp_path) == ["a.mp3"]  # the folder made for b.mp3 is gone too


def test_atomic_failure_inside_an_audio_writer_leaves_nothing(tmp_path: Path) -> None:
    with (
        pytest.raises(KeyboardInterrupt),
        AtomicFiles() as files,
        AudioWriter(files.temp_for(tmp_path / "a.mp3"), RATE) as writer,
    ):
        writer.write(sine(3000))
        raise KeyboardInterrupt
    assert listing(tmp_path) == []


def test_atomic_full_disk_names_the_destination(tmp_path: Path) -> None:
    dest = tmp_path / "audio" / "x.mp3"
    with pytest.raises(OutputError) as caught, AtomicFiles() as files:
        temp = files.temp_for(dest)
        raise OSError(28, "No space left on device", str(temp))
    assert str(caught.value) == f"cannot write {dest}: the disk is full"
    assert listing(tmp_path) == []


def test_atomic_full_disk_on_commit_keeps_every_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "a.mp3").write_bytes(b"old a")

    def full(fd: int) -> None:
        raise OSError(28, "No space left on device")

    with pytest.raises(OutputError) as caught, AtomicFiles() as files:
        files.temp_for(tmp_path / "a.mp3").write_bytes(b"new a")
        files.temp_for(tmp_path / "b.mp3").write_bytes(b"new b")
        monkeypatch.setattr(os, "fsync", full)
    assert str(caught.value) == f"cannot write {tmp_path / 'a.mp3'}: the disk is full"
    assert (tmp_path / "a.mp3").read_bytes() == b"old a"
    assert listing(tmp_path) == ["a.mp3"]


def test_temporary_names_are_shown_as_their_destination(tmp_path: Path) -> None:
    with AtomicFiles() as files:
        for name in ("plain", ".hidden", "two.dots.wav"):
            temp = files.temp_for(tmp_path / name)
            assert temp.name != name
            assert display_path(temp) == tmp_path / name
    assert display_path(tmp_path / ".notes.txt") == tmp_path / ".notes.txt"


def test_atomic_destination_that_is_a_folder(tmp_path: Path) -> None:
    (tmp_path / "out.mp3").mkdir()
    with pytest.raises(OutputError, match=r"out\.mp3: it is a folder"), AtomicFiles() as files:
        files.temp_for(tmp_path / "out.mp3")
    assert listing(tmp_path) == ["out.mp3"]


def test_atomic_unwritable_folder(tmp_path: Path) -> None:
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        if os.access(folder, os.W_OK):
            pytest.skip("permissions do not stop this user (root)")
        with pytest.raises(OutputError, match=r"x\.mp3: permission denied"), AtomicFiles() as f:
            f.temp_for(folder / "x.mp3")
        assert listing(folder) == []
    finally:
        folder.chmod(0o700)


def test_atomic_permission_denied_even_for_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Root ignores a read-only folder, so the refusal is simulated where it
    # happens: creating the temporary file.
    real_open = os.open

    def refusing_open(path: str | Path, flags: int, mode: int = 0o777) -> int:
        if Path(path).parent == tmp_path:
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, flags, mode)

    monkeypatch.setattr(os, "open", refusing_open)
    with pytest.raises(OutputError) as caught, AtomicFiles() as files:
        files.temp_for(tmp_path / "x.mp3")
    assert str(caught.value) == f"cannot write {tmp_path / 'x.mp3'}: permission denied"


@pytest.mark.parametrize("dest", ["plain/x.mp3", "plain/deeper/x.mp3"])
def test_atomic_parent_that_is_a_file(tmp_path: Path, dest: str) -> None:
    # Unlike a read-only folder, this stops root too.
    (tmp_path / "plain").write_bytes(b"a file")
    expected = f"cannot write {tmp_path / dest}: {tmp_path / 'plain'} is not a folder"
    with pytest.raises(OutputError) as caught, AtomicFiles() as files:
        files.temp_for(tmp_path / dest)
    assert str(caught.value) == expected
    assert listing(tmp_path) == ["plain"]


def test_atomic_creates_missing_parent_folders(tmp_path: Path) -> None:
    dest = tmp_path / "a" / "b" / "c.vtt"
    write_text_atomic(dest, "WEBVTT\n")
    assert dest.read_text(encoding="utf-8") == "WEBVTT\n"
    assert listing(dest.parent) == ["c.vtt"]


def speech(start: int, end: int, text: str) -> Event:
    return Event("speech", start, end, step=0, text=text)


def test_webvtt_exact_text() -> None:
    rate = 1000
    hour = 3600 * rate
    timeline = Timeline(
        title="t",
        sample_rate_hz=rate,
        duration_samples=2 * hour,
        events=(
            speech(0, 1500, "Sit tall & breathe"),
            Event("silence", 1500, 2000, step=0),
            Event("tone", 2000, 2250, step=1, cue="chime"),
            speech(2250, 4000, "Lift <both> arms\nslowly -->"),
            speech(hour + 61_001, hour + 125_999, "Well done"),
            speech(hour + 130_000, hour + 130_000, "no time, no cue"),
        ),
        chapters=(Chapter("Start", 0, 2 * hour),),
    )
    assert timeline_to_webvtt(timeline) == (
        "WEBVTT\n"
        "\n"
        "00:00:00.000 --> 00:00:01.500\n"
        "Sit tall &amp; breathe\n"
        "\n"
        "00:00:02.250 --> 00:00:04.000\n"
        "Lift &lt;both&gt; arms slowly --&gt;\n"
        "\n"
        "01:01:01.001 --> 01:02:05.999\n"
        "Well done\n"
    )


def test_webvtt_rounds_sample_positions_to_milliseconds() -> None:
    timeline = Timeline("t", 44100, 44100, (speech(22, 44078, "Hi"),), ())
    # 22 samples is 0.499 ms, 44078 is 999.501 ms.
    assert timeline_to_webvtt(timeline) == "WEBVTT\n\n00:00:00.000 --> 00:00:01.000\nHi\n"


def test_webvtt_of_a_silent_timeline_is_just_the_header() -> None:
    assert timeline_to_webvtt(Timeline("t", 44100, 0, (), ())) == "WEBVTT\n"


def test_m3u_exact_text() -> None:
    entries = [(2.5, "Morning, stretch", "morning.mp3"), (1799.4, "Evening\nwind-down", "#2.mp3")]
    assert m3u(entries) == (
        "#EXTM3U\n"
        "#EXTINF:3,Morning, stretch\n"
        "morning.mp3\n"
        "#EXTINF:1799,Evening wind-down\n"
        "./#2.mp3\n"
    )


def test_m3u_rejects_a_path_with_a_line_break() -> None:
    with pytest.raises(ValueError, match="line break"):
        m3u([(1.0, "t", "a\nb.mp3")])
