"""The one place the stages meet: script → session → timeline → clips → PCM → output.

The CLI and the Python API both call these functions.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, tzinfo
from pathlib import Path

import numpy as np

from .ambience_file import bed_loop
from .clipstore import ClipStore
from .core import cues
from .core.ambience import BED_HEADROOM_DB, Bed, levelled_with_bed, mixed
from .core.mastering import CEILING_DBTP, TARGET_LUFS, Analysis, Key, Mastered, analyse, master
from .core.model import Pause, Say, Session, Timeline
from .core.phrases import Phrases
from .core.plan import plan, spoken_phrases
from .core.pronounce import respeller
from .core.render import render_chunks, silent_spans
from .core.script import MAX_SCRIPT_BYTES, parse_script
from .errors import ScriptError, UsageError, UserError

# Re-exported for the fronts, which reach outputs only through here.
from .outputs.encode import MP3_BITRATES_KBPS as MP3_BITRATES_KBPS
from .outputs.encode import SUPPORTED_SUFFIXES as SUPPORTED_SUFFIXES
from .outputs.mp3 import mastering_ceiling_dbtp
from .outputs.session_files import ExportRequest, write_session
from .speech import Engine, get_engine
from .speech.cache import PhraseCache, default_cache_dir
from .speech.clips import OUTPUT_RATE_HZ, ClipSource
from .speech.registry import default_voice as default_voice
from .speech.registry import describe

Progress = Callable[[int, int], None]
# Long work reports per stage ("speaking", "mastering", "encoding"): given a
# stage's name it returns that stage's progress callback.
Stages = Callable[[str], Progress]
SCRIPT_SUFFIXES = (".yaml", ".yml")
# `-` on the command line: the script comes from standard input. Not Path("-"),
# which is also how pathlib reads ./-, the way to name a file called "-".
STDIN = Path("<stdin>")


@dataclass(frozen=True)
class VoiceOptions:
    """Command-line choices that override the script's voice settings."""

    engine: str | None = None
    voice: str | None = None
    rate_wpm: int | None = None
    use_cache: bool = True
    cache_dir: Path | None = None
    voice_model: Path | None = None  # a Piper voice (.onnx beside its .onnx.json)
    allow_fallback: bool = False  # English phrases for a language with no translation


@dataclass
class Prepared:
    session: Session
    timeline: Timeline
    speech: Mapping[str, np.ndarray]  # a ClipStore: past its budget, on disk
    tones: dict[str, np.ndarray] = field(default_factory=dict)
    bed_loop: np.ndarray | None = None  # the ambience, a seamless loop
    analyses: dict[Key, Analysis] = field(default_factory=dict)  # of the speech clips
    voice: str = ""  # the engine and voice that speak, in words (``spoken_by``)


def load_session(path: Path, allow_fallback: bool = False) -> Session:
    """Read and parse one script file (``STDIN``: standard input)."""
    source = str(path)
    if path == STDIN:
        return parse_script(_read_stdin(), source, allow_fallback=allow_fallback)
    try:
        size = path.stat().st_size
        if size > MAX_SCRIPT_BYTES:
            raise ScriptError(
                f"the file is {size / 1e6:.1f} MB; a script may be at most "
                f"{MAX_SCRIPT_BYTES / 1e6:g} MB",
                source=source,
            )
        data = path.read_bytes()
    except IsADirectoryError:
        raise UsageError(f"{source} is a folder; give a script file") from None
    except FileNotFoundError:
        raise UsageError(f"{source}: no such file") from None
    except PermissionError:
        raise UsageError(f"{source}: permission denied") from None
    return parse_script(data, source, allow_fallback=allow_fallback)


def _read_stdin() -> bytes:
    if sys.stdin is None:
        raise UsageError("there is no standard input to read the script from")
    # One byte past the limit is enough for the parser to refuse it.
    return sys.stdin.buffer.read(MAX_SCRIPT_BYTES + 1)


