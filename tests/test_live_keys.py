"""Single keys for `play`, read by blessed: through a real pseudo-terminal here, and by
the names blessed gives the keys of a Windows console or a macOS terminal."""

from __future__ import annotations

import ast
import os
import pty
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from blessed.keyboard import Keystroke, get_keyboard_codes
from played import PtyProcess

from voiceguide.live import keys

ROOT = Path(__file__).resolve().parent.parent
CODES = {name: code for code, name in get_keyboard_codes().items()}

# A child that reads keys as `play` does and prints each action as it arrives.
READER = """
import sys
from voiceguide.live.keys import keys
with keys() as reader:
    print("reading", type(reader).__name__, flush=True)
    while True:
        for action in reader.read(0.1):
            print("action", action, flush=True)
            if action in ("quit", "eof"):
                sys.exit(0)
"""


@pytest.fixture
def terminal() -> Iterator[PtyProcess]:
    made = PtyProcess([sys.executable, "-c", READER], {**os.environ, "TERM": "xterm-256color"})
    yield made
    made.close()


def _actions(terminal: PtyProcess) -> list[str]:
    return re.findall(r"action (\w+)", terminal.output)


def test_keys_on_a_pseudo_terminal_are_read_without_enter_and_the_terminal_restored(
    terminal: PtyProcess,
) -> None:
    terminal.wait_for(r"reading KeyReader")
    assert terminal.terminal_attrs() != terminal.slave_attrs  # no Enter needed, no echo
    pressed = {
        "n": "next",
        "\x1b[C": "next",  # right arrow
        "\x1b[6~": "next",  # Page Down
        "b": "back",
        "\x1b[D": "back",  # left arrow
        "\x1b[5~": "back",  # Page Up
        " ": "pause",
        "+": "extend",
        "\r": "go",
        "x": "other",
        "q": "quit",
    }
    for key, action in pressed.items():
        terminal.press(key)
        terminal.wait_for(rf"action {action}\b")
    assert terminal.finish() == 0
    assert _actions(terminal) == list(pressed.values())
    assert terminal.terminal_attrs() == terminal.slave_attrs


def test_keys_pressed_together_are_all_taken(terminal: PtyProcess) -> None:
    terminal.wait_for(r"reading KeyReader")
    terminal.press("n\x1b[5~+q")
    assert terminal.finish() == 0
    assert _actions(terminal) == ["next", "back", "extend", "quit"]


def test_without_a_terminal_there_are_no_keys() -> None:
    result = subprocess.run(
        [sys.executable, "-c", READER.replace("while True", "while False")],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert result.stdout.strip() == "reading NoKeys"


@pytest.mark.parametrize(
    ("text", "name", "action"),
    [
        # What blessed makes of a Windows console's arrows and page keys (no escape sequences).
        ("\xe0M", "KEY_RIGHT", "next"),
        ("\xe0K", "KEY_LEFT", "back"),
        ("\xe0Q", "KEY_PGDOWN", "next"),
        ("\xe0I", "KEY_PGUP", "back"),
        # A macOS terminal in application-cursor mode.
        ("\x1bOC", "KEY_RIGHT", "next"),
        ("\x1bOD", "KEY_LEFT", "back"),
        ("\r", "KEY_ENTER", "go"),
        ("\x1b[A", "KEY_UP", "other"),
    ],
)
def test_named_keys_act_whatever_bytes_the_terminal_sends(
    text: str, name: str, action: str
) -> None:
    key = Keystroke(text, code=CODES[name], name=name)
    assert keys.key_action(key) == action


@pytest.mark.parametrize(("text", "action"), [(" ", "pause"), ("+", "extend"), ("q", "quit")])
def test_plain_keys_act_by_their_character(text: str, action: str) -> None:
    assert keys.key_action(Keystroke(text)) == action


def test_the_key_reader_needs_no_posix_only_module() -> None:
    tree = ast.parse((ROOT / "voiceguide/live/keys.py").read_text("utf-8"))
    imported = {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in (
            node.names if isinstance(node, ast.Import) else [ast.alias(node.module or "")]
        )
    }
    assert imported & {"termios", "tty", "select", "fcntl"} == set()


def _with_terminal_input_only(command: list[str]) -> subprocess.CompletedProcess[str]:
    """COMMAND with its input from a terminal, its output and errors into pipes."""
    master, slave = pty.openpty()
    try:
        return subprocess.run(
            command, stdin=slave, capture_output=True, text=True, timeout=120, check=False
        )
    finally:
        os.close(slave)
        os.close(master)


def test_a_terminal_for_input_alone_gives_no_keys_and_wait_says_so() -> None:
    # blessed reads keys only while the output is a terminal too; nothing must wait for one.
    result = _with_terminal_input_only(
        [sys.executable, "-c", READER.replace("while True", "while False")]
    )
    assert result.stdout.strip() == "reading NoKeys"
    seed = str(Path(__file__).resolve().parent.parent / "scripts/back-spasm-relief.yaml")
    result = _with_terminal_input_only(
        [sys.executable, "-m", "voiceguide", "play", seed, "--wait", "--engine", "test"]
    )
    assert result.returncode == 2
    assert "--wait needs a keyboard" in result.stderr


def test_reading_keys_asks_the_terminal_nothing() -> None:
    """A terminal that answers no query must not hold the keys: blessed waits up to
    5 s for each kind of answer it asks for (capabilities, cursor position)."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: enter the key reader, then leave at once
        try:
            with keys.keys() as reader:  # pytest holds sys.stdout: write to the terminal
                os.write(1, f"reading {type(reader).__name__}\n".encode())
        finally:
            os._exit(0)
    written = b""
    try:
        while True:
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # the child closed the terminal: all is read
                break
            if not chunk:
                break
            written += chunk
    finally:
        os.close(fd)
        os.waitpid(pid, 0)
    assert b"reading KeyReader" in written
    assert b"\x1b[6n" not in written and b"\x1bP+q" not in written and b"\x1b[>q" not in written
