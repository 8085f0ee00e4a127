"""The command line: check, export (one, several, atomic), voices, schema, help."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import miniaudio
import numpy as np
import pytest
from cli_helpers import run_cli
from mutagen.id3 import ID3

from voiceguide import pipeline
from voiceguide.core import render

SCRIPT = """\
title: Tiny session
description: A short test session.
steps:
  - say: Lie down. Breathe easy.
  - pause: 1s
  - exercise: Knee hug
    sides: both
    say: Hug your {side} knee.
    hold: 4s
    release: Let go.
  - sound: chime
"""


run = run_cli


@pytest.fixture
def script(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(SCRIPT)
    return path


ENGINE = ["--engine", "test", "--no-cache"]


def test_check_json_has_the_spec_fields(script: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["check", str(script), "--json", *ENGINE], capsys)
    assert code == 0
    plan = json.loads(out)
    assert plan["title"] == "Tiny session"
    assert plan["duration"] > 0
    assert {"title", "start", "end"} <= set(plan["chapters"][0])
    assert [c["kind"] for c in plan["chapters"]] == ["introduction", "exercise", "exercise"]
    kinds = {e["kind"] for e in plan["events"]}
    assert kinds == {"speech", "silence", "tone", "hold"}
    for event in plan["events"]:
        assert {"kind", "start", "end", "step"} <= set(event)
    flat = [e for e in plan["events"] if e["kind"] in ("speech", "silence", "tone")]
    assert flat[0]["start"] == 0
    assert flat[-1]["end"] == plan["duration"]
    for a, b in itertools.pairwise(flat):
        assert a["end_sample"] == b["start_sample"]


def test_check_text_shows_plan_and_total(script: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["check", str(script), *ENGINE], capsys)
    assert code == 0
    assert "Knee hug (left)" in out and "Knee hug (right)" in out
    assert "say     Hug your left knee." in out
    assert "pause   1.00 s" in out
    assert out.rstrip().splitlines()[-1].startswith("Total: ")


def test_export_default_goes_to_audio_folder(
    script: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, _ = run(["export", str(script), *ENGINE], capsys)
    assert code == 0
    dest = tmp_path / "audio" / "tiny.mp3"
    assert dest.is_file()
    assert out.startswith(f"wrote {Path('audio') / 'tiny.mp3'} (")
    prepared = pipeline.prepare(script, pipeline.VoiceOptions(engine="test", use_cache=False))
    decoded = miniaudio.decode_file(str(dest), nchannels=1, sample_rate=44100)
    assert decoded.num_frames == prepared.timeline.duration_samples


def test_export_wav_by_suffix_is_sample_exact(
    script: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import soundfile

    dest = tmp_path / "out" / "tiny.wav"
    code, _, _ = run(["export", str(script), "-o", str(dest), *ENGINE], capsys)
    assert code == 0
    audio, rate = soundfile.read(str(dest), dtype="float32")
    prepared = pipeline.prepare(script, pipeline.VoiceOptions(engine="test", use_cache=False))
    expected = render.render_all(prepared.timeline, pipeline.mastered(prepared))
    assert rate == 44100
    assert len(audio) == len(expected)
    assert np.max(np.abs(audio - expected)) < 2 / 32768  # 16-bit quantisation only


def test_export_several_scripts_in_parallel(
    script: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "scripts"
    folder.mkdir()
    for name in ("one", "two", "three"):
        (folder / f"{name}.yaml").write_text(SCRIPT.replace("Tiny session", name))
    (folder / "notes.txt").write_text("not a script")
    out_dir = tmp_path / "audio"
    code, out, _ = run(["export", str(folder), "-o", str(out_dir), "-j", "2", *ENGINE], capsys)
    assert code == 0
    assert sorted(p.name for p in out_dir.iterdir()) == ["one.mp3", "three.mp3", "two.mp3"]
    assert out.count("wrote ") == 3


def test_one_bad_script_among_several_fails_alone(
    script: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "scripts"
    folder.mkdir()
    (folder / "good.yaml").write_text(SCRIPT)
    (folder / "bad.yaml").write_text("title: x\nsteps:\n  - pause: soon\n")
    out_dir = tmp_path / "audio"
    code, _, err = run(["export", str(folder), "-o", str(out_dir), "-j", "2", *ENGINE], capsys)
    assert code == 2
    assert "bad.yaml:3:12: steps[0].pause" in err
    assert [p.name for p in out_dir.iterdir()] == ["good.mp3"]


def test_interrupted_export_leaves_the_old_file_whole(
    script: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    dest = tmp_path / "tiny.mp3"
    dest.write_bytes(b"old file")
    chunks = render.render_chunks

    def interrupted(*args: object, **kwargs: object):  # type: ignore[no-untyped-def]
        for number, chunk in enumerate(chunks(*args, **kwargs)):  # type: ignore[arg-type]
            if number == 1:
                raise KeyboardInterrupt
            yield chunk

    monkeypatch.setattr(pipeline, "render_chunks", interrupted)
    code, _, err = run(
        ["export", str(script), "-o", str(dest), "--split", "--subtitles", *ENGINE], capsys
    )
    assert code == 130
    assert "interrupted" in err
    assert dest.read_bytes() == b"old file"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tiny.mp3", "tiny.yaml"]


def test_split_and_subtitles_write_companions(
    script: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dest = tmp_path / "tiny.mp3"
    code, _out, _ = run(
        ["export", str(script), "-o", str(dest), "--split", "--subtitles", *ENGINE], capsys
    )
    assert code == 0
    tracks = sorted(p.name for p in (tmp_path / "tiny").iterdir())
    assert tracks == ["01-introduction.mp3", "02-knee-hug-left.mp3", "03-knee-hug-right.mp3"]
    assert (tmp_path / "tiny.vtt").read_text().startswith("WEBVTT")
    assert "tiny/02-knee-hug-left.mp3" in (tmp_path / "tiny.m3u").read_text()


def test_split_again_removes_the_tracks_it_wrote_before_and_only_those(
    script: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    split = ["export", str(script), "-o", str(tmp_path / "tiny.mp3"), "--split", *ENGINE]
    split_wav = ["export", str(script), "-o", str(tmp_path / "tiny.wav"), "--split", *ENGINE]
    assert run(split, capsys)[0] == 0
    assert run(split_wav, capsys)[0] == 0
    folder = tmp_path / "tiny"
    # Files the user put beside the tracks, one named like a track.
    (folder / "notes.txt").write_text("mine", encoding="utf-8")
    (folder / "09-my-own-track.mp3").write_bytes(b"mine")
    # The script edited: one side instead of two, so one track fewer, renamed.
    script.write_text(SCRIPT.replace("sides: both", "sides: left"), encoding="utf-8")
    assert run(split, capsys)[0] == 0
    assert sorted(p.name for p in folder.iterdir()) == [
        "01-introduction.mp3",
        "01-introduction.wav",
        "02-knee-hug-left.mp3",
        "02-knee-hug-left.wav",
        "03-knee-hug-right.wav",  # the WAV export's own, untouched by the MP3 one
        "09-my-own-track.mp3",
        "notes.txt",
    ]
    tracks = [folder / "01-introduction.mp3", folder / "02-knee-hug-left.mp3"]
    assert [str(ID3(t)["TRCK"]) for t in tracks] == ["1/2", "2/2"]
    playlist = (tmp_path / "tiny.m3u").read_text(encoding="utf-8")
    assert "03-" not in playlist


def test_an_export_without_split_removes_the_tracks_an_earlier_split_wrote(
    script: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dest = tmp_path / "tiny.mp3"
    assert run(["export", str(script), "-o", str(dest), "--split", *ENGINE], capsys)[0] == 0
    wav = ["export", str(script), "-o", str(tmp_path / "tiny.wav"), "--split", *ENGINE]
    folder = tmp_path / "tiny"
    (folder / "notes.txt").write_text("mine", encoding="utf-8")
    assert run(["export", str(script), "-o", str(dest), *ENGINE], capsys)[0] == 0
    # What describes the earlier session goes; the user's own file stays.
    assert sorted(p.name for p in folder.iterdir()) == ["notes.txt"]
    assert not (tmp_path / "tiny.m3u").exists()
    assert not list(tmp_path.glob(".tiny.mp3.tracks"))
    # A playlist that lists another export's tracks is not this export's to remove.
    assert run(wav, capsys)[0] == 0
    assert run(["export", str(script), "-o", str(dest), "--split", *ENGINE], capsys)[0] == 0
    assert run(wav, capsys)[0] == 0  # the playlist now lists the WAV tracks
    assert run(["export", str(script), "-o", str(dest), *ENGINE], capsys)[0] == 0
    assert (tmp_path / "tiny.m3u").exists()
    assert sorted(p.suffix for p in folder.iterdir()) == [".txt", ".wav", ".wav", ".wav"]


def test_an_export_without_subtitles_or_stems_removes_those_an_earlier_one_wrote(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A transcript at the old times beside new audio misleads a player that
    # shows NAME.vtt; only what an export of this file wrote is removed.
    script = tmp_path / "tiny.yaml"
    script.write_text(SCRIPT + "ambience: rain\n")
    dest = tmp_path / "tiny.mp3"
    vtt, voice, bed = tmp_path / "tiny.vtt", tmp_path / "tiny.voice.mp3", tmp_path / "tiny.bed.mp3"
    export = ["export", str(script), "-o", str(dest), *ENGINE]
    assert run([*export, "--subtitles", "--stems"], capsys)[0] == 0
    assert vtt.exists() and voice.exists() and bed.exists()
    assert run([*export, "--stems"], capsys)[0] == 0
    assert not vtt.exists() and voice.exists() and bed.exists()
    assert run(export, capsys)[0] == 0
    assert not voice.exists() and not bed.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tiny.mp3", "tiny.yaml"]
    # A transcript the user put there, or one no list names, stays.
    vtt.write_text("WEBVTT\n\n00:00.000 --> 00:01.000\nmine\n", encoding="utf-8")
    assert run(export, capsys)[0] == 0
    assert vtt.read_text(encoding="utf-8").endswith("mine\n")


def test_a_tampered_track_list_removes_nothing_outside_the_tracks(
    script: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dest = tmp_path / "tiny.mp3"
    split = ["export", str(script), "-o", str(dest), "--split", *ENGINE]
    assert run(split, capsys)[0] == 0
    [manifest] = tmp_path.glob(".tiny.mp3.tracks")
    manifest.write_text("../tiny.yaml\n/etc/hostname\nnotes.txt\n", encoding="utf-8")
    (tmp_path / "tiny" / "notes.txt").write_text("mine", encoding="utf-8")
    assert run(split, capsys)[0] == 0
    assert script.exists() and (tmp_path / "tiny" / "notes.txt").exists()


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["-o", "x.ogg"], "unknown audio format '.ogg'"),
        (["--rate", "20"], "20 is not in the range 80<=x<=300"),
        (["--engine", "festival"], "unknown speech engine 'festival'"),
    ],
)
def test_bad_options_are_one_clear_line(
    script: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    words: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    code, _, err = run(["export", str(script), "--no-cache", *args], capsys)
    assert code == 2  # bad input, as every other bad flag
    assert words in err
    assert "Traceback" not in err
    assert not (tmp_path / "audio").exists() or not any((tmp_path / "audio").iterdir())


def test_voices_lists_engines_with_their_state(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["voices"], capsys)
    assert code == 0
    assert "espeak: available" in out
    assert "test: available" in out
    assert "pyttsx3:" in out


def test_schema_prints_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["schema"], capsys)
    assert code == 0
    assert json.loads(out)["$schema"].startswith("https://json-schema.org/")


def test_help_teaches(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["--help"], capsys)
    assert code == 0
    assert "voiceguide export scripts/back-spasm-relief.yaml" in out
    code, out, _ = run(["export", "--help"], capsys)
    assert "--split" in out and "-16 LUFS" in out


def test_cache_info_and_clear(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    script = tmp_path / "s.yaml"
    script.write_text("title: x\nsteps:\n  - say: One.\n  - say: Two.\n", encoding="utf-8")
    code, _, _ = run(["check", str(script), "--engine", "test"], capsys)
    assert code == 0
    code, out, _ = run(["cache", "info"], capsys)
    assert code == 0 and f"{tmp_path / 'voiceguide'}: 2 phrases" in out
    code, out, _ = run(["cache", "clear"], capsys)
    assert code == 0 and out.startswith("removed 2 phrases")
    code, out, _ = run(["cache", "info"], capsys)
    assert ": 0 phrases, 0.0 MB" in out


@pytest.mark.parametrize("bitrate", ["48", "100", "32"])
def test_a_bitrate_that_cannot_be_gapless_is_refused_before_any_work(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], bitrate: str
) -> None:
    out = tmp_path / "x.mp3"
    seed = Path(__file__).resolve().parent.parent / "scripts/back-spasm-relief.yaml"
    code, _, err = run_cli(["export", str(seed), "-o", str(out), "--bitrate", bitrate], capsys)
    assert code == 2
    assert "--bitrate" in err and not out.exists()
