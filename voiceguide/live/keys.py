"""Single key presses from a terminal, without Enter and without echo.

blessed reads them the same way on Linux, macOS and Windows: the terminal is
put in cbreak mode (Ctrl-C still interrupts) and always put back as it was.
Keys from a Bluetooth clicker arrive the same way: many send Page Up/Down or
arrows, which mean back and next here.
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Protocol, TextIO

if TYPE_CHECKING:
    from blessed import Terminal
    from blessed.keyboard import Keystroke

# What each key does; several keys may do one thing.
KEYS = {
    " ": "pause",
    "p": "pause",
    "+": "extend",
    "=": "extend",
    "n": "next",
    "b": "back",
    "q": "quit",
    "\x1b[6~": "next",  # Page Down
    "\x1b[C": "next",  # right arrow
    "\x1b[5~": "back",  # Page Up
    "\x1b[D": "back",  # left arrow
    "\r": "go",
    "\n": "go",
    # A check-in's rating (checkin.py): 0 to 9, t for ten, s to skip.
    **{str(digit): f"digit_{digit}" for digit in range(10)},
    "t": "digit_10",
    "s": "skip",
}

# The same keys by the name blessed gives them, whatever bytes the terminal sends
# (a Windows console sends none of the escape sequences above).
NAMED_KEYS = {
    "KEY_PGDOWN": "next",
    "KEY_RIGHT": "next",
    "KEY_PGUP": "back",
    "KEY_LEFT": "back",
    "KEY_ENTER": "go",
}


def actions(text: str) -> list[str]:
    """The actions in what was read at once: escape sequences count as one key."""
    found = []
    rest = text
    while rest:
        for key in sorted(KEYS, key=len, reverse=True):
            if rest.startswith(key):
                found.append(KEYS[key])
                rest = rest[len(key) :]
                break
        else:
            found.append("other")
            rest = rest[1:] if not rest.startswith("\x1b") else rest[3:]
    return found


def key_action(key: Keystroke) -> str:
    """What one key that blessed read does."""
    if key.is_sequence and key.name in NAMED_KEYS:
        return NAMED_KEYS[key.name]
    found = actions(str(key))
    return found[0] if len(found) == 1 else "other"


class Keys(Protocol):
    def read(self, timeout_s: float) -> list[str]:
        """The actions pressed within ``timeout_s`` (empty if none)."""
        ...


class KeyReader:
    def __init__(self, terminal: Terminal) -> None:
        self.terminal = terminal

    def read(self, timeout_s: float) -> list[str]:
        """The actions pressed within ``timeout_s`` (empty if none)."""
        inkey = self.terminal.inkey
        try:
            key = inkey(timeout=timeout_s)
            found = []
            # Keys typed together (or a clicker's burst) are all taken now.
            while key:
                found.append(key_action(key))
                key = inkey(timeout=0)
        except EOFError:
            return ["eof"]
        return found


class NoKeys:
    """Stands in for the keyboard when standard input is not a terminal."""

    def read(self, timeout_s: float) -> list[str]:
        time.sleep(timeout_s)
        return []


def _is_terminal(stream: TextIO | None) -> bool:
    try:
        return stream is not None and stream.isatty()
    except (AttributeError, ValueError, OSError):
        return False


def _screen() -> TextIO | None:
    """The terminal blessed needs beside standard input to read its keys.

    blessed reads the keyboard from standard input, and only while standard
    output or standard error is a terminal too."""
    if not _is_terminal(sys.__stdin__):
        return None
    return next((s for s in (sys.__stdout__, sys.__stderr__) if _is_terminal(s)), None)


def available() -> bool:
    """Whether keys can be read here."""
    return _screen() is not None


@contextlib.contextmanager
def keys() -> Iterator[Keys]:
    screen = _screen()
    if screen is None:
        yield NoKeys()
        return
    import blessed

    # Without styling blessed asks the terminal nothing: with it, it sends
    # capability and cursor queries and waits up to 5 s for each kind of
    # answer; a terminal that answers none of them held the keys for 10 s.
    # Keys are read and named the same either way.
    terminal = blessed.Terminal(stream=screen, force_styling=None)
    with terminal.cbreak():
        yield KeyReader(terminal)
