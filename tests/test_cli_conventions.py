"""What a command line is expected to do: `-` for stdin and stdout, -v/-q,
VOICEGUIDE_* environment variables, shell completion, the bundled examples."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import urllib.request
import zipfile
from pathlib import Path

import miniaudio
import mutagen.id3
import mutagen.mp3
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


@pytest.fixture
def script(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """SCRIPT in a file, in the folder the command runs in."""
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "piped.yaml"
    path.write_text(SCRIPT)
    return path


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


def test_audio_is_not_written_to_a_terminal(script: Path, tmp_path: Path) -> None:
    import pty

    leader, terminal = pty.openpty()
    try:
        result = subprocess.run(
            [sys.executable, "-m", "voiceguide", "export", "piped.yaml", "-o", "-", *ENGINE],
            cwd=tmp_path,
            stdout=terminal,
            stderr=subprocess.PIPE,
            timeout=120,
        )
    finally:
        os.close(terminal)
        os.close(leader)
    assert result.returncode == 2
    assert one_line(result.stderr) == (
        "voiceguide: -o - would write audio to the terminal; redirect or pipe it"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["piped.yaml"]


def _stderr_on_a_terminal(args: list[str], cwd: Path) -> tuple[int, str, str]:
    """``voiceguide ARGS`` with stderr on a pseudo-terminal: (status, stdout, terminal)."""
    import pty

    leader, terminal = pty.openpty()
    try:
        result = subprocess.run(
            [sys.executable, "-m", "voiceguide", *args],
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=terminal,
            env={**os.environ, "XDG_CACHE_HOME": str(cwd / "xdg")},
            timeout=120,
        )
        os.close(terminal)
        terminal = -1
        shown = b""
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # EIO: the terminal's other end is closed and drained
                break
            if not chunk:
                break
            shown += chunk
    finally:
        if terminal >= 0:
            os.close(terminal)
        os.close(leader)
    return result.returncode, result.stdout.decode(), shown.decode()


def test_check_shows_progress_while_it_speaks_on_a_terminal_only(script: Path) -> None:
    # A cold check with the natural voice speaks for seconds: a terminal sees why.
    code, out, shown = _stderr_on_a_terminal(["check", "piped.yaml", *ENGINE], script.parent)
    assert code == 0
    assert "piped.yaml: speaking 100%" in shown
    assert shown.endswith("\r\x1b[K")  # the line is wiped before the plan prints
    assert "Knee hug" in out and "speaking" not in out
    piped = voiceguide(["check", "piped.yaml", *ENGINE], script.parent)
    assert piped.returncode == 0
    assert piped.stderr == b""


def test_play_says_it_cannot_read_stdin(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(["play", "-"], capsys)
    assert (code, out) == (2, "")
    assert err == "voiceguide: - (stdin) is read by check and export only; give a script file\n"


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
    script: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
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


# --- VOICEGUIDE_* and shell completion ------------------------------------------------


def test_options_come_from_voiceguide_variables_and_a_flag_wins(
    script: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("VOICEGUIDE_ENGINE", "nonesuch")
    code, _, err = run_cli(["check", str(script)], capsys)
    assert code == 2 and "unknown speech engine 'nonesuch'" in err
    assert run_cli(["check", str(script), "-e", "test", "--no-cache", "-q"], capsys) == (0, "", "")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("VOICEGUIDE_ENGINE", "test")
    monkeypatch.setenv("VOICEGUIDE_NO_CACHE", "1")
    monkeypatch.setenv("VOICEGUIDE_BITRATE", "96")
    monkeypatch.setenv("VOICEGUIDE_QUIET", "1")
    assert run_cli(["export", str(script), "-o", "env.mp3"], capsys) == (0, "", "")
    assert run_cli(["export", str(script), "-o", "flag.mp3", "--bitrate", "160"], capsys)[0] == 0
    assert round(mutagen.mp3.MP3(tmp_path / "env.mp3").info.bitrate / 1000) == 96
    assert round(mutagen.mp3.MP3(tmp_path / "flag.mp3").info.bitrate / 1000) == 160
    assert not (tmp_path / "xdg").exists()  # VOICEGUIDE_NO_CACHE: no phrase was cached


@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [
        ("VOICEGUIDE_RATE", "500", "500 is not in the range 80<=x<=300."),
        ("VOICEGUIDE_QUIET", "maybe", "'maybe' is not a valid boolean."),
    ],
)
def test_a_bad_value_from_a_variable_is_told_by_the_variables_name(
    variable: str,
    value: str,
    says: str,
    script: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv(variable, value)
    code, out, err = run_cli(["check", str(script), "-e", "test", "--no-cache"], capsys)
    assert (code, out) == (2, "")
    # One line naming what the user set, not an option they never typed.
    assert err.startswith(f"voiceguide: {variable}='{value}' in the environment: {says}")
    assert len(err.splitlines()) == 1 and "--" not in err


def test_engine_completes_engine_names_in_bash(tmp_path: Path) -> None:
    bash = shutil.which("bash")
    if bash is None:
        pytest.skip("needs bash")
    # As the README says to set it up, with the installed command on PATH.
    program = """
        eval "$(_VOICEGUIDE_COMPLETE=bash_source voiceguide)"
        COMP_WORDS=(voiceguide export x.yaml --engine pi); COMP_CWORD=4
        _voiceguide_completion voiceguide; echo "${COMPREPLY[@]}"; COMPREPLY=()
        COMP_WORDS=(voiceguide voices --engine ''); COMP_CWORD=3
        _voiceguide_completion voiceguide; echo "${COMPREPLY[@]}"
    """
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    result = subprocess.run(
        [bash, "-c", program],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={**os.environ, "PATH": path},
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["piper", "auto espeak piper pyttsx3 test"]


# --- the bundled examples -------------------------------------------------------------

BUNDLED = sorted(p.stem for p in SCRIPTS.glob("*.yaml"))


def test_a_built_wheel_carries_every_bundled_script(tmp_path: Path) -> None:
    # A copy of what the build reads, so the build leaves nothing in the checkout.
    source = tmp_path / "source"
    source.mkdir()
    for item in REPO.iterdir():
        if item.is_file():
            shutil.copy2(item, source)
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info")
    for folder in ("voiceguide", "scripts"):
        shutil.copytree(REPO / folder, source / folder, symlinks=True, ignore=ignore)
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "-w", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert build.returncode == 0, build.stderr[-2000:]
    (wheel,) = tmp_path.glob("voiceguide-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        carried = {
            Path(name).stem: archive.read(name)
            for name in archive.namelist()
            if name.startswith("voiceguide/data/examples/")
        }
        names = set(archive.namelist())
    # The exercise library, its schema and the programmes, for `voiceguide new`.
    for packaged in ("exercises.yaml", "exercises.schema.json", "programmes/back-care.yaml"):
        assert f"voiceguide/data/{packaged}" in names, packaged
    assert sorted(carried) == BUNDLED
    for name, data in carried.items():
        assert data == (SCRIPTS / f"{name}.yaml").read_bytes()


def test_examples_lists_the_bundled_scripts(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(["examples"], capsys)
    assert code == 0, err
    assert [line.split()[0] for line in out.splitlines()] == BUNDLED
    assert "Back spasm relief" in out


def as_copied(name: str, capsys: pytest.CaptureFixture[str]) -> str:
    """The bundled script as `examples` copies it out: the same text under a
    schema line that points at the installed schema, whatever the folder."""
    original = (SCRIPTS / f"{name}.yaml").read_text(encoding="utf-8")
    code, schema, _ = run_cli(["schema"], capsys)
    assert code == 0
    first, rest = original.split("\n", 1)
    assert first.startswith("# yaml-language-server: $schema=../")  # relative to the tree
    installed = (SCRIPTS.parent / "voiceguide" / "data" / "script.schema.json").resolve()
    assert installed.read_text(encoding="utf-8") + "\n" == schema
    return f"# yaml-language-server: $schema={installed.as_uri()}\n{rest}"


def test_examples_copies_one_out_and_never_overwrites_unasked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    original = as_copied("back-spasm-relief", capsys)
    code, out, err = run_cli(["examples", "back-spasm-relief"], capsys)
    assert code == 0, err
    copied = tmp_path / "back-spasm-relief.yaml"
    assert copied.read_text(encoding="utf-8") == original
    copied.write_text("my edits")
    code, out, err = run_cli(["examples", "back-spasm-relief"], capsys)
    assert code == 2 and out == ""
    assert err == "voiceguide: back-spasm-relief.yaml exists; add --force to replace it\n"
    assert copied.read_text() == "my edits"
    assert run_cli(["examples", "back-spasm-relief", "--force"], capsys)[0] == 0
    assert copied.read_text(encoding="utf-8") == original
    (tmp_path / "mine").mkdir()
    assert run_cli(["examples", "gentle-yoga", "mine"], capsys)[0] == 0
    yoga = (tmp_path / "mine" / "gentle-yoga.yaml").read_text(encoding="utf-8")
    assert yoga == as_copied("gentle-yoga", capsys)
    assert run_cli(["examples", "gentle-yoga", "yoga.yaml"], capsys)[0] == 0
    assert (tmp_path / "yoga.yaml").exists()
    code, out, _ = run_cli(["examples", "breathing-calm", "-"], capsys)
    assert code == 0 and out == as_copied("breathing-calm", capsys)


@pytest.mark.parametrize("command", ["examples", "check", "export", "play", "cast", "serve"])
def test_an_unknown_example_lists_the_examples(
    command: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    name = "back-spasm" if command == "examples" else "example:back-spasm"
    code, out, err = run_cli([command, name, *(["--to", "x"] if command == "cast" else [])], capsys)
    assert code == 2 and out == ""
    assert err.startswith("voiceguide: there is no example 'back-spasm'; ")
    assert "did you mean 'back-spasm-relief'?" in err and err.count("\n") == 1
    assert list(tmp_path.iterdir()) == []


def test_export_and_check_take_a_bundled_example(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, err = run_cli(["check", "example:espalda-suave", "--brief", *ENGINE], capsys)
    assert code == 0, err
    assert out.startswith("Espalda suave: ")
    code, out, err = run_cli(["export", "example:back-spasm-relief", *ENGINE], capsys)
    assert code == 0, err
    exported = tmp_path / "audio" / "back-spasm-relief.mp3"
    assert str(mutagen.id3.ID3(exported)["TIT2"]) == "Back spasm relief"


def served_ids(args: list[str], cwd: Path) -> tuple[list[str], str]:
    """The session ids `voiceguide serve ARGS` offers, and what it printed first."""
    process = subprocess.Popen(
        [sys.executable, "-m", "voiceguide", "serve", *args, "--port", "0", *ENGINE],
        cwd=cwd,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "XDG_CACHE_HOME": str(cwd / "xdg")},
    )
    assert process.stderr is not None
    printed = []
    try:
        for line in process.stderr:
            printed.append(line)
            found = re.search(r"Serving on (http://\S+/)", line)
            if found:
                break
        else:
            raise AssertionError(f"serve did not start: {printed}")
        with urllib.request.urlopen(found.group(1) + "sessions.json", timeout=60) as response:
            sessions = json.load(response)["sessions"]
    finally:
        process.send_signal(signal.SIGINT)
        printed.append(process.communicate(timeout=30)[1])
    return [s["id"] for s in sessions], "".join(printed)


def test_serve_without_a_scripts_folder_serves_the_examples(tmp_path: Path) -> None:
    ids, printed = served_ids([], tmp_path)
    assert sorted(ids) == BUNDLED
    assert "bundled examples" in printed
    assert '"GET /sessions.json HTTP/1.1" 200' in printed
    # Quiet: no request log.
    assert "GET /sessions.json" not in served_ids(["-q"], tmp_path)[1]
    assert served_ids(["example:gentle-yoga"], tmp_path)[0] == ["gentle-yoga"]
    (tmp_path / "scripts").mkdir()
    (tmp_path / "scripts" / "mine.yaml").write_text(SCRIPT)
    assert served_ids([], tmp_path)[0] == ["mine"]
