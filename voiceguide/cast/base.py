"""The protocol every kind of speaker implements, and what discovery reports."""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from voiceguide.errors import UserError


class CastError(UserError):
    """A speaker could not be found, reached or made to play."""

    exit_status = 1


@dataclass(frozen=True)
class Metadata:
    """What a speaker shows about the session it plays."""

    title: str
    duration_s: float
    size_bytes: int
    artist: str | None = None
    album: str | None = None
    mime_type: str = "audio/mpeg"


class State(StrEnum):
    """A speaker's state, whatever its protocol calls it."""

    PLAYING = "playing"
    PAUSED = "paused"
    LOADING = "loading"
    STOPPED = "stopped"


@dataclass(frozen=True)
class Status:
    state: State
    position_s: float | None = None
    duration_s: float | None = None


class Speaker(Protocol):
    """A speaker that is playing, or can play, one URL."""

    name: str

    async def play(self, url: str, metadata: Metadata) -> None: ...

    async def status(self) -> Status: ...

    async def stop(self) -> None: ...

    async def close(self) -> None: ...


@dataclass(frozen=True)
class Found:
    """One speaker found on the network.

    ``host`` is the address that will fetch the media (what the file server
    must be reachable from), None when that is not known; ``location`` is
    how a person can name it with ``--to`` besides its name; ``connect``
    opens it for playing.
    """

    name: str
    kind: str
    host: str | None
    location: str
    connect: Callable[[], Awaitable[Speaker]] = field(compare=False, repr=False)
    details: dict[str, Any] = field(default_factory=dict, compare=False)


def reason(exc: BaseException) -> str:
    """Why a network call failed, in words: from the innermost cause, which the
    libraries wrap in exceptions whose text is the repr of another."""
    chain: list[BaseException] = []
    seen: BaseException | None = exc
    while seen is not None and seen not in chain:
        chain.append(seen)
        seen = seen.__cause__ or seen.__context__
    for cause in reversed(chain):
        said = _in_words(cause)
        if said is not None:
            return said
    innermost = chain[-1]
    text = " ".join(str(innermost).split())[:200]
    return text or type(innermost).__name__


def _in_words(exc: BaseException) -> str | None:
    if isinstance(exc, socket.gaierror):
        return "its host name cannot be resolved"
    if isinstance(exc, ConnectionRefusedError):
        return "the connection was refused (nothing listens there)"
    if isinstance(exc, TimeoutError):
        return "no answer in time"
    if isinstance(exc, OSError) and (exc.errno or exc.strerror):
        # asyncio's strerror is "Connect call failed ('192.0.2.7', 1400)": the
        # errno says why in words ("no route to host").
        said = os.strerror(exc.errno) if exc.errno else str(exc.strerror)
        return said[0].lower() + said[1:]
    if isinstance(exc, SyntaxError) or "xml" in type(exc).__name__.lower():
        return "what it answered is not a UPnP device description"
    status = getattr(exc, "status", None)
    if isinstance(status, int) and status >= 400:
        return f"it answered HTTP {status}"
    return None


async def in_thread(speaker: str, what: str, call: Any, *args: Any, **kwargs: Any) -> Any:
    """Run a blocking library call in a worker thread; its failure is one line."""
    try:
        return await asyncio.to_thread(call, *args, **kwargs)
    except CastError:
        raise
    except Exception as exc:
        raise CastError(f"{speaker}: {what} failed: {reason(exc)}") from None


def parse_clock(text: str | None) -> float | None:
    """'1:02:03.5' or '0:00:07' -> seconds; None for the protocols' 'unknown' values."""
    if not text or text.upper() in ("NOT_IMPLEMENTED", "UNKNOWN"):
        return None
    try:
        parts = [float(p) for p in text.strip().split(":")]
    except ValueError:
        return None
    seconds = 0.0
    for part in parts:
        seconds = seconds * 60 + part
    return seconds


def clock(seconds: float) -> str:
    """Seconds -> 'H:MM:SS.mmm', the form UPnP and Sonos use for durations."""
    millis = round(seconds * 1000)
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    return f"{hours}:{minutes:02d}:{rest // 1000:02d}.{rest % 1000:03d}"