def find_scripts(paths: list[Path]) -> list[Path]:
    """Expand folders into the scripts they hold (sorted), keep files as given."""
    if paths.count(STDIN) > 1:
        raise UsageError("standard input (-) can be read only once")
    found: list[Path] = []
    for path in paths:
        if path != STDIN and path.is_dir():
            scripts = sorted(p for p in path.iterdir() if p.suffix in SCRIPT_SUFFIXES)
            if not scripts:
                raise UsageError(f"{path} holds no *.yaml or *.yml scripts")
            found.extend(scripts)
        else:
            found.append(path)
    return found


def distinct_phrases(session: Session) -> list[str]:
    """Every phrase the session may speak, once each, in the order it first speaks them."""
    return spoken_phrases(session)


def with_voice_options(session: Session, options: VoiceOptions) -> Session:
    voice = session.voice
    voice = replace(
        voice,
        engine=options.engine or voice.engine,
        name=options.voice if options.voice is not None else voice.name,
        rate_wpm=options.rate_wpm or voice.rate_wpm,
    )
    return replace(session, voice=voice)


def clip_source(session: Session, options: VoiceOptions) -> ClipSource:
    engine = get_engine(
        session.voice.engine,
        language=session.language,
        voice_name=session.voice.name,
        rate_wpm=session.voice.rate_wpm,
        model_path=options.voice_model,
    )
    cache = None
    if options.use_cache:
        cache = PhraseCache(options.cache_dir or default_cache_dir())
    return ClipSource(engine, cache, OUTPUT_RATE_HZ, respeller(session.pronounce))


def prepare(
    path: Path,
    options: VoiceOptions = VoiceOptions(),
    progress: Progress | None = None,
    announce: bool = False,
) -> Prepared:
    """Parse, synthesise every phrase (cached) and plan the session; ``announce``:
    with a short spoken announcement first (a scheduled run)."""
    session = load_with_options(path, options)
    return prepare_session(announced(session) if announce else session, options, progress)


# Between the announcement and the session's first words.
ANNOUNCEMENT_PAUSE_S = 1.5


def announced(session: Session) -> Session:
    """``session`` opened by "Time for your session: TITLE." in its own language and
    voice: part of the same audio, so a speaker gets one URL (see docs/schedules.md)."""
    text = Phrases(session.language)["schedule_announcement"].format(title=session.title)
    opening = (Say(text, line=0), Pause(ANNOUNCEMENT_PAUSE_S, line=0))
    return replace(session, steps=opening + session.steps)


def load_with_options(path: Path, options: VoiceOptions) -> Session:
    """The script at ``path``, parsed, with the command line's voice settings."""
    return with_voice_options(load_session(path, options.allow_fallback), options)


def prepare_session(
    session: Session,
    options: VoiceOptions = VoiceOptions(),
    progress: Progress | None = None,
    source: ClipSource | None = None,
    analyse_clips: bool = True,
) -> Prepared:
    """Synthesise every phrase of ``session`` (through ``source`` if given) and plan it."""
    source = source or clip_source(session, options)
    speech = ClipStore()
    analyses: dict[Key, Analysis] = {}
    lengths: dict[str, int] = {}
    # In the order the session speaks them: each clip is analysed for
    # mastering here while the engine's threads speak the next ones. Past the
    # store's budget, clips and their envelopes are not held in memory.
    for text, clip in source.each(spoken_phrases(session), progress=progress):
        # The envelope is float32 like the clip: the same size again.
        keep = speech.put(text, clip, companion_bytes=clip.nbytes)
        lengths[text] = len(clip)
        if clip.size and analyse_clips:
            key: Key = ("speech", text)
            analyses[key] = analyse(key, clip, OUTPUT_RATE_HZ, keep_envelope=keep)
    tone_lengths = {name: cues.cue_length_samples(name, OUTPUT_RATE_HZ) for name in cues.CUE_NAMES}
    timeline = plan(session, lengths, tone_lengths, OUTPUT_RATE_HZ)
    used = {e.cue for e in timeline.sounds() if e.kind == "tone" and e.cue}
    tones = {name: cues.cue_samples(name, OUTPUT_RATE_HZ) for name in sorted(used)}
    bed = bed_loop(session, OUTPUT_RATE_HZ)
    voice = spoken_by(session, source.engine, options)
    return Prepared(session, timeline, speech, tones, bed, analyses, voice)


