"""What `speakers` and `cast` print: found speakers, one self-updating progress line."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import click

from voiceguide import pipeline
from voiceguide.cast import session
from voiceguide.cast.base import Status
from voiceguide.cast.fileserver import ServedRequest
from voiceguide.history.log import Outcome
from voiceguide.history.recorder import Recorder
from voiceguide.report import clock

INTERRUPTED = 130


def list_speakers(timeout_s: float) -> None:
    from voiceguide.cast.discovery import discover_all, require_network

    require_network("speakers")
    discovery = asyncio.run(discover_all(timeout_s))
    width = max((len(found.name) for found in discovery.found), default=0)
    for found in discovery.found:
        click.echo(f"{found.name:<{width}}  {found.kind:<13}  {found.location}")
    for problem in discovery.problems:
        click.echo(f"voiceguide: {problem}", err=True)
    if not discovery.found:
        click.echo(f"no speakers answered within {timeout_s:g} s", err=True)


class ProgressLine:
    """One status line ("Living Room: playing 1:02.0 / 12:00.0") rewritten in place."""

    def __init__(self, name: str, duration_s: float) -> None:
        self.name = name
        self.duration_s = duration_s
        self.tty = sys.stderr.isatty()
        self.shown = ""

    def status(self, status: Status) -> None:
        if not self.tty:
            return
        position = clock(status.position_s) if status.position_s is not None else "-"
        line = f"{self.name}: {status.state} {position} / {clock(self.duration_s)}"
        if line != self.shown:
            click.echo(f"\r{line}\x1b[K", nl=False, err=True)
            self.shown = line

    def say(self, text: str) -> None:
        if self.shown:
            click.echo("\r\x1b[K", nl=False, err=True)
            self.shown = ""
        click.echo(text, err=True)

    def request(self, served: ServedRequest) -> None:
        self.say(f"served {served.line()}")


def session_id(stem: str) -> str:
    from voiceguide.server.library import session_id as from_stem

    return from_stem(stem)


def cast_script(
    script: Path,
    target: str,
    host: str | None,
    port: int,
    timeout_s: float,
    verbose: bool,
    options: pipeline.VoiceOptions,
    stages: pipeline.Stages | None,
    log: bool = True,
) -> int:
    """Find the speaker, render, play; the exit status (130 after Ctrl-C)."""
    pipeline.load_session(script)  # a mistake in the script is told before any search
    found = session.find_speaker(target, timeout_s)
    with session.temporary_folder() as folder:
        media = session.render(script, folder, options, stages)
        if stages is not None:
            click.echo("\r\x1b[K", nl=False, err=True)
        line = ProgressLine(found.name, media.metadata.duration_s)
        recorder = Recorder.open(log)
        ident = session_id(script.stem)
        duration_ms = round(media.metadata.duration_s * 1000)
        recorder.start(ident, media.metadata.title, "cast", found.name, duration_ms)

        def status(seen: Status) -> None:
            line.status(seen)
            if seen.position_s is not None:
                recorder.progress(round(seen.position_s * 1000))

        ended: Outcome = "failed"
        try:
            outcome = session.play(
                media,
                found,
                host=host,
                port=port,
                on_status=status,
                on_request=line.request if verbose else None,
                on_start=lambda url: line.say(
                    f"playing {media.metadata.title} ({clock(media.metadata.duration_s)}) "
                    f"on {found.name} ({found.kind}) from {url}"
                ),
            )
            ended = "finished" if outcome.finished else "stopped"
        except KeyboardInterrupt:
            ended = "stopped"
            raise
        finally:
            recorder.end(ended, duration_ms if ended == "finished" else None)
            recorder.close()
    line.say(f"voiceguide: {outcome.message}" if outcome.interrupted else outcome.message)
    return INTERRUPTED if outcome.interrupted else 0
