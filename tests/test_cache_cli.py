"""`cache info` and `cache clear`: phrases and the sessions `serve` rendered, sizes in MB."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from cli_helpers import run_cli
from server_helpers import TINY, running_server
from test_server import get_file

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def cache_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    return tmp_path / "xdg" / "voiceguide"


def test_clear_removes_rendered_sessions_too_and_says_what_went(
    cache_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scripts = tmp_path / "scripts"
    scripts.mkdir()
    (scripts / "tiny.yaml").write_text(TINY)
    code, _, _ = run_cli(["check", str(scripts / "tiny.yaml"), "--engine", "test"], capsys)
    assert code == 0
    served = cache_home / "served"  # where `serve` keeps its renders by default
    with running_server([scripts], served) as server:
        get_file(server.url + "/sessions/tiny.mp3")
    (served / "notes.txt").write_text("not a render: kept")
    rendered = [p for p in served.iterdir() if p.name != "notes.txt"]
    rendered_mb = sum(p.stat().st_size for p in rendered) / 1e6
    assert {p.suffix for p in rendered} == {".json", ".mp3", ".vtt"}

    code, out, _ = run_cli(["cache", "info"], capsys)
    assert code == 0
    assert f"{served}: 1 rendered session, {rendered_mb:.1f} MB\n" in out

    code, out, _ = run_cli(["cache", "clear"], capsys)
    assert code == 0
    lines = out.splitlines()
    assert re.fullmatch(
        rf"removed \d+ phrases \(\d+\.\d MB\) from {re.escape(str(cache_home))}", lines[0]
    )
    assert lines[1] == f"removed 1 rendered session ({rendered_mb:.1f} MB) from {served}"
    assert [p.name for p in served.iterdir()] == ["notes.txt"]

    code, out, _ = run_cli(["cache", "info"], capsys)
    assert f"{cache_home}: 0 phrases, 0.0 MB" in out
    assert f"{served}: 0 rendered sessions, 0.0 MB" in out


def test_one_unit_family_for_sizes(cache_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """MB of 10^6 bytes in what the cache prints, its help and the README; no MiB."""
    code, out, _ = run_cli(["cache", "info"], capsys)
    assert code == 0
    assert "limit: 500.0 MB (least recently used dropped first)" in out
    helps = subprocess.run(
        [sys.executable, "-m", "voiceguide", "cache", "--help"], capture_output=True, text=True
    ).stdout
    assert "500 MB" in helps
    readme = (ROOT / "README.md").read_text("utf-8")
    docs = [path.read_text("utf-8") for path in sorted((ROOT / "docs").glob("*.md"))]
    for text in (out, helps, readme, *docs):
        assert not re.search(r"\d\s*(KiB|MiB|GiB)\b", text)
