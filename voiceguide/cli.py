"""The command line: thin commands over ``pipeline``; one error boundary."""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import shutil
import signal
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager, redirect_stdout
from pathlib import Path
from typing import Any

import click
from click.core import ParameterSource

from . import __version__, examples, pipeline
from .allocator import one_heap
from .core.plural import counted
from .errors import UsageError, UserError
from .log_command import log_command

ENGINE_HELP = "Speech engine: auto, espeak, piper, pyttsx3 or test (overrides the script)."
ENV_PREFIX = "VOICEGUIDE_"
VERBOSE_HELP = "Say more: each cue note of an export, each request a speaker makes."
QUIET_HELP = "Print only errors: no plan from check, no report, progress or request log."
# `-o -`: the audio goes to standard output (a name, like pipeline.STDIN, that ./- is not).
STDOUT = Path("<stdout>")


class ScriptPath(click.Path):
    """A script on the command line: a path, ``example:NAME`` for a bundled one,
    or (where ``stdin``) ``-`` for standard input."""

    def __init__(self, *, stdin: bool = False) -> None:
        super().__init__(path_type=Path)
        self.stdin = stdin

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, str):
            if value == "-":
                if self.stdin:
                    return pipeline.STDIN
                # play reads keys from the terminal; the others need the file again.
                raise UsageError("- (stdin) is read by check and export only; give a script file")
            bundled = examples.expand(value)
            if bundled is not None:
                return bundled
        return super().convert(value, param, ctx)


class OutputPath(click.Path):
    """Where audio goes: a file, a folder, or ``-`` for standard output."""

    def __init__(self) -> None:
        super().__init__(path_type=Path)

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        return STDOUT if value == "-" else super().convert(value, param, ctx)


