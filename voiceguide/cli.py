"""The command line: thin commands over ``pipeline``; one error boundary."""

from __future__ import annotations

import functools
import json
import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from . import __version__, pipeline
from .errors import UsageError, UserError

ENGINE_HELP = "Speech engine: auto, espeak, piper, pyttsx3 or test (overrides the script)."


def voice_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """The engine flags every command that speaks shares, given to it as ``options``."""
    flags = [
        click.option("--engine", "-e", metavar="NAME", help=ENGINE_HELP),
        click.option("--voice", "-v", metavar="ID", help="The engine's voice id (see `voices`)."),
        click.option(
            "--rate",
            "-r",
            type=click.IntRange(80, 300),
            metavar="WPM",
            help="Speaking rate in words per minute, 80-300.",
        ),
        click.option(
            "--no-cache",
            is_flag=True,
            help="Synthesise every phrase afresh; do not read or write the cache.",
        ),
        click.option(
            "--voice-model",
            type=click.Path(path_type=Path, dir_okay=False),
            metavar="PATH",
            help="A Piper voice (.onnx, its .onnx.json beside it); implies --engine piper.",
        ),
        click.option(
            "--allow-fallback",
            is_flag=True,
            help="Speak built-in phrases in English when the script's language has no translation.",
        ),
    ]

    @functools.wraps(command)
    def with_options(**kwargs: Any) -> Any:
        # The command sees one VoiceOptions, however many flags make it up.
        kwargs["options"] = pipeline.VoiceOptions(
            engine=kwargs.pop("engine"),
            voice=kwargs.pop("voice"),
            rate_wpm=kwargs.pop("rate"),
            use_cache=not kwargs.pop("no_cache"),
            voice_model=kwargs.pop("voice_model"),
            allow_fallback=kwargs.pop("allow_fallback"),
        )
        return command(**kwargs)

    wrapped: Callable[..., Any] = with_options
    for flag in reversed(flags):
        wrapped = flag(wrapped)
    return wrapped


def _mp3_bitrate(ctx: click.Context, param: click.Parameter, value: int) -> int:
    if value not in pipeline.MP3_BITRATES_KBPS:
        raise click.BadParameter(f"{value} is not an MP3 bitrate; use one of {_BITRATES}")
    return value


_BITRATES = ", ".join(str(b) for b in pipeline.MP3_BITRATES_KBPS)


def _bitrate_option(help_text: str) -> Callable[..., Any]:
    return click.option(
        "--bitrate",
        type=int,
        default=128,
        show_default=True,
        metavar="KBPS",
        callback=_mp3_bitrate,
        help=f"{help_text} One of {_BITRATES}.",
    )


class _Interrupted(BaseException):
    """Ctrl-C or SIGTERM, carried past click, which would print a blank line for it."""


class _Commands(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            raise _Interrupted from None


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="voiceguide")
def cli() -> None:
    """Turn exercise scripts into paced, spoken, exactly timed audio sessions.

    \b
    Try:
      voiceguide check scripts/back-spasm-relief.yaml     show the plan
      voiceguide export scripts/back-spasm-relief.yaml    write audio/back-spasm-relief.mp3
      voiceguide export scripts/ --split --subtitles      every script, tracks and transcripts
      voiceguide play scripts/back-spasm-relief.yaml      hear it now, steered by keys
      voiceguide serve scripts/ --host 0.0.0.0            web player, podcast feed, playlist
      voiceguide cast scripts/gentle-yoga.yaml --to Kitchen   play on a smart speaker
      voiceguide voices                                   engines and their voices

    The script format is described in docs/script-format.md; `voiceguide schema`
    prints a JSON Schema that editors use to complete and check scripts.
    """