def spoken_by(session: Session, engine: Engine, options: VoiceOptions) -> str:
    """E.g. "en_US-joe-medium (piper)"; after "auto" fell back from the natural
    voice, also why and how to get one."""
    chosen_by_auto = (
        session.voice.engine == "auto" and session.voice.name is None and not options.voice_model
    )
    return describe(engine, session.language, chosen_by_auto=chosen_by_auto)


def mastered(prepared: Prepared, ceiling_dbtp: float = CEILING_DBTP) -> Mastered:
    return master(
        prepared.timeline,
        prepared.speech,
        prepared.tones,
        ceiling_dbtp=ceiling_dbtp,
        workers=threads(),
        analyses=prepared.analyses,
    )


def mastered_with_bed(
    prepared: Prepared, ceiling_dbtp: float = CEILING_DBTP
) -> tuple[Mastered, Bed | None]:
    """The voice's clips and the bed under them, levelled together as one mix."""
    voice = mastered(prepared, ceiling_dbtp)
    ambience = prepared.session.ambience
    if ambience is None or prepared.bed_loop is None:
        return voice, None
    return levelled_with_bed(
        prepared.timeline,
        voice,
        ambience,
        prepared.bed_loop,
        ceiling_dbtp=ceiling_dbtp - BED_HEADROOM_DB,
    )


def layered_chunks(
    prepared: Prepared,
    levels: Mastered,
    bed: Bed | None,
    chunk_samples: int = 1 << 16,
    start_sample: int = 0,
    stop_sample: int | None = None,
) -> Iterator[tuple[np.ndarray, ...]]:
    """(mix, voice, bed) chunks; without a bed, (voice,) chunks. From ``start_sample``
    to ``stop_sample`` (default: the end)."""
    voice = render_chunks(prepared.timeline, levels, chunk_samples, start_sample, stop_sample)
    if bed is None:
        return ((chunk,) for chunk in voice)
    return mixed(voice, bed, start_sample)


def pcm_chunks(prepared: Prepared, chunk_samples: int = 1 << 16) -> Iterator[np.ndarray]:
    """The session's PCM, mastered and mixed, in chunks: never the whole session at once."""
    levels, bed = mastered_with_bed(prepared)
    return (layers[0] for layers in layered_chunks(prepared, levels, bed, chunk_samples))


def default_output(script: Path, out_dir: Path, suffix: str = ".mp3") -> Path:
    return out_dir / (("stdin" if script == STDIN else script.stem) + suffix)


def cpu_count() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


# Set in the processes of ``export_many``: they share the cores.
_threads_per_export: int | None = None


def threads() -> int:
    """Threads one export masters and encodes on: every core, or its share."""
    return _threads_per_export or cpu_count()


def _share_cores(count: int) -> None:
    global _threads_per_export
    _threads_per_export = count


# How far from TARGET_LUFS a file may land and still be said to be at it.
LOUDNESS_TOLERANCE_LU = 0.3


def loudness_shortfall(loudness_lufs: float) -> str:
    """Why a file is quieter than the target, or "": a session of few, short
    words only reaches -16 LUFS with more limiting than a voice bears."""
    if loudness_lufs >= TARGET_LUFS - LOUDNESS_TOLERANCE_LU:
        return ""
    return f", under {TARGET_LUFS:g}: louder would crush the voice"


@dataclass(frozen=True)
class ExportResult:
    script: Path
    outputs: list[Path]
    duration_s: float
    loudness_lufs: float
    notes: tuple[str, ...]
    voice: str = ""


