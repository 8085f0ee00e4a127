"""What a command line is expected to do: `-` for stdin and stdout, -v/-q,
VOICEGUIDE_* environment variables, shell completion, the bundled examples."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import miniaudio
import mutagen.id3
import pytest
from cli_helpers import run_cli

REPO = Path(__file__).resolve().parent.parent
SCRIPTS = REPO / "scripts"
ENGINE = ["--engine", "test", "--no-cache"]
SCRIPT = """\
title: Piped session
steps:
  - say: Lie down.
  - pause: 1s
  - exercise: Knee hug
    say: Hug your knee.
    hold: 2s
"""


def voiceguide(
    args: list[str],
    cwd: Path,
    *,
    stdin: bytes = b"",
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[bytes]:
    """``voiceguide ARGS`` in its own process, as a shell runs it (stdout a pipe)."""
    environment = {**os.environ, "XDG_CACHE_HOME": str(cwd / "xdg"), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "voiceguide", *args],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        env=environment,
        timeout=300,
    )


def one_line(stderr: bytes) -> str:
    lines = stderr.decode().strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


# --- `-`: stdin and stdout -------------------------------------------------------------


def test_export_to_stdout_is_the_file_export_byte_for_byte(tmp_path: Path) -> None:
    (tmp_path / "piped.yaml").write_text(SCRIPT)
    streamed = voiceguide(["export", "piped.yaml", "-o", "-", *ENGINE], tmp_path)
    assert streamed.returncode == 0, streamed.stderr
    written = voiceguide(["export", "piped.yaml", "-o", "file.mp3", *ENGINE], tmp_path)
    assert written.returncode == 0, written.stderr
    assert streamed.stdout == (tmp_path / "file.mp3").read_bytes()
    assert not (tmp_path / "-").exists()
    # The report goes where a person reads it, not into the audio.
    assert one_line(streamed.stderr).startswith("wrote <stdout> (")
    decoded = miniaudio.decode(streamed.stdout, nchannels=1, sample_rate=44100)
    assert decoded.num_frames > 44100 * 4
    tags = mutagen.id3.ID3(io.BytesIO(streamed.stdout))
    assert str(tags["TIT2"]) == "Piped session"


def test_export_to_stdout_takes_its_format_from_format(tmp_path: Path) -> None:
    (tmp_path / "piped.yaml").write_text(SCRIPT)
    wav = voiceguide(["export", "piped.yaml", "-o", "-", "--format", "wav", *ENGINE], tmp_path)
    assert wav.returncode == 0, wav.stderr
    assert wav.stdout[:4] == b"RIFF" and wav.stdout[8:12] == b"WAVE"
    decoded = miniaudio.decode(wav.stdout, nchannels=1, sample_rate=44100)
    assert decoded.num_frames > 44100 * 4


@pytest.mark.parametrize("flag", ["--split", "--subtitles", "--stems"])
def test_what_cannot_go_to_a_stream_is_refused_in_one_line(tmp_path: Path, flag: str) -> None:
    # With an ambience, so that --stems has something to write.
    (tmp_path / "piped.yaml").write_text(SCRIPT + "ambience: rain\n")
    result = voiceguide(["export", "piped.yaml", "-o", "-", flag, *ENGINE], tmp_path)
    assert result.returncode == 2
    assert result.stdout == b""
    assert flag in one_line(result.stderr)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["piped.yaml"]


def test_check_reads_the_script_from_stdin(tmp_path: Path) -> None:
    result = voiceguide(["check", "-", *ENGINE], tmp_path, stdin=SCRIPT.encode())
    assert result.returncode == 0, result.stderr
    assert "Knee hug" in result.stdout.decode()
    bad = SCRIPT.replace("hold: 2s", "hodl: 2s").encode()
    refused = voiceguide(["check", "-", *ENGINE], tmp_path, stdin=bad)
    assert refused.returncode == 2
    assert one_line(refused.stderr).startswith("voiceguide: <stdin>:7:5: steps[2].hodl: ")


def test_export_reads_stdin_and_can_write_stdout(tmp_path: Path) -> None:
    (tmp_path / "piped.yaml").write_text(SCRIPT)
    piped = voiceguide(["export", "-", "-o", "-", *ENGINE], tmp_path, stdin=SCRIPT.encode())
    assert piped.returncode == 0, piped.stderr
    from_file = voiceguide(["export", "piped.yaml", "-o", "-", *ENGINE], tmp_path)
    assert piped.stdout == from_file.stdout
    named = voiceguide(["export", "-", *ENGINE], tmp_path, stdin=SCRIPT.encode())
    assert named.returncode == 0, named.stderr
    assert (tmp_path / "audio" / "stdin.mp3").read_bytes() == from_file.stdout


def test_a_file_named_dash_is_still_reachable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "-").write_text(SCRIPT)
    code, out, err = run_cli(["check", "./-", *ENGINE], capsys)
    assert code == 0, err
    assert "Knee hug" in out


# --- -v/--verbose, -q/--quiet ---------------------------------------------------------


def test_v_is_verbose_and_q_quiet_before_or_after_the_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    script = tmp_path / "piped.yaml"
    script.write_text(SCRIPT)
    for args in (["-q", "check", str(script)], ["check", str(script), "-q"]):
        assert run_cli([*args, *ENGINE], capsys) == (0, "", "")
    for args in (["-v", "check", str(script)], ["check", str(script), "-v"]):
        code, out, err = run_cli([*args, *ENGINE], capsys)
        assert code == 0, err
        assert "Knee hug" in out
    # --voice keeps its long form.
    code, out, err = run_cli(["check", str(script), "--voice", "any", *ENGINE], capsys)
    assert code == 0, err
    code, err = run_cli(["-v", "-q", "check", str(script), *ENGINE], capsys)[::2]
    assert code == 2 and "contradict" in err


def test_verbose_export_lists_each_cue_note(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    crowded = tmp_path / "crowded.yaml"
    # A hold of breaths leaves no room for every breathing cue: it has cue notes.
    crowded.write_text(
        "title: Crowded\nsteps:\n  - exercise: Bridge\n    say: Bridge.\n"
        "    hold: 5 breaths\n    breathe:\n      in: 2\n      out: 3\n"
    )
    code, plain, err = run_cli(["export", str(crowded), *ENGINE], capsys)
    assert code == 0, err
    assert "note: " not in plain
    code, out, _ = run_cli(["-v", "export", str(crowded), *ENGINE], capsys)
    assert code == 0
    notes = [line for line in out.splitlines() if line.startswith("  note: ")]
    assert notes and all("crowded.yaml:3: Bridge: " in note for note in notes)