@cli.command()
@click.argument("scripts", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the planned timeline as JSON.")
@click.option("--brief", is_flag=True, help="Show chapters and totals, not every event.")
@voice_options
def check(
    scripts: tuple[Path, ...],
    as_json: bool,
    brief: bool,
    options: pipeline.VoiceOptions,
) -> None:
    """Check SCRIPTS and show their planned timelines.

    A script with an error is refused with its file, line, field and what was
    expected (exit status 2). Speech is synthesised (and cached) to measure
    each phrase, so the times shown are the ones the export will have.
    """
    from .report import timeline_json, timeline_text

    results = []
    for path in pipeline.find_scripts(list(scripts)):
        prepared = pipeline.prepare(path, options)
        results.append(prepared.timeline)
    if as_json:
        payload: Any = (
            timeline_json(results[0]) if len(results) == 1 else [timeline_json(t) for t in results]
        )
        click.echo(json.dumps(payload, indent=2, ensure_ascii=False))
    else:
        click.echo("\n\n".join(timeline_text(t, events=not brief) for t in results))


@cli.command()
@click.argument("scripts", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--output",
    "-o",
    type=click.Path(path_type=Path),
    metavar="PATH",
    help="Output file (.mp3 or .wav) for one script, or a folder.  [default: audio/]",
)
@click.option(
    "--format",
    "audio_format",
    type=click.Choice(["mp3", "wav"]),
    default="mp3",
    show_default=True,
    help="Format when --output is a folder.",
)
@_bitrate_option("MP3 bitrate, constant so that every player seeks exactly.")
@click.option("--subtitles", is_flag=True, help="Also write a WebVTT transcript, NAME.vtt.")
@click.option(
    "--split",
    is_flag=True,
    help="Also write one numbered track per chapter (NAME/NN-title.mp3) and NAME.m3u.",
)
@click.option(
    "--stems",
    is_flag=True,
    help="Also write the voice alone and the ambience alone, NAME.voice.EXT and NAME.bed.EXT.",
)
@click.option(
    "--jobs",
    "-j",
    type=click.IntRange(1, 64),
    metavar="N",
    help="Scripts rendered at once.  [default: the number of cores]",
)
@click.option("--quiet", "-q", is_flag=True, help="Print nothing but errors.")
@voice_options
def export(
    scripts: tuple[Path, ...],
    output: Path | None,
    audio_format: str,
    bitrate: int,
    subtitles: bool,
    split: bool,
    stems: bool,
    jobs: int | None,
    quiet: bool,
    options: pipeline.VoiceOptions,
) -> None:
    """Render SCRIPTS (files or folders of *.yaml) to audio files.

    MP3s are 44.1 kHz mono, constant bitrate, with a gapless header (exact
    length), ID3 tags and a chapter for every exercise and side, at -16 LUFS
    (podcast loudness) with true peaks below -1 dBTP. Files appear only when
    complete: an error, Ctrl-C or SIGTERM leaves nothing half-written.

    \b
    Examples:
      voiceguide export scripts/back-spasm-relief.yaml
      voiceguide export scripts/back-spasm-relief.yaml -o ~/Music/back.mp3
      voiceguide export scripts/ --split --subtitles -j 2
      voiceguide export scripts/breathing-calm.yaml --stems      (a script with ambience:)
      voiceguide export scripts/nacken-entspannen.yaml --voice-model de_DE-thorsten-medium.onnx
    """
    paths = pipeline.find_scripts(list(scripts))
    jobs_list = [
        (path, pipeline.ExportRequest(dest, bitrate, subtitles, split, stems))
        for path, dest in zip(paths, _destinations(paths, output, audio_format), strict=True)
    ]
    if len(jobs_list) == 1:
        path, request = jobs_list[0]
        with _progress_bar(path.name, quiet) as stages:
            result = pipeline.export(path, request, options, stages)
        if not quiet:
            _report(result)
        return
    failures: list[pipeline.Failure] = []

    def done(result: pipeline.ExportResult | pipeline.Failure) -> None:
        if isinstance(result, pipeline.Failure):
            failures.append(result)
            click.echo(f"voiceguide: {result.message}", err=True)
        elif not quiet:
            _report(result)

    pipeline.export_many(jobs_list, options, jobs or pipeline.cpu_count(), done)
    if failures:
        sys.exit(max(f.exit_status for f in failures))


def _destinations(paths: list[Path], output: Path | None, audio_format: str) -> list[Path]:

    suffix = "." + audio_format
    if output is not None and output.suffix and not output.is_dir():
        if output.suffix.lower() not in pipeline.SUPPORTED_SUFFIXES:
            raise UsageError(
                f"{output}: unknown audio format '{output.suffix}'; use .mp3 or .wav, "
                "or give a folder"
            )
        if len(paths) > 1:
            raise UsageError(f"{output}: several scripts need an output folder, not a file")
        return [output]
    folder = output if output is not None else Path("audio")
    stems = [p.stem for p in paths]
    clash = {s for s in stems if stems.count(s) > 1}
    if clash:
        raise UsageError(f"several scripts are named {sorted(clash)[0]}; export them separately")
    return [pipeline.default_output(p, folder, suffix) for p in paths]


@contextmanager
def _progress_bar(label: str, quiet: bool) -> Iterator[pipeline.Stages | None]:
    """One self-updating status line on a terminal: "back.yaml: encoding 42%"."""
    if quiet or not sys.stderr.isatty():
        yield None
        return
    shown = [""]

    def stage(name: str) -> pipeline.Progress:
        def update(done: int, total: int) -> None:
            percent = 100 * done // total if total else 0
            line = f"{label}: {name} {percent:3d}%"
            if line != shown[0]:
                click.echo(f"\r{line}\x1b[K", nl=False, err=True)
                shown[0] = line

        return update

    try:
        yield stage
    finally:
        click.echo("\r\x1b[K", nl=False, err=True)


def _report(result: pipeline.ExportResult) -> None:
    from .report import clock

    extra = f", {len(result.notes)} cue notes (see `voiceguide check`)" if result.notes else ""
    click.echo(
        f"wrote {result.outputs[0]} ({clock(result.duration_s)}, "
        f"{result.loudness_lufs:.1f} LUFS{extra})"
    )
    for path in result.outputs[1:]:
        click.echo(f"  and {path}")


@cli.command()
@click.option("--engine", "-e", metavar="NAME", help="Only this engine.")
def voices(engine: str | None) -> None:
    """List speech engines (available or not, and why) and their voices."""
    from .speech import list_engines

    for info in list_engines():
        if engine and info.name != engine:
            continue
        state = "available" if info.available else f"not available: {info.reason}"
        click.echo(f"{info.name}: {state}")
        for v in info.voices:
            languages = ", ".join(v.languages)
            click.echo(f"  {v.id:<24} {v.name}" + (f"  ({languages})" if languages else ""))


@cli.group()
def cache() -> None:
    """The phrase cache: spoken phrases kept so exports need not speak them again.

    It lives in $XDG_CACHE_HOME/voiceguide (default ~/.cache/voiceguide), is
    safe to share between processes, checks every entry's checksum (a damaged
    one is spoken again) and keeps itself under 512 MiB by dropping the least
    recently used phrases.
    """


@cache.command("info")
def cache_info() -> None:
    """Show where the cache is, how many phrases it holds and its size."""
    from .speech.cache import PhraseCache, default_cache_dir

    store = PhraseCache(default_cache_dir())
    entries = store.entries()
    size_mb = sum(size for _, size, _ in entries) / 1e6
    click.echo(f"{store.directory}: {len(entries)} phrases, {size_mb:.1f} MB")
    click.echo(f"limit: {store.max_bytes / 2**20:.0f} MiB (least recently used dropped first)")


@cache.command("clear")
def cache_clear() -> None:
    """Delete every cached phrase (they are spoken again when next needed)."""
    from .speech.cache import PhraseCache, default_cache_dir

    store = PhraseCache(default_cache_dir())
    removed = store.clear()
    click.echo(f"removed {removed} phrases from {store.directory}")


def _search_timeout(help_text: str) -> Callable[..., Any]:
    return click.option(
        "--timeout",
        type=click.FloatRange(1, 60),
        default=4,
        show_default=True,
        metavar="S",
        help=help_text,
    )


@cli.command()
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


@cli.command()
@click.argument("script", type=click.Path(path_type=Path))
@click.option(
    "--to",
    "target",
    required=True,
    metavar="NAME|URL",
    help="The speaker: its name (see `speakers`), a UPnP description URL, "
    "or ha:media_player.NAME to play through Home Assistant (HA_URL, HA_TOKEN).",
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
    "--verbose", is_flag=True, help="Print every request the speaker makes for the audio."
)
@voice_options
def cast(
    script: Path,
    target: str,
    host: str | None,
    port: int,
    timeout: float,
    verbose: bool,
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
      HA_URL=http://homeassistant.local:8123 HA_TOKEN=... \\
        voiceguide cast scripts/breathing-calm.yaml --to ha:media_player.kitchen
    """
    from .cast.console import INTERRUPTED, cast_script

    with _progress_bar(script.name, False) as stages:
        code = cast_script(script, target, host, port, timeout, verbose, options, stages)
    if code:
        sys.exit(_interrupted_status() if code == INTERRUPTED else code)


@cli.command()
@click.argument("script", type=click.Path(path_type=Path))
@click.option("--device", "-d", metavar="NAME", help="Play on this device (see `devices`).")
@click.option(
    "--from",
    "start_from",
    metavar="STEP",
    help="Start at step number STEP (from 1) or at the exercise whose name starts so.",
)
@click.option("--wait", is_flag=True, help="Wait for a key before each exercise.")
@click.option(
    "--extend",
    "extend_s",
    type=click.FloatRange(0.5, 300),
    default=15.0,
    show_default=True,
    metavar="SECONDS",
    help="How much longer + makes the current hold or rest.",
)
@click.option("--journal", type=click.Path(path_type=Path), hidden=True)
@voice_options
def play(
    script: Path,
    device: str | None,
    start_from: str | None,
    wait: bool,
    extend_s: float,
    journal: Path | None,
    options: pipeline.VoiceOptions,
) -> None:
    """Play SCRIPT through the speakers, to follow with your eyes closed.

    It starts speaking at once and sounds exactly like the export. Keys (no
    Enter needed; a clicker that types keys works too):

    \b
      space   pause; on resuming, a short recap says where you are
      +       15 s more of the current hold or rest
      n       skip to the next step      (also right arrow, Page Down)
      b       back to the start of this exercise (left arrow, Page Up)
      q       end with a short closing cue; q again stops at once

    \b
    Examples:
      voiceguide play scripts/back-spasm-relief.yaml
      voiceguide play scripts/gentle-yoga.yaml --from 4 --wait
      voiceguide play scripts/core-strength.yaml --from "bird dog" -d "USB Audio"

    Without a sound server or device it says so and exits with status 1:
    use `export` for a file instead.
    """
    from .live.session import PlayOptions
    from .live.session import play as play_session

    how = PlayOptions(device, start_from, wait, extend_s, journal)
    try:
        result = play_session(script, options, how)
    except KeyboardInterrupt:
        click.echo(f"{_after_ctrl_c()}voiceguide: stopped", err=True)
        sys.exit(_interrupted_status())
    if not result.finished:
        click.echo(f"stopped at {_clock(result.played_s)}", err=True)


def _clock(seconds: float) -> str:
    from .report import clock

    return clock(seconds)


@cli.command()
def devices() -> None:
    """List the audio output devices `play --device` accepts."""
    from .live.device import list_devices

    backend, names = list_devices()
    click.echo(f"{backend}:")
    for name in names:
        click.echo(f"  {name}")


@cli.command()
def schema() -> None:
    """Print the JSON Schema for scripts (for editors)."""
    from importlib.resources import files

    click.echo(files("voiceguide").joinpath("data/script.schema.json").read_text("utf-8"))


@cli.command()
@click.argument("sources", nargs=-1, type=click.Path(path_type=Path))
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
@voice_options
def serve(
    sources: tuple[Path, ...],
    host: str,
    port: int,
    cache_dir: Path | None,
    bitrate: int,
    jobs: int,
    options: pipeline.VoiceOptions,
) -> None:
    """Serve the scripts in SOURCES (a folder or files; default scripts/) over HTTP.

    Open the address it prints in a browser for the library and the web
    player; podcast apps subscribe to /feed.xml. Each session is rendered on
    first request, kept in the cache, and rendered again when its script
    changes. Only 127.0.0.1 is served unless --host says otherwise. Ctrl-C or
    SIGTERM stops it within seconds, renders in progress included (exit status 0).

    \b
    Examples:
      voiceguide serve                               scripts/ on http://127.0.0.1:8765/
      voiceguide serve scripts/ --host 0.0.0.0       the whole home network
      voiceguide serve mine.yaml --port 9000
    """
    from .server import RenderSettings, default_cache_dir
    from .server import serve as run_server

    settings = RenderSettings(options, bitrate)
    try:
        run_server(
            list(sources) or [Path("scripts")],
            host=host,
            port=port,
            cache_dir=cache_dir or default_cache_dir(),
            settings=settings,
            workers=jobs,
            ready=lambda url: click.echo(f"Serving on {url}  (Ctrl-C stops)", err=True),
        )
    except KeyboardInterrupt:
        click.echo("voiceguide: stopped", err=True)


# SIGTERM (a service manager, `kill`) stops a command the way Ctrl-C does,
# through the same handlers and clean-up; only the exit status tells them apart.
_terminated = False


def _on_sigterm(signum: int, frame: Any) -> None:
    global _terminated
    if _terminated:
        return  # the clean-up is under way: a second signal must not cut it short
    _terminated = True
    on_sigint = signal.getsignal(signal.SIGINT)
    if callable(on_sigint):
        # Python's own (KeyboardInterrupt), or asyncio's, which cancels the
        # running task so that its clean-up runs on the loop, then raises.
        on_sigint(signal.SIGINT, frame)
        return
    raise KeyboardInterrupt  # SIGINT is ignored (a background job), SIGTERM is not


def _interrupted_status() -> int:
    """130 after Ctrl-C, 143 after SIGTERM: 128 plus the signal, as a shell reports it."""
    return 128 + (signal.SIGTERM if _terminated else signal.SIGINT)


def _after_ctrl_c() -> str:
    """A newline to end the terminal's ``^C`` echo, where there is one."""
    return "" if _terminated or not sys.stderr.isatty() else "\n"


@contextmanager
def error_boundary() -> Iterator[None]:
    """A user error becomes one line on stderr and its exit status; Ctrl-C exits 130
    and SIGTERM 143."""
    try:
        yield
    except UserError as exc:
        click.echo(f"voiceguide: {exc}", err=True)
        sys.exit(exc.exit_status)
    except (KeyboardInterrupt, _Interrupted):
        click.echo(f"{_after_ctrl_c()}voiceguide: interrupted; nothing was written", err=True)
        sys.exit(_interrupted_status())


def main(argv: list[str] | None = None) -> None:
    global _terminated
    _terminated = False
    try:
        previous = signal.signal(signal.SIGTERM, _on_sigterm)
    except ValueError:  # not on the main thread (an embedding program): its signals
        previous = None
    try:
        with error_boundary():
            try:
                cli.main(args=argv, prog_name="voiceguide", standalone_mode=False)
            except click.ClickException as exc:
                exc.show()
                sys.exit(exc.exit_code)
            except click.exceptions.Abort:
                raise KeyboardInterrupt from None
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
