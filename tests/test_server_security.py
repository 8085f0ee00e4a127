"""Nothing outside the folder is served or even opened: traversal, encodings, symlinks.

Requests are sent as raw bytes, so no client library tidies the path first.
An audit hook records every file this process opens while the requests run;
rendering happens in a thread here, so a render would be seen too.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from server_helpers import TINY, raw_request, running_server, status_of

OUTSIDE_TITLE = "Outside secret session"

_opened: list[str] | None = None


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if _opened is not None and event == "open" and isinstance(args[0], str | bytes | os.PathLike):
        _opened.append(os.fsdecode(args[0]))


sys.addaudithook(_audit)


@pytest.fixture
def opened() -> Iterator[list[str]]:
    global _opened
    _opened = []
    try:
        yield _opened
    finally:
        _opened = None


@pytest.fixture
def layout(tmp_path: Path) -> dict[str, Path]:
    """scripts/ with a good script, a symlink to one outside, and a link to a folder outside."""
    outside = tmp_path / "outside"
    outside.mkdir()
    secret = outside / "secret.yaml"
    secret.write_text(TINY.replace("Small session", OUTSIDE_TITLE))
    (outside / "secret.mp3").write_bytes(b"ID3 not yours")
    scripts = tmp_path / "scripts"
    scripts.mkdir()
    (scripts / "tiny.yaml").write_text(TINY)
    (scripts / "escape.yaml").symlink_to(secret)
    (scripts / "relative.yaml").symlink_to(Path("..") / "outside" / "secret.yaml")
    (scripts / "away").symlink_to(outside, target_is_directory=True)
    (scripts / "inside-link.yaml").symlink_to(scripts / "tiny.yaml")
    return {"outside": outside, "scripts": scripts, "secret": secret}


TARGETS = [
    "/../../../../etc/passwd",
    "/sessions/../../../etc/passwd",
    "/sessions/..%2f..%2f..%2fetc%2fpasswd",
    "/sessions/%2e%2e/%2e%2e/outside/secret.mp3",
    "/sessions/%2e%2e%2f%2e%2e%2foutside%2fsecret.mp3",
    "/sessions/%252e%252e%252fsecret.mp3",
    "/sessions/..%5c..%5coutside%5csecret.mp3",
    "/sessions/escape.mp3",
    "/sessions/relative.mp3",
    "/sessions/secret.mp3",
    "/sessions/away.mp3",
    "/sessions/away%2fsecret.mp3",
    "/sessions/%2fetc%2fpasswd",
    "/sessions//etc/passwd",
    "//etc/passwd",
    "/sessions/tiny.mp3/../../../outside/secret.mp3",
    "/sessions/tiny.mp3%00.json",
    "/play/../../outside/secret",
    "/play/escape",
    "/play/%2e%2e%2foutside%2fsecret",
    "/static/../app.py",
    "/static/..%2fapp.py",
    "/static/%2e%2e%2f%2e%2e%2f__init__.py",
    "/static/%2fetc%2fpasswd",
    "/static//etc/passwd",
    "/static/",
    "/scripts/tiny.yaml",
    "/outside/secret.yaml",
]


def test_traversal_and_symlink_escapes_get_404_and_read_nothing_outside(
    layout: dict[str, Path], tmp_path: Path, opened: list[str]
) -> None:
    async def ask_all(port: int) -> list[bytes]:
        heads = [f"GET {t} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode() for t in TARGETS]
        return [await raw_request(port, head) for head in heads]

    with (
        ThreadPoolExecutor(2) as pool,
        running_server([layout["scripts"]], tmp_path / "cache", executor=pool) as server,
    ):
        answers = asyncio.run(ask_all(server.port))
        # The listing shows the real script and the link inside the folder, nothing else.
        listing = asyncio.run(
            raw_request(server.port, b"GET /sessions.json HTTP/1.1\r\nHost: h\r\n\r\n")
        )
        ok = asyncio.run(
            raw_request(server.port, b"GET /sessions/inside-link.json HTTP/1.1\r\nHost: h\r\n\r\n")
        )
    for target, answer in zip(TARGETS, answers, strict=True):
        assert status_of(answer) == 404, (target, answer[:200])
        assert OUTSIDE_TITLE.encode() not in answer and b"root:" not in answer
    body = listing.split(b"\r\n\r\n", 1)[1]
    ids = [s["id"] for s in json.loads(body)["sessions"]]
    assert ids == ["inside-link", "tiny"]
    assert status_of(ok) == 200
    outside = str(layout["outside"].resolve())
    touched = [p for p in opened if p.startswith(outside) or p == "/etc/passwd"]
    assert touched == []
    # The audit hook does see opens: the served scripts were read.
    assert any(p.endswith("tiny.yaml") for p in opened)


def test_an_absolute_form_request_target_is_not_a_path(
    layout: dict[str, Path], tmp_path: Path, opened: list[str]
) -> None:
    secret = layout["secret"]
    heads = [
        f"GET {secret} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode(),
        f"GET file://{secret} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode(),
        b"GET http://127.0.0.1/../../etc/passwd HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
    ]
    with (
        ThreadPoolExecutor(1) as pool,
        running_server([layout["scripts"]], tmp_path / "cache", executor=pool) as server,
    ):
        answers = [asyncio.run(raw_request(server.port, head)) for head in heads]
    for answer in answers:
        assert status_of(answer) in (400, 404), answer[:200]
        assert OUTSIDE_TITLE.encode() not in answer and b"root:" not in answer
    assert [p for p in opened if p.startswith(str(layout["outside"].resolve()))] == []


def test_only_loopback_by_default() -> None:
    from click.testing import CliRunner

    from voiceguide.cli import cli

    help_text = CliRunner().invoke(cli, ["serve", "--help"]).output
    assert "--host TEXT" in help_text and "[default: 127.0.0.1]" in help_text
