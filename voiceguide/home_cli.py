"""The home-network commands: `speakers`, `cast` and `serve`.

Registered on the `voiceguide` group by cli.py; they share its options
(voice, bitrate), its progress bar and its exit statuses.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from . import examples, pipeline
from .cli import (
    ScriptPath,
    _bitrate_option,
    _global_flag,
    _interrupted_status,
    _no_log_option,
    _progress_bar,
    voice_options,
)


def _search_timeout(help_text: str) -> Callable[..., Any]:
    return click.option(
        "--timeout",
        type=click.FloatRange(1, 60),
        default=4,
        show_default=True,
        metavar="S",
        help=help_text,
    )


@click.command()
@_search_timeout("Seconds to listen for answers.")
def speakers(timeout: float) -> None:
    """List the speakers on the network: UPnP/DLNA, Google Cast and Sonos.

    Prints each speaker's name, kind and address; `cast --to` takes the name
    (or the UPnP address). A kind whose library is missing or whose search
    failed is reported in one line.

    \b
    Examples:
      voiceguide speakers
      voiceguide speakers --timeout 10
    """
    from .cast.console import list_speakers

    list_speakers(timeout)


@click.command()
@click.argument("script", type=ScriptPath())
@click.option(
    "--to",
    "target",
    required=True,
    metavar="NAME|URL",
    help="The speaker: its name (see `speakers`), a UPnP description URL, "
    "or ha:media_player.NAME to play through Home Assistant (HASS_SERVER, HASS_TOKEN).",
)
@click.option(
    "--host",
    metavar="ADDRESS",
    help="Serve the audio on this local address.  [default: the one facing the speaker]",
)
@click.option(
    "--port", type=click.IntRange(0, 65535), default=0, help="Port to serve on (0: any free one)."
)
@_search_timeout("Seconds to search for the speaker.")
@click.option(
    "--verbose", "-v", is_flag=True, help="Print every request the speaker makes for the audio."
)
@_no_log_option
@voice_options
def cast(
    script: Path,
    target: str,
    host: str | None,
    port: int,
    timeout: float,
    verbose: bool,
    no_log: bool,
    options: pipeline.VoiceOptions,
) -> None:
    """Play SCRIPT's session on a speaker on the home network.

    Renders the session, serves the MP3 on the address the speaker can reach,
    starts it with its title and length, and shows the position until it
    ends. Ctrl-C stops the speaker (exit status 130; 143 after SIGTERM).

    \b
    Examples:
      voiceguide cast scripts/back-spasm-relief.yaml --to "Living Room"
      voiceguide cast scripts/gentle-yoga.yaml --to http://192.168.1.20:49152/description.xml
      HASS_SERVER=http://homeassistant.local:8123 HASS_TOKEN=... \\
        voiceguide cast scripts/breathing-calm.yaml --to ha:media_player.kitchen
    """
    from .cast.console import INTERRUPTED, cast_script

    verbose = verbose or _global_flag("verbose")
    with _progress_bar(script.name, False) as stages:
        code = cast_script(
            script, target, host, port, timeout, verbose, options, stages, log=not no_log
        )
    if code:
        sys.exit(_interrupted_status() if code == INTERRUPTED else code)


@click.command()
@click.argument("sources", nargs=-1, type=ScriptPath())
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", "-p", type=click.IntRange(0, 65535), default=8765, show_default=True)
@click.option(
    "--cache-dir",
    type=click.Path(path_type=Path),
    metavar="DIR",
    help="Where rendered sessions are kept.  [default: ~/.cache/voiceguide/served]",
)
@_bitrate_option("MP3 bitrate of the served files.")
@click.option(
    "--jobs",
    "-j",
    type=click.IntRange(1, 64),
    default=1,
    metavar="N",
    help="Sessions rendered at once.  [default: 1]",
)
@click.option(
    "--passphrase",
    metavar="TEXT",
    help="Let other devices sign in with this to see the History page and check in.",
)
@click.option("--token", metavar="TEXT", help="Let API clients send Authorization: Bearer TEXT.")
# Moves the schedules' clock: a test starts the real `serve` a minute before a due time.
@click.option("--clock-offset", type=float, default=0.0, hidden=True)
@voice_options
def serve(
    sources: tuple[Path, ...],
    host: str,
    port: int,
    cache_dir: Path | None,
    bitrate: int,
    jobs: int,
    passphrase: str | None,
    token: str | None,
    clock_offset: float,
    options: pipeline.VoiceOptions,
) -> None:
    """Serve the scripts in SOURCES (a folder or files) over HTTP.

    Without SOURCES it serves ./scripts, or the bundled examples where there is
    no ./scripts folder.

    Open the address it prints in a browser for the library and the web
    player; podcast apps subscribe to /feed.xml. Each session is rendered on
    first request, kept in the cache, and rendered again when its script
    changes. Only 127.0.0.1 is served unless --host says otherwise; with
    --host 0.0.0.0 it prints this machine's network addresses and, on a
    terminal, a QR code of the first for a phone to scan. Ctrl-C or SIGTERM
    stops it within seconds, renders in progress included (exit status 0).
    It also carries out the schedules (`voiceguide schedule`), serves them as
    /calendar.ics, and starts sessions for POST /api/play (docs/schedules.md).

    The History page (/history) and the session log's API (/api/) hold health
    data: they are served to this computer only, unless --passphrase (other
    devices sign in at /signin) or --token (Authorization: Bearer) is given.

    \b
    Examples:
      voiceguide serve                               scripts/ on http://127.0.0.1:8765/
      voiceguide serve scripts/ --host 0.0.0.0       the whole home network
      voiceguide serve mine.yaml --port 9000
    """
    from .server import Access, RenderSettings, default_cache_dir
    from .server import serve as run_server
    from .server.announce import announcement

    settings = RenderSettings(options, bitrate)
    if _global_flag("quiet"):
        # aiohttp's access log: one line per request. Warnings (malformed requests) stay.
        logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    try:
        run_server(
            list(sources) or [_default_folder()],
            host=host,
            port=port,
            cache_dir=cache_dir or default_cache_dir(),
            settings=settings,
            workers=jobs,
            access=Access(passphrase or None, token or None),
            clock_offset_s=clock_offset,
            ready=lambda urls: click.echo(
                announcement(host, urls, qr=sys.stderr.isatty()), err=True, nl=False
            ),
        )
    except KeyboardInterrupt:
        click.echo("voiceguide: stopped", err=True)


def _default_folder() -> Path:
    here = Path("scripts")
    if here.is_dir():
        return here
    click.echo("no ./scripts folder here: serving the bundled examples", err=True)
    return examples.folder()


def register(group: click.Group) -> None:
    for command in (speakers, cast, serve):
        group.add_command(command)