def export(
    path: Path,
    request: ExportRequest,
    options: VoiceOptions = VoiceOptions(),
    stages: Stages | None = None,
) -> ExportResult:
    """Render one script to ``request.dest`` (and its companions), atomically."""
    prepared = prepare(path, options, stages("speaking") if stages else None)
    return export_prepared(path, prepared, request, stages)


def export_prepared(
    path: Path, prepared: Prepared, request: ExportRequest, stages: Stages | None = None
) -> ExportResult:
    if request.stems and prepared.session.ambience is None:
        raise UsageError(
            f"{path}: --stems needs an ambience under the voice; this script has none "
            "(add for example 'ambience: rain')"
        )
    if stages is not None:
        stages("mastering")(0, 1)
    # Fewer bits add higher peaks: a low bitrate is mastered with more headroom.
    mp3 = request.dest.suffix.lower() == ".mp3"
    ceiling_dbtp = mastering_ceiling_dbtp(request.bitrate_kbps) if mp3 else CEILING_DBTP
    levels, bed = mastered_with_bed(prepared, ceiling_dbtp)

    def layers(start_sample: int, stop_sample: int) -> Iterator[tuple[np.ndarray, ...]]:
        return layered_chunks(prepared, levels, bed, 1 << 16, start_sample, stop_sample)

    progress = stages("encoding") if stages else None
    # Under a bed nothing is silent, so an MP3 cannot be joined there.
    silences = silent_spans(prepared.timeline) if bed is None else []
    outputs = write_session(
        prepared.timeline, layers, request, progress, silences=silences, workers=threads()
    )
    timeline = prepared.timeline
    return ExportResult(
        path, outputs, timeline.duration_s, levels.loudness_lufs, timeline.notes, prepared.voice
    )


@dataclass(frozen=True)
class Failure:
    script: Path
    message: str
    exit_status: int


def _export_one(args: tuple[Path, ExportRequest, VoiceOptions]) -> ExportResult | Failure:
    path, request, options = args
    try:
        return export(path, request, options)
    except UserError as exc:
        return Failure(path, str(exc), exc.exit_status)


