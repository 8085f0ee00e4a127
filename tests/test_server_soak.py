"""The server over time: what it keeps per script version, and a shortened soak.

The full soak (10 minutes) is bench/soak_server.py; its figures are in
docs/reliability.md. Here the same script runs for 36 seconds.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import aiohttp
import pytest
from server_helpers import BROKEN, TINY, running_server

from voiceguide.server.app import LIBRARY

ROOT = Path(__file__).resolve().parent.parent


def test_only_the_current_version_of_an_edited_script_is_kept_in_memory(tmp_path: Path) -> None:
    scripts = tmp_path / "scripts"
    scripts.mkdir()
    script = scripts / "tiny.yaml"

    async def ask(url: str) -> list[int]:
        async with aiohttp.ClientSession() as client:
            statuses = []
            for path in ("/sessions/tiny.json", "/sessions/tiny.mp3", "/sessions.json"):
                async with client.get(url + path) as response:
                    await response.read()
                    statuses.append(response.status)
            # The GET streamed the audio as it rendered; a HEAD waits for the render's end.
            async with client.head(url + "/sessions/tiny.mp3") as response:
                statuses.append(response.status)
            return statuses

    with (
        ThreadPoolExecutor(1) as pool,
        running_server([scripts], tmp_path / "cache", executor=pool) as server,
    ):
        seen = []
        for version in range(6):
            # Good and broken versions in turn: answers and failures are both kept per version.
            text = TINY if version % 2 == 0 else BROKEN
            script.write_text(text.replace("Settle on the mat.", f"Version {version}."))
            seen.append(asyncio.run(ask(server.url)))
            entry = server.app[LIBRARY].get("tiny")
            assert entry is not None
            assert server.renders.versions_held("tiny") == {server.renders.key(entry)}, version
    assert seen == [[200, 200, 200, 200], [422, 422, 200, 422]] * 3


@pytest.mark.slow
def test_a_shortened_soak_serves_every_byte_right_without_growing(tmp_path: Path) -> None:
    """bench/soak_server.py for 36 s: the real server process, 8 clients, edits every 3 s."""
    figures_path = tmp_path / "soak.json"
    command = [sys.executable, str(ROOT / "bench" / "soak_server.py"), "--minutes", "0.6"]
    command += ["--clients", "8", "--json", str(figures_path)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert figures_path.exists(), done.stderr[-3000:]
    figures = json.loads(figures_path.read_text())
    assert figures["problems"] == [] and figures["errors"] == 0, figures
    assert done.returncode == 0, done.stdout[-3000:]
    # It did what it says: many requests of every kind, re-renders under load.
    assert figures["requests"] >= 1000
    assert figures["requests_logged"] == figures["requests"]
    assert figures["bytes_verified"] >= 100_000_000
    assert figures["disconnects"] >= 50
    assert figures["edits"] >= 5 and figures["rerenders"] >= 5
    assert {"200", "206", "304", "404", "422"} <= set(figures["statuses"])
    assert not any(status.startswith("5") for status in figures["statuses"])
    # Bounded: what the server holds after the warm-up is what it holds at the end.
    assert figures["rss_end_kb"] - figures["rss_start_kb"] <= 16 * 1024
    assert figures["fds_end"] - figures["fds_start"] <= 2
    assert all(s is not None and 14 <= s <= 25 for s in figures["idle_closed_after_s"])
    assert figures["answered_after"] and figures["exit_status"] == 0