def _engine_names(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[str]:
    from .speech import ENGINE_NAMES

    return [name for name in ("auto", *ENGINE_NAMES) if name.startswith(incomplete)]


def voice_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """The engine flags every command that speaks shares, given to it as ``options``."""
    flags = [
        click.option(
            "--engine", "-e", metavar="NAME", help=ENGINE_HELP, shell_complete=_engine_names
        ),
        click.option("--voice", metavar="ID", help="The engine's voice id (see `voices`)."),
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
@click.option("--verbose", "-v", is_flag=True, help=VERBOSE_HELP)
@click.option("--quiet", "-q", is_flag=True, help=QUIET_HELP)
def cli(verbose: bool, quiet: bool) -> None:
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
      voiceguide log                                      the sessions played, and check-ins
      voiceguide examples                                 the bundled scripts
      voiceguide new --goal relief --minutes 8            a new session from the exercise library

    The script format is described in docs/script-format.md; `voiceguide schema`
    prints a JSON Schema that editors use to complete and check scripts.
    SCRIPT may be example:NAME for a bundled script, and - reads it from stdin
    (check, export). Every option --NAME also comes from VOICEGUIDE_NAME in the
    environment (--voice-model: VOICEGUIDE_VOICE_MODEL); a flag given wins.
    """
    if verbose and quiet:
        raise UsageError("--verbose and --quiet contradict each other; give one of them")


def _global_flag(name: str) -> bool:
    """Whether ``--verbose`` or ``--quiet`` was given, before the command or after it."""
    ctx = click.get_current_context(silent=True)
    if ctx is None:
        return False
    root = ctx.find_root()
    return bool(root.params.get(name) or root.meta.get(_META + name))


_META = "voiceguide.global."
_GLOBAL_FLAGS = {"verbose": ("-v", VERBOSE_HELP), "quiet": ("-q", QUIET_HELP)}


def _remember_global(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if value and param.name:
        ctx.find_root().meta[_META + param.name] = True


def global_flags(group: click.Group) -> None:
    """Let every command take -v/--verbose and -q/--quiet after its name too
    (``voiceguide export x.yaml -q``), where it has no such option of its own."""
    for command in group.commands.values():
        names = {param.name for param in command.params}
        for name, (short, help_text) in _GLOBAL_FLAGS.items():
            if name not in names:
                command.params.append(
                    click.Option(
                        [f"--{name}", short],
                        is_flag=True,
                        expose_value=False,
                        callback=_remember_global,
                        help=help_text,
                    )
                )
        if isinstance(command, click.Group):
            global_flags(command)


@cli.command()
@click.argument("scripts", nargs=-1, required=True, type=ScriptPath(stdin=True))
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

    Every script is checked, and every error in it (up to 10) is shown on a
    line of its own with its file, line, field and what was expected; exit
    status 2 when any script has one. Speech is synthesised (and cached) to
    measure each phrase, so the times shown are the ones the export will have.
    With --json a script with errors is {"source": ..., "errors": [...]}.
    A script - is read from stdin; with --quiet only errors are printed.
    """
    from .report import errors_json, timeline_json, timeline_text

    texts: list[str] = []
    payloads: list[Any] = []
    status = 0
    quiet = _global_flag("quiet")
    for path in pipeline.find_scripts(list(scripts)):
        try:
            # Speaking every phrase takes seconds with the natural voice: say so.
            with _progress_bar(path.name, quiet) as stages:
                prepared = pipeline.prepare(path, options, stages("speaking") if stages else None)
        except UserError as exc:
            _echo_error(exc)
            payloads.append(errors_json(str(path), exc))
            status = max(status, exc.exit_status)
            continue
        # Which engine and voice speak, in one line under the title.
        title, plan = timeline_text(prepared.timeline, events=not brief).split("\n", 1)
        texts.append(f"{title}\nVoice: {prepared.voice}\n{plan}")
        payloads.append({**timeline_json(prepared.timeline), "voice": prepared.voice})
    if quiet:
        sys.exit(status)
    if as_json:
        payload = payloads[0] if len(payloads) == 1 else payloads
        click.echo(json.dumps(payload, indent=2, ensure_ascii=False))
    elif texts:
        click.echo("\n\n".join(texts))
    if status:
        sys.exit(status)


@cli.command()
@click.argument("scripts", nargs=-1, required=True, type=ScriptPath(stdin=True))
@click.option(
    "--output",
    "-o",
    type=OutputPath(),
    metavar="PATH",
    help="Output file (.mp3 or .wav) for one script, a folder, or - for stdout.  [default: audio/]",
)
@click.option(
    "--format",
    "audio_format",
    type=click.Choice(["mp3", "wav"]),
    default="mp3",
    show_default=True,
    help="Format when --output is a folder or - (stdout).",
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
      voiceguide export example:back-spasm-relief -o - | mpv -   (a bundled script, to stdout)
      cat mine.yaml | voiceguide export - -o mine.mp3           (the script from stdin)
    """
    quiet = quiet or _global_flag("quiet")
    paths = pipeline.find_scripts(list(scripts))
    if output == STDOUT:
        request = pipeline.ExportRequest(output, bitrate, subtitles, split, stems)
        _export_to_stdout(paths, request, audio_format, quiet, options)
        return
    if pipeline.STDIN in paths and len(paths) > 1:
        raise UsageError("a script from stdin (-) is exported on its own; export the others apart")
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
            _report_notes(result)
        return
    failures: list[pipeline.Failure] = []

    def done(result: pipeline.ExportResult | pipeline.Failure) -> None:
        if isinstance(result, pipeline.Failure):
            failures.append(result)
            _echo_error(result.message)
        elif not quiet:
            _report(result)
            _report_notes(result)

    pipeline.export_many(jobs_list, options, jobs or pipeline.cpu_count(), done)
    if failures:
        sys.exit(max(f.exit_status for f in failures))


def _export_to_stdout(
    paths: list[Path],
    request: pipeline.ExportRequest,
    audio_format: str,
    quiet: bool,
    options: pipeline.VoiceOptions,
) -> None:
    """`-o -`: one script's audio, and nothing else, on stdout (for a pipe)."""
    asked = (("--split", request.split), ("--subtitles", request.subtitles))
    files = [flag for flag, wanted in (*asked, ("--stems", request.stems)) if wanted]
    if files:
        raise UsageError(f"-o - sends one audio stream to stdout; {files[0]} needs -o FILE or DIR")
    if len(paths) != 1:
        raise UsageError(f"-o - takes one script, not {len(paths)}; give a folder for several")
    if sys.stdout.isatty():
        raise UsageError("-o - would write audio to the terminal; redirect or pipe it")
    path = paths[0]
    # The file export's bytes exactly: its Info frame and tags are written last,
    # after seeking back, which a pipe cannot do.
    with tempfile.TemporaryDirectory(prefix="voiceguide-") as folder:
        request = dataclasses.replace(request, dest=Path(folder) / f"session.{audio_format}")
        # Whatever is printed meanwhile must not mix with the audio.
        with redirect_stdout(sys.stderr), _progress_bar(path.name, quiet) as stages:
            result = pipeline.export(path, request, options, stages)
        _copy_to_stdout(result.outputs[0])
    if not quiet:
        with redirect_stdout(sys.stderr):
            _report(dataclasses.replace(result, outputs=[STDOUT]))
            _report_notes(result)


def _copy_to_stdout(path: Path) -> None:
    out = sys.stdout.buffer
    try:
        with path.open("rb") as audio:
            shutil.copyfileobj(audio, out, 1 << 20)
        out.flush()
    except BrokenPipeError:
        # The reader stopped early (`| head -c 1000`): its choice, nothing to report.
        # Python would flush stdout again on exit and fail again: point it nowhere.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(128 + signal.SIGPIPE)


def _report_notes(result: pipeline.ExportResult) -> None:
    if _global_flag("verbose"):
        for note in result.notes:
            click.echo(f"  note: {note}")


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

    extra = (
        f", {counted(len(result.notes), 'cue note')} (see `voiceguide check`)"
        if result.notes
        else ""
    )
    click.echo(
        f"wrote {result.outputs[0]} ({clock(result.duration_s)}, "
        f"{result.loudness_lufs:.1f} LUFS{pipeline.loudness_shortfall(result.loudness_lufs)}"
        f"{extra}), voice {result.voice}"
    )
    for path in result.outputs[1:]:
        click.echo(f"  and {path}")


@cli.command()
@click.option(
    "--engine", "-e", metavar="NAME", help="Only this engine.", shell_complete=_engine_names
)
def voices(engine: str | None) -> None:
    """List speech engines (available or not, and why) and their voices."""
    from .speech import ENGINE_NAMES, list_engines
    from .speech.registry import AUTO_PREFERENCE

    if engine == "auto":
        engine = None  # what auto chooses from: every engine
    if engine is not None and engine not in ENGINE_NAMES:
        known = ", ".join(("auto", *ENGINE_NAMES))
        raise UsageError(f"--engine {engine}: there is no such engine; the engines: {known}")
    english = pipeline.default_voice("en")
    marked = False
    # The natural voice first: it is the one "auto" speaks English with.
    ranked = sorted(
        list_engines(),
        key=lambda i: AUTO_PREFERENCE.index(i.name) if i.name in AUTO_PREFERENCE else 9,
    )
    for info in ranked:
        if engine and info.name != engine:
            continue
        state = "available" if info.available else f"not available: {info.reason}"
        click.echo(f"{info.name}: {state}")
        for v in info.voices:
            languages = ", ".join(v.languages)
            mark = "*" if english == (info.name, v.id) else " "
            marked = marked or mark == "*"
            click.echo(f"{mark} {v.id:<24} {v.name}" + (f"  ({languages})" if languages else ""))
    # The key to the mark only where a voice bears it (not under --engine espeak).
    if marked:
        click.echo(
            "* = the voice for English scripts by default; for other languages piper "
            "if it has a voice for them, else espeak (--engine and --voice choose another)"
        )


@cli.group()
def cache() -> None:
    """The cache: spoken phrases and the sessions `serve` rendered, kept so that
    they need not be made again.

    It lives in $XDG_CACHE_HOME/voiceguide (default ~/.cache/voiceguide), is
    safe to share between processes, checks every phrase's checksum (a damaged
    one is spoken again) and keeps its phrases under 500 MB by dropping the
    least recently used. Sizes are in MB (10^6 bytes).
    """


def _megabytes(size_bytes: int) -> str:
    return f"{size_bytes / 1e6:.1f} MB"


@cache.command("info")
def cache_info() -> None:
    """Show where the cache is, what it holds and its size."""
    from .server import default_cache_dir as served_dir
    from .server.renders import rendered_usage
    from .speech.cache import PhraseCache, default_cache_dir

    store = PhraseCache(default_cache_dir())
    entries = store.entries()
    size = sum(size for _, size, _ in entries)
    click.echo(f"{store.directory}: {counted(len(entries), 'phrase')}, {_megabytes(size)}")
    click.echo(f"limit: {_megabytes(store.max_bytes)} (least recently used dropped first)")
    sessions, served_size = rendered_usage(served_dir())
    click.echo(
        f"{served_dir()}: {counted(sessions, 'rendered session')}, {_megabytes(served_size)}"
    )


@cache.command("clear")
def cache_clear() -> None:
    """Delete every cached phrase and every session `serve` rendered into the
    default folder (they are made again when next needed).

    Kept: the feed's first-seen dates (published.json, so that episodes keep
    their dates) and whatever a `serve --cache-dir` elsewhere rendered.
    """
    from .server import default_cache_dir as served_dir
    from .server.renders import clear_rendered
    from .speech.cache import PhraseCache, default_cache_dir

    store = PhraseCache(default_cache_dir())
    size = store.size_bytes()
    removed = store.clear()
    click.echo(f"removed {counted(removed, 'phrase')} ({_megabytes(size)}) from {store.directory}")
    sessions, served_size = clear_rendered(served_dir())
    click.echo(
        f"removed {counted(sessions, 'rendered session')} ({_megabytes(served_size)}) "
        f"from {served_dir()}"
    )


_no_log_option = click.option(
    "--no-log", is_flag=True, help="Do not record this session in the session log."
)


@cli.command()
@click.argument("script", type=ScriptPath())
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
@click.option(
    "--check-in",
    is_flag=True,
    help="Ask how your back is (0-9, t for 10) before and after; only on a terminal.",
)
@click.option(
    "--listen",
    is_flag=True,
    help="Also take spoken commands from the microphone (needs voiceguide[listen]).",
)
@click.option("--mic", metavar="NAME", help="Listen on this input (see `devices`).")
@_no_log_option
@voice_options
def play(
    script: Path,
    device: str | None,
    start_from: str | None,
    wait: bool,
    extend_s: float,
    journal: Path | None,
    check_in: bool,
    listen: bool,
    mic: str | None,
    no_log: bool,
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

    With --listen it also takes spoken commands (offline, English), each
    answered by a short blip: "pause", "continue" or "resume", "more time",
    "next", "go back", "stop", "how long" or "where am I" (the recap, said
    over the session), "repeat" (the instruction again). Commands are heard
    when the session itself is quiet (holds, rests, pauses), not over its voice.

    Every session is recorded in the session log (see `voiceguide log`;
    --no-log: not this one). With --check-in it asks, spoken and on screen,
    how your back is before and after: a key 0-9, t for 10, Enter skips.

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

    how = PlayOptions(
        device,
        start_from,
        wait,
        extend_s,
        journal,
        quiet=_global_flag("quiet"),
        log=not no_log,
        check_in=check_in,
        listen=listen or mic is not None,
        mic=mic,
    )
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
    """List the audio output devices `play --device` accepts, and the inputs
    `play --mic` accepts."""
    from .live.device import list_devices, list_inputs

    backend, names = list_devices()
    click.echo(f"{backend}:")
    for name in names:
        click.echo(f"  {name}")
    inputs = list_inputs()
    click.echo("inputs (--mic):" if inputs else "inputs (--mic): none")
    for name in inputs:
        click.echo(f"  {name}")


@cli.command()
def schema() -> None:
    """Print the JSON Schema for scripts (for editors)."""
    from importlib.resources import files

    click.echo(files("voiceguide").joinpath("data/script.schema.json").read_text("utf-8"))


@cli.command("examples")
@click.argument("name", required=False, shell_complete=lambda c, p, i: _example_names(i))
@click.argument("dest", required=False, type=OutputPath())
@click.option("--force", "-f", is_flag=True, help="Replace DEST if it exists.")
def examples_command(name: str | None, dest: Path | None, force: bool) -> None:
    """List the bundled scripts, or copy the script NAME out to DEST to edit it.

    DEST is a file or a folder (default: NAME.yaml here); - prints the script.
    An existing file is kept unless --force. Commands that take a script also
    take example:NAME, so a bundled script plays without being copied.

    \b
    Examples:
      voiceguide examples
      voiceguide examples back-spasm-relief              writes ./back-spasm-relief.yaml
      voiceguide examples gentle-yoga ~/routines/
      voiceguide play example:breathing-calm
    """
    if name is None:
        _list_examples()
        return
    source = examples.expand(name) or examples.path_of(name)
    text = examples.copy_text(source.stem)
    if dest == STDOUT:
        click.echo(text, nl=False)
        return
    target = dest if dest is not None else Path(source.name)
    if target.is_dir():
        target = target / source.name
    if target.exists() and not force:
        raise UsageError(f"{target} exists; add --force to replace it")
    pipeline.write_text_atomic(target, text)
    if not _global_flag("quiet"):
        click.echo(f"wrote {target}")


def _example_names(incomplete: str) -> list[str]:
    return [name for name in examples.names() if name.startswith(incomplete)]


def _list_examples() -> None:
    for name in examples.names():
        session = pipeline.load_session(examples.path_of(name))
        minutes = max(1, round(pipeline.estimated_plan(session).duration_s / 60))
        click.echo(f"{name:<22} {session.title} (about {minutes} min, {session.language})")


cli.add_command(log_command)


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


def _echo_error(error: UserError | str) -> None:
    """One line each on stderr: a script's several errors are several lines."""
    for line in str(error).splitlines():
        click.echo(f"voiceguide: {line}", err=True)


@contextmanager
def error_boundary() -> Iterator[None]:
    """A user error becomes one line on stderr and its exit status; Ctrl-C exits 130
    and SIGTERM 143."""
    try:
        yield
    except UserError as exc:
        _echo_error(exc)
        sys.exit(exc.exit_status)
    except (KeyboardInterrupt, _Interrupted):
        click.echo(f"{_after_ctrl_c()}voiceguide: interrupted; nothing was written", err=True)
        sys.exit(_interrupted_status())


# Choices that belong to one run, not to a standing preference in the environment;
# and `voices --engine`, a filter: VOICEGUIDE_ENGINE=auto would hide every engine.
# A schedule's own settings are never a standing preference (and --quiet there is
# quiet hours, not VOICEGUIDE_QUIET); `log`'s --yes and --forget least of all: a
# standing VOICEGUIDE_YES would delete unasked.
_NOT_FROM_ENVIRONMENT = (
    {"version", "start_from", "force", "voices.engine"}
    | {f"log.{name}" for name in ("yes", "forget", "export_to", "before", "as_json", "as_csv")}
    | {f"add.{name}" for name in ("times", "days", "target", "until", "quiet", "busy_wait")}
)


def environment_names(command: click.Command) -> None:
    """Give every option --NAME of ``command`` and its subcommands the environment
    variable VOICEGUIDE_NAME (dashes as underscores): a flag given wins over it,
    and it wins over the script's setting and the default."""
    for param in command.params:
        if (
            isinstance(param, click.Option)
            and param.envvar is None
            and not param.hidden
            and not {param.name, f"{command.name}.{param.name}"} & _NOT_FROM_ENVIRONMENT
        ):
            long_name = max(param.opts, key=len).lstrip("-")
            param.envvar = ENV_PREFIX + long_name.upper().replace("-", "_")
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            environment_names(sub)


def _register_more() -> None:
    from .schedule_cli import schedule

    cli.add_command(schedule)


_register_more()


def _from_environment(exc: click.ClickException) -> str | None:
    """A bad value that came from a VOICEGUIDE_* variable, told by the variable's
    name: click would name the option, which the user never typed."""
    if not isinstance(exc, click.BadParameter) or exc.param is None or exc.ctx is None:
        return None
    name = exc.param.name
    if name is None or exc.ctx.get_parameter_source(name) is not ParameterSource.ENVIRONMENT:
        return None
    envvar = exc.param.envvar
    names = [envvar] if isinstance(envvar, str) else list(envvar or ())
    variable = next((n for n in names if n in os.environ), None)
    if variable is None:
        return None
    return f"{variable}={os.environ[variable]!r} in the environment: {exc.message}"


def main(argv: list[str] | None = None) -> None:
    global _terminated
    global_flags(cli)
    environment_names(cli)
    _terminated = False
    one_heap()  # before any thread starts: see allocator.py
    try:
        previous = signal.signal(signal.SIGTERM, _on_sigterm)
    except ValueError:  # not on the main thread (an embedding program): its signals
        previous = None
    try:
        with error_boundary():
            try:
                cli.main(args=argv, prog_name="voiceguide", standalone_mode=False)
            except click.ClickException as exc:
                from_environment = _from_environment(exc)
                if from_environment is None:
                    exc.show()
                else:
                    click.echo(f"voiceguide: {from_environment}", err=True)
                sys.exit(exc.exit_code)
            except click.exceptions.Abort:
                raise KeyboardInterrupt from None
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


# Sessions made from the exercise library, and programmes; the home network's
# commands: modules of their own.
from . import generate_cli, home_cli  # noqa: E402

generate_cli.register(cli)
home_cli.register(cli)
