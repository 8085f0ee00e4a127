"""``voiceguide cast``: render a session, serve it, play it on a speaker, follow it.

Rendering happens between two event loops, so Ctrl-C while rendering needs
no speaker to be stopped; Ctrl-C while playing stops the speaker before the
command exits.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from voiceguide import pipeline
from voiceguide.cast.base import CastError, Found, Metadata, Speaker, State
from voiceguide.cast.base import Status as Status
from voiceguide.cast.fileserver import FileServer, ServedRequest, address_facing, lan_address

POLL_S = 1.0
START_TIMEOUT_S = 30.0  # from Play until the speaker says it plays
PAUSED_LIMIT_S = 30 * 60  # a speaker left paused this long is left alone
STOP_TIMEOUT_S = 5.0
# A speaker reporting "stopped" this close to the end has played it all.
END_SLACK_S = 3.0


@dataclass(frozen=True)
class Media:
    path: Path
    metadata: Metadata


def find_speaker(target: str, timeout_s: float) -> Found:
    from voiceguide.cast.discovery import resolve

    return asyncio.run(resolve(target, timeout_s))


@contextmanager
def temporary_folder() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="voiceguide-cast-") as folder:
        yield Path(folder)


def render(
    script: Path,
    folder: Path,
    options: pipeline.VoiceOptions,
    stages: pipeline.Stages | None = None,
    bitrate_kbps: int = 128,
    announce: bool = False,
) -> Media:
    """The session as one MP3 in ``folder`` (written atomically) and what to show about
    it; ``announce``: opened by a short announcement (a scheduled run)."""
    prepared = pipeline.prepare(script, options, stages("speaking") if stages else None, announce)
    request = pipeline.ExportRequest(folder / f"{script.stem}.mp3", bitrate_kbps)
    result = pipeline.export_prepared(script, prepared, request, stages)
    path = result.outputs[0]
    metadata = Metadata(
        title=prepared.session.title,
        duration_s=result.duration_s,
        size_bytes=path.stat().st_size,
        artist="voiceguide",
        album=prepared.session.title,
    )
    return Media(path, metadata)


@dataclass(frozen=True)
class Outcome:
    interrupted: bool  # Ctrl-C: the speaker was told to stop
    message: str
    finished: bool = False  # the speaker played it to the end


def play(
    media: Media,
    found: Found,
    *,
    host: str | None = None,
    port: int = 0,
    on_status: Callable[[Status], None] | None = None,
    on_request: Callable[[ServedRequest], None] | None = None,
    on_start: Callable[[str], None] | None = None,
) -> Outcome:
    """Serve ``media`` and play it on ``found`` until it ends, is stopped, or Ctrl-C;
    ``on_start`` is told the URL once the speaker first reports that it plays it."""
    bind = host or (address_facing(found.host) if found.host else lan_address())
    try:
        return asyncio.run(_play(media, found, bind, port, on_status, on_request, on_start))
    except KeyboardInterrupt:
        return Outcome(True, f"stopped {found.name}")


async def play_async(
    media: Media,
    found: Found,
    *,
    on_status: Callable[[Status], None] | None = None,
    on_start: Callable[[str], None] | None = None,
) -> Outcome:
    """:func:`play` on a running event loop (``serve``'s schedules); cancelling it
    stops the speaker."""
    bind = address_facing(found.host) if found.host else lan_address()
    return await _play(media, found, bind, 0, on_status, None, on_start)


async def _play(
    media: Media,
    found: Found,
    bind: str,
    port: int,
    on_status: Callable[[Status], None] | None,
    on_request: Callable[[ServedRequest], None] | None,
    on_start: Callable[[str], None] | None,
) -> Outcome:
    server = FileServer(media.path, bind, port, on_request)
    url = await server.start()
    speaker: Speaker | None = None
    started = False

    def status(seen: Status) -> None:
        # "Playing" is said once the speaker says so, not when it was asked:
        # a refused request or a speaker that never starts says nothing of the kind.
        nonlocal started
        if seen.state == State.PLAYING and not started:
            started = True
            if on_start is not None:
                on_start(url)
        if on_status is not None:
            on_status(seen)

    try:
        speaker = await found.connect()
        await speaker.play(url, media.metadata)
        return await follow(speaker, media.metadata.duration_s, status)
    except asyncio.CancelledError:
        if speaker is not None:
            await _last_status(speaker, status)
            await _stop(speaker)
        raise
    finally:
        if speaker is not None:
            await speaker.close()
        await server.close()


async def _last_status(speaker: Speaker, on_status: Callable[[Status], None]) -> None:
    """Where the speaker is as it is stopped: the log says how far a session got,
    and the last poll may be a second old, from before a seek."""
    try:
        seen = await asyncio.wait_for(speaker.status(), STOP_TIMEOUT_S)
    except (CastError, TimeoutError):
        return
    if seen.state in (State.PLAYING, State.PAUSED):
        on_status(seen)


async def _stop(speaker: Speaker) -> None:
    try:
        await asyncio.wait_for(speaker.stop(), STOP_TIMEOUT_S)
    except (CastError, TimeoutError) as exc:
        print(f"voiceguide: could not stop {speaker.name}: {exc}", file=sys.stderr)


async def follow(
    speaker: Speaker,
    duration_s: float,
    on_status: Callable[[Status], None] | None = None,
    poll_s: float | None = None,
) -> Outcome:
    """Poll the speaker until it has played to the end, was stopped, or is left paused."""
    started_at = time.monotonic()
    # However the speaker behaves, following ends: a generous multiple of the length.
    give_up_at = started_at + 3 * duration_s + PAUSED_LIMIT_S
    playing_seen = False
    paused_since: float | None = None
    last_position_s = 0.0
    while time.monotonic() < give_up_at:
        status = await speaker.status()
        if on_status is not None:
            on_status(status)
        now = time.monotonic()
        if status.state == State.PLAYING:
            # Only while playing: some speakers rewind to 0 when they stop.
            last_position_s = status.position_s or last_position_s
            playing_seen, paused_since = True, None
        elif status.state == State.PAUSED:
            paused_since = paused_since or now
            if now - paused_since > PAUSED_LIMIT_S:
                return Outcome(False, f"{speaker.name} has been paused for 30 minutes; leaving it")
        elif status.state == State.STOPPED and playing_seen:
            # A speaker that never reported a position cannot tell; assume the end.
            if last_position_s == 0.0 or last_position_s >= duration_s - END_SLACK_S:
                return Outcome(False, f"finished on {speaker.name}", finished=True)
            return Outcome(False, f"stopped on {speaker.name} at {last_position_s:.0f} s")
        if not playing_seen and now - started_at > START_TIMEOUT_S:
            raise CastError(f"{speaker.name} did not start playing within {START_TIMEOUT_S:.0f} s")
        await asyncio.sleep(POLL_S if poll_s is None else poll_s)
    return Outcome(False, f"stopped following {speaker.name}: it never reached the end")
