"""The bundled scripts are examples to copy: clean under `check`, and as the docs show them."""

from __future__ import annotations

import importlib.util
import json
import re
import shlex
from pathlib import Path

import pytest
import yaml
from cli_helpers import run_cli

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = sorted((ROOT / "scripts").glob("*.yaml"))
SEED = ROOT / "scripts/back-spasm-relief.yaml"

# Which cues fit depends on how long the voice takes to say things, so every
# engine a user may check with is tried: the test engine, espeak, and piper
# (what `auto` picks for English after `make demo`) where it is installed.
ENGINES = [
    "test",
    pytest.param("espeak", marks=pytest.mark.espeak),
    pytest.param(
        "auto",
        marks=pytest.mark.skipif(
            importlib.util.find_spec("piper") is None, reason="piper-tts is not installed"
        ),
    ),
]


@pytest.fixture(scope="module")
def shared_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("xdg-cache")


def _check_json(script: Path, engine: str, cache: Path, capsys: pytest.CaptureFixture[str]) -> dict:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CACHE_HOME", str(cache))
        code, out, err = run_cli(["check", str(script), "--json", "--engine", engine], capsys)
    assert code == 0, err
    return json.loads(out)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("script", SCRIPTS, ids=lambda path: path.stem)
def test_check_prints_no_notes_for_a_bundled_script(
    script: Path, engine: str, shared_cache: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plan = _check_json(script, engine, shared_cache, capsys)
    assert plan["notes"] == []
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CACHE_HOME", str(shared_cache))
        code, out, _ = run_cli(["check", str(script), "--engine", engine], capsys)
    assert code == 0 and "Notes" not in out


def test_the_stems_example_in_export_help_works_as_shown(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, help_text, _ = run_cli(["export", "--help"], capsys)
    (line,) = [
        line for line in help_text.splitlines() if "--stems" in line and "voiceguide" in line
    ]
    args = shlex.split(line.split("(")[0])[1:]
    script = ROOT / next(arg for arg in args if arg.endswith(".yaml"))
    assert yaml.safe_load(script.read_text("utf-8")).get("ambience") not in (None, "none")
    dest = tmp_path / "session.mp3"
    code, _, err = run_cli(
        [arg if arg != script.relative_to(ROOT).as_posix() else str(script) for arg in args]
        + ["-o", str(dest), "--engine", "test", "--no-cache"],
        capsys,
    )
    assert code == 0, err
    for made in (dest, tmp_path / "session.voice.mp3", tmp_path / "session.bed.mp3"):
        assert made.stat().st_size > 10_000, made


def test_the_seed_points_to_the_sessions_that_prevent_the_next_spasm_once_at_the_end(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plan = _check_json(SEED, "test", tmp_path, capsys)
    spoken = [event for event in plan["events"] if event["kind"] == "speech"]
    naming = [
        event
        for event in spoken
        if re.search(r"core strength", event["text"], re.IGNORECASE)
        and re.search(r"gentle yoga", event["text"], re.IGNORECASE)
    ]
    assert len(naming) == 1, [event["text"] for event in spoken]
    (advice,) = naming
    assert re.search(r"\b(prevent|keep|stop)\b.*\bspasm", advice["text"], re.IGNORECASE)
    last_exercise_end = max(e["end"] for e in plan["events"] if e["kind"] == "hold")
    assert advice["start"] >= last_exercise_end
    mentions = [e for e in spoken if re.search(r"core strength|gentle yoga", e["text"], re.I)]
    assert mentions == naming
    # The sessions it names are the bundled ones, under the names it gives them.
    titles = {yaml.safe_load(path.read_text("utf-8"))["title"].lower() for path in SCRIPTS}
    assert any(title.startswith("core strength") for title in titles)
    assert any(title.startswith("gentle yoga") for title in titles)
