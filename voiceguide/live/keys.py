"""Single key presses from a terminal, without Enter and without echo.

The terminal is put in cbreak mode (Ctrl-C still interrupts) and always put
back as it was. Keys from a Bluetooth clicker arrive the same way: many send
Page Up/Down or arrows, which mean back and next here.
"""

from __future__ import annotations

import contextlib
import os
import select
import sys
from collections.abc import Iterator
from typing import Protocol, TextIO

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


class Keys(Protocol):
    def read(self, timeout_s: float) -> list[str]:
        """The actions pressed within ``timeout_s`` (empty if none)."""
        ...


class KeyReader:
    def __init__(self, fd: int) -> None:
        self.fd = fd

    def read(self, timeout_s: float) -> list[str]:
        """The actions pressed within ``timeout_s`` (empty if none)."""
        ready, _, _ = select.select([self.fd], [], [], timeout_s)
        if not ready:
            return []
        data = os.read(self.fd, 64)
        if not data:
            return ["eof"]
        return actions(data.decode("utf-8", "replace"))


class NoKeys:
    """Stands in for the keyboard when standard input is not a terminal."""

    def read(self, timeout_s: float) -> list[str]:
        select.select([], [], [], timeout_s)
        return []


@contextlib.contextmanager
def keys(stream: TextIO | None = None) -> Iterator[Keys]:
    stream = stream or sys.stdin
    try:
        fd = stream.fileno()
    except (AttributeError, ValueError, OSError):
        yield NoKeys()
        return
    if not os.isatty(fd):
        yield NoKeys()
        return
    import termios
    import tty

    saved = termios.tcgetattr(fd)
    try:
        tty.setcbreak(fd)
        yield KeyReader(fd)
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)