def export_many(
    jobs: list[tuple[Path, ExportRequest]],
    options: VoiceOptions,
    workers: int,
    on_done: Callable[[ExportResult | Failure], None],
) -> list[ExportResult | Failure]:
    """Render several scripts in parallel processes (each has its own engine state).

    An interrupt (Ctrl-C, or SIGTERM turned into one) stops the workers at once;
    each removes its temporary files on the way out.
    """
    from concurrent.futures import as_completed

    from .processes import WorkerPool

    results: list[ExportResult | Failure] = []
    if workers <= 1 or len(jobs) == 1:
        for path, request in jobs:
            result = _export_one((path, request, options))
            on_done(result)
            results.append(result)
        return results
    processes = min(workers, len(jobs))
    # Folders the exports will make. An interrupted worker removes those it
    # made, unless another worker still had a temporary in one; once all have
    # stopped, the parent removes what is left empty.
    missing = {folder for _, request in jobs for folder in request.dest.parents}
    missing = {folder for folder in missing if not folder.exists()}
    pool = WorkerPool(
        processes, initializer=_share_cores, initargs=(max(1, cpu_count() // processes),)
    )
    try:
        futures = [pool.submit(_export_one, (p, r, options)) for p, r in jobs]
        for future in as_completed(futures):
            result = future.result()
            on_done(result)
            results.append(result)
    except BaseException:
        pool.stop()
        for folder in sorted(missing, key=lambda f: len(f.parts), reverse=True):
            with contextlib.suppress(OSError):  # not empty: something else is in it
                folder.rmdir()
        raise
    pool.shutdown()
    return results


# --- serve: estimates without speech, a progressive PCM stream, warm engines ---------
# (the server's needs; everything it takes from the core and outputs goes through here)

from .outputs.atomic import write_text_atomic as write_text_atomic  # noqa: E402
from .outputs.mp3 import LameStream  # noqa: E402
from .outputs.playlist import m3u as m3u  # noqa: E402

# Seconds of speech per character at 140 words a minute, and per phrase: fitted
# on every phrase of the bundled scripts (piper and espeak alike, 0.06 s per
# character; about 0.5 s off per phrase, a few percent over a session).
_ESTIMATE_S_PER_CHAR_AT_140_WPM = 0.062
_ESTIMATE_S_PER_PHRASE = 0.2


def estimated_speech_s(text: str, rate_wpm: int) -> float:
    """How long a phrase takes to say, from its length alone (no engine)."""
    if not text.strip():
        return 0.0
    return _ESTIMATE_S_PER_PHRASE + len(text) * _ESTIMATE_S_PER_CHAR_AT_140_WPM * 140 / rate_wpm


def estimated_plan(session: Session) -> Timeline:
    """The session planned from estimated phrase lengths: no speech is synthesised.

    The planner is the same one, so steps, holds and chapters are where the
    real plan puts them, shifted only by how far each phrase's estimate is off.
    """
    rate = session.voice.rate_wpm
    speech = {
        text: round(estimated_speech_s(text, rate) * OUTPUT_RATE_HZ)
        for text in spoken_phrases(session)
    }
    tone_lengths = {name: cues.cue_length_samples(name, OUTPUT_RATE_HZ) for name in cues.CUE_NAMES}
    return plan(session, speech, tone_lengths, OUTPUT_RATE_HZ)


# The openings prepared before the whole session: the first is short so that it is
# ready at once, each lasts long enough to prepare the next behind it.
OPENINGS_S = (5.0, 30.0)


def opening(session: Session, source: ClipSource, options: VoiceOptions, min_s: float) -> Prepared:
    """The fewest first steps that last ``min_s`` (or all of them), prepared.

    The planner is sequential: up to its end, an opening's plan is the whole
    session's plan (only the mastering gain, found on fewer clips, differs).
    """
    count = 0
    while True:
        count += 1
        # Not analysed here: each longer try would analyse the same clips again,
        # and mastering analyses those of the opening chosen.
        part = prepare_session(
            replace(session, steps=session.steps[:count]),
            options,
            source=source,
            analyse_clips=False,
        )
        if count >= len(session.steps):
            return part
        # Lines after an exercise lead into the next one, which this opening
        # leaves out: cut there, they would be its closing chapter.
        leads_in = part.timeline.chapters[-1].kind == "closing"
        if part.timeline.duration_s >= min_s and not leads_in:
            return part


@dataclass(frozen=True)
class _Ready:
    prepared: Prepared
    levels: Mastered
    bed: Bed | None
    whole: bool


def progressive_pcm(
    session: Session,
    options: VoiceOptions = VoiceOptions(),
    *,
    source: ClipSource | None = None,
    on_whole: Callable[[Prepared], None] | None = None,
    chunk_samples: int = 1 << 14,
    openings_s: tuple[float, ...] = OPENINGS_S,
) -> Iterator[np.ndarray]:
    """The session's PCM from its first sample, long before the whole of it is ready.

    Short openings, then the whole session, are prepared on a thread; each chunk
    is rendered from the best preparation ready at that moment, and the
    generator blocks only when it reaches the end of the longest one ready.
    ``on_whole`` is called (on the caller's thread) once the whole session is
    prepared. Timing is the export's to the sample; sounds rendered from an
    opening have that opening's provisional gain. Under an ambience bed the
    openings would fade the bed out at their ends, so such a session waits for
    the whole.
    """
    import queue
    import threading

    source = source or clip_source(session, options)
    ready: queue.Queue[_Ready | BaseException] = queue.Queue()

    def work() -> None:
        try:
            if session.ambience is None:
                for min_s in openings_s:
                    part = opening(session, source, options, min_s)
                    if len(part.session.steps) >= len(session.steps):
                        break
                    ready.put(_Ready(part, mastered(part), None, whole=False))
            whole = prepare_session(session, options, source=source)
            levels, bed = mastered_with_bed(whole)
            ready.put(_Ready(whole, levels, bed, whole=True))
        except BaseException as exc:  # raised again on the caller's thread
            ready.put(exc)

    threading.Thread(target=work, name="prepare-stream", daemon=True).start()

    def take(block: bool) -> _Ready | None:
        try:
            item = ready.get(block=block)
        except queue.Empty:
            return None
        if isinstance(item, BaseException):
            raise item
        if item.whole and on_whole is not None:
            on_whole(item.prepared)
        return item

    best = take(block=True)
    position = 0
    while best is not None:
        newer = take(block=False)
        while newer is not None:
            best = newer
            newer = None if best.whole else take(block=False)
        end = best.prepared.timeline.duration_samples
        if position >= end:
            if best.whole:
                return
            best = take(block=True)
            continue
        stop = min(end, position + chunk_samples)
        for layers in layered_chunks(
            best.prepared, best.levels, best.bed, stop - position, position, stop
        ):
            yield layers[0]
        position = stop


def warm_engine(options: VoiceOptions, language: str = "en") -> None:
    """Load the engine ``options`` name for ``language`` and speak once: piper loads its
    model once per process (0.5 s) and its first phrase is slower than the rest."""
    engine = get_engine(
        options.engine or "auto",
        language=language,
        voice_name=options.voice,
        rate_wpm=options.rate_wpm or 150,
        model_path=options.voice_model,
    )
    engine.synthesize("Ready.")


def mp3_stream(bitrate_kbps: int, rate_hz: int = OUTPUT_RATE_HZ) -> LameStream:
    """A plain MP3 stream: frames as PCM comes in, no Info frame (nothing to seek by)."""
    return LameStream(rate_hz, bitrate_kbps)


# -- live playback (voiceguide play): what live/ needs from the core and the outputs ---------
# (Re-exported with ``as``: live/ takes them from here, never from the core.)
from .core.ambience import Ducking  # noqa: E402
from .core.mastering import with_speech as with_speech  # noqa: E402
from .core.plan import STEP_GAP_S as STEP_GAP_S  # noqa: E402
from .core.render import mix_into as mix_into  # noqa: E402

# A bed that does not end: a session's opening is followed by more of it.
ENDLESS_SAMPLES = 1 << 52


def bed_for(bed: Bed, timeline: Timeline, *, final: bool = True) -> Bed:
    """``bed`` (its loop and level) under ``timeline`` as it is now: ducking under
    its sounds, fading out at its end (``final``) or going on (an opening)."""
    duration = timeline.duration_samples if final else ENDLESS_SAMPLES
    return replace(bed, ducking=Ducking.from_timeline(timeline), duration_samples=duration)


def preload_engine(session: Session, options: VoiceOptions) -> Callable[[], None]:
    """Start loading the voice ``clip_source`` will need, on threads, if it takes long
    to load (piper's model); returns at once, with a function that waits for it."""
    engine = session.voice.engine
    # "auto" picks piper first, but only for a language its voice speaks.
    english = session.language.lower().split("-")[0] == "en"
    if engine != "piper" and not (engine == "auto" and (english or options.voice_model)):
        return lambda: None
    from .speech import piper_engine

    return piper_engine.preload(options.voice_model)


# -- voiceguide new: sessions made from the exercise library, fitted with the plan ----------
from .core.generate import Generated as Generated  # noqa: E402
from .core.generate import Request as Request  # noqa: E402
from .core.generate import generate  # noqa: E402
from .core.library import Library, parse_library  # noqa: E402

GENERATED_SOURCE = "<generated>"


def exercise_library() -> Library:
    """The bundled library (voiceguide/data/exercises.yaml)."""
    from importlib.resources import files

    text = files("voiceguide").joinpath("data/exercises.yaml").read_text(encoding="utf-8")
    return parse_library(text)


def planned_duration_s(
    text: str,
    options: VoiceOptions = VoiceOptions(),
    source: ClipSource | None = None,
    known: dict[str, int] | None = None,
) -> float:
    """How long the script ``text`` plays: parsed, its phrases spoken (cached), planned.

    ``known`` holds phrase lengths in samples from earlier calls with the same voice;
    new ones are added to it.
    """
    session = with_voice_options(
        parse_script(text, GENERATED_SOURCE, allow_fallback=options.allow_fallback), options
    )
    source = source or clip_source(session, options)
    lengths = known if known is not None else {}
    missing = [phrase for phrase in spoken_phrases(session) if phrase not in lengths]
    for phrase, clip in source.each(missing):
        lengths[phrase] = len(clip)
    tone_lengths = {name: cues.cue_length_samples(name, OUTPUT_RATE_HZ) for name in cues.CUE_NAMES}
    return plan(session, lengths, tone_lengths, OUTPUT_RATE_HZ).duration_s


def generate_session(
    request: Request, options: VoiceOptions = VoiceOptions(), library: Library | None = None
) -> Generated:
    """A new script for ``request``, its length fitted with the voice ``options`` name."""
    sources: list[ClipSource] = []
    known: dict[str, int] = {}

    def measure(text: str) -> float:
        if not sources:  # one engine for every try: the voice does not change between them
            session = with_voice_options(parse_script(text, GENERATED_SOURCE), options)
            sources.append(clip_source(session, options))
        return planned_duration_s(text, options, sources[0], known)

    return generate(library or exercise_library(), request, measure)


# -- programmes: phases that follow the log's check-ins --------------------------------
from .core.programme import Programme, Record, parse_programme  # noqa: E402
from .core.programme import Today as Today  # noqa: E402
from .core.programme import session_for_today as session_for_today  # noqa: E402

BUNDLED_PROGRAMME = "back-care"


def bundled_programmes() -> list[str]:
    from importlib.resources import files

    folder = files("voiceguide").joinpath("data/programmes")
    return sorted(
        p.name.removesuffix(".yaml") for p in folder.iterdir() if p.name.endswith(".yaml")
    )


def load_programme(source: Path | str | None = None) -> tuple[Programme, str]:
    """A programme file, or a bundled programme by name (default: back-care)."""
    from importlib.resources import files

    name = BUNDLED_PROGRAMME if source is None else str(source)
    if name in bundled_programmes() and (source is None or not Path(name).exists()):
        text = files("voiceguide").joinpath(f"data/programmes/{name}.yaml").read_text("utf-8")
        return parse_programme(text, name), name
    path = Path(name)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(
            f"{path}: no such file; the bundled programmes are {', '.join(bundled_programmes())}"
        ) from None
    except (IsADirectoryError, PermissionError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: cannot read it ({exc.__class__.__name__})") from None
    return parse_programme(text, str(path)), str(path)


def checkin_records(log_path: Path | None = None) -> list[Record]:
    """Every check-in in the session log, as the programme rules read them."""
    from .history import Log, default_path

    if not (log_path or default_path()).exists():
        return []  # nothing played yet: reading must not create the log
    with Log.open(log_path) as log:
        return [Record(c.at, c.pain, c.moment) for c in log.checkins()]


def todays_session(
    programme: Programme,
    now: datetime | None = None,
    zone: tzinfo | None = None,
    log_path: Path | None = None,
) -> Today:
    """The programme's phase and today's session, from the session log's check-ins
    (for `program status`, and for schedules that follow a programme)."""
    now = now or datetime.now(UTC)
    zone = zone or now.astimezone().tzinfo or UTC
    return session_for_today(programme, checkin_records(log_path), zone, now)


def acknowledgement() -> np.ndarray:
    """The blip that answers a spoken command (live/listen), at the output rate."""
    return cues.acknowledgement(OUTPUT_RATE_HZ)
