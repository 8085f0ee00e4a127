"""Each session rendered once, however many clients ask at the same moment.

Per session and script version there is at most one render in flight: the
first request starts an asyncio task, every other request awaits the same
task (shielded, so a client that hangs up cancels only its own wait). The
work itself runs in a worker process. Finished files live in the cache
folder under a name that includes a hash of the script and the settings, so
an edited script is simply a new name, and a restarted server finds its
earlier renders again.

Nothing here waits for speech to list a session: until its real plan exists,
``known`` gives a plan estimated from the script alone (``estimated`` true). An
audio render streams its MP3 into a growing file as it goes (``stream``), so a
client can play long before the file that `export` would write is done.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import re
from collections import Counter
from collections.abc import AsyncGenerator, Callable
from concurrent.futures import BrokenExecutor, Executor
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from .. import __version__, pipeline
from ..errors import ScriptError, UsageError, UserError
from ..processes import PoolStopped
from ..report import timeline_json
from .jobs import CacheFiles, JobFailure, RenderSettings, audio_job, plan_job
from .library import Entry

log = logging.getLogger("voiceguide.server")

Job = Callable[[Path, CacheFiles, RenderSettings], "dict[str, Any] | JobFailure"]


class WorkerLost(Exception):
    """The worker process died mid-render (a crash in a speech engine, a kill)."""


class RenderFailed(Exception):
    def __init__(self, failure: JobFailure) -> None:
        super().__init__(failure.message)
        self.failure = failure


@dataclass(frozen=True)
class Rendered:
    files: CacheFiles
    plan: dict[str, Any]


@dataclass(frozen=True)
class Known:
    """What can be said about a session without waiting: its plan or its error."""

    plan: dict[str, Any] | None
    estimated: bool  # the plan is estimated from the script, no speech measured
    failure: JobFailure | None


# How often a growing stream (or a plan being made) is looked at: a client
# hears of new audio this much late at most.
POLL_S = 0.02


class RenderCache:
    def __init__(
        self,
        cache_dir: Path,
        settings: RenderSettings,
        executor: Executor,
        renew: Callable[[], Executor] | None = None,
    ) -> None:
        self.cache_dir = cache_dir
        self.settings = settings
        self.executor = executor
        # A process pool whose worker died refuses all further work; this makes
        # a fresh one so the next request can render again.
        self._renew = renew
        # How many times each kind of job was started, by session id: the
        # load test holds the server to one audio render per session.
        self.started: Counter[tuple[str, str]] = Counter()
        self._tasks: dict[tuple[str, str, str], asyncio.Task[Rendered]] = {}
        self._failures: dict[tuple[str, str, str], JobFailure] = {}
        # By (session id, script version): kept small by _forget_other_versions.
        self._estimates: dict[tuple[str, str], dict[str, Any] | JobFailure] = {}
        self._plans: dict[tuple[str, str], dict[str, Any]] = {}
        self._growth: dict[tuple[str, str, str], _Growth] = {}
        self._settings_digest = hashlib.sha256(repr((settings, __version__)).encode()).hexdigest()

    def cancel_all(self) -> None:
        """The server is stopping: every render in flight is cancelled (its
        worker is stopped by whoever owns the executor), and a pool broken by
        that stop is not replaced."""
        self._renew = None
        for task in self._tasks.values():
            task.cancel()

    def key(self, entry: Entry) -> str:
        digest = hashlib.sha256((entry.content_hash() + self._settings_digest).encode())
        return digest.hexdigest()[:16]

    async def plan(self, entry: Entry) -> Rendered:
        """The planned timeline (no audio needed); raises RenderFailed for a bad script.

        An audio render in flight writes the plan as soon as its speech is
        ready: that one is awaited rather than synthesising a second time.
        """
        key = self.key(entry)
        audio = self._tasks.get(("audio", entry.id, key))
        if audio is not None and audio.done() and not audio.cancelled() and not audio.exception():
            # The plan the audio was rendered from: without the phrase cache a
            # second synthesis could differ from it by a few samples.
            return audio.result()
        if audio is not None and not audio.done():
            return await self._plan_of(entry, audio)
        return await self._once("plan", entry, plan_job, _plan_ready)

    async def timeline(self, entry: Entry) -> Rendered:
        """The plan, made by an audio render: whoever asks for a session's timeline
        (the web player) is about to play it, and that render gives the plan as
        soon as a plan-only one would."""
        plan = self._plan_file(entry)
        if plan is not None:
            return Rendered(CacheFiles.of(self.cache_dir, entry.id, self.key(entry)), plan)
        self._start_audio(entry)
        return await self.plan(entry)

    async def audio(self, entry: Entry) -> Rendered:
        """The rendered MP3, VTT and the plan they follow."""
        return await self._once("audio", entry, audio_job, _audio_ready)

    def audio_ready(self, entry: Entry) -> bool:
        files = CacheFiles.of(self.cache_dir, entry.id, self.key(entry))
        return files.mp3.is_file() and files.vtt.is_file()

    def stream(self, entry: Entry) -> LiveStream:
        """The MP3 of this session as it is rendered (the render is started if need be)."""
        task = self._start_audio(entry)
        key = self.key(entry)
        slot = ("audio", entry.id, key)
        growth = self._growth.get(slot)
        if growth is None or growth.task is not task:
            growth = self._growth[slot] = _Growth(
                CacheFiles.of(self.cache_dir, entry.id, key), task
            )
        return LiveStream(growth)

    def known(self, entry: Entry) -> Known:
        """The real plan if there is one, else the script's error, else an estimate."""
        key = self.key(entry)
        failure = self._failures.get(("audio", entry.id, key)) or self._failures.get(
            ("plan", entry.id, key)
        )
        if failure is not None:
            return Known(None, False, failure)
        plan = self._plan_file(entry)
        if plan is not None:
            return Known(plan, False, None)
        estimate = self._estimates.get((entry.id, key))
        if estimate is None:
            estimate = self._estimates[(entry.id, key)] = self._estimate(entry)
        if isinstance(estimate, JobFailure):
            return Known(None, False, estimate)
        return Known(estimate, True, None)

    def _estimate(self, entry: Entry) -> dict[str, Any] | JobFailure:
        # Parsing and planning are pure and take milliseconds: done here, in the loop.
        try:
            session = pipeline.load_with_options(entry.path, self.settings.voice)
            return timeline_json(pipeline.estimated_plan(session))
        except UserError as exc:
            message = str(exc).replace(str(entry.path), entry.path.name)
            return JobFailure(message, isinstance(exc, (ScriptError, UsageError)))

    def _plan_file(self, entry: Entry) -> dict[str, Any] | None:
        key = self.key(entry)
        audio = self._tasks.get(("audio", entry.id, key))
        if audio is not None and audio.done() and not audio.cancelled() and not audio.exception():
            return audio.result().plan  # the one its audio follows
        plan = self._plans.get((entry.id, key))
        if plan is None:
            plan = _read_plan(CacheFiles.of(self.cache_dir, entry.id, key).plan)
            if plan is not None:
                self._plans[(entry.id, key)] = plan
        return plan

    async def _plan_of(self, entry: Entry, audio: asyncio.Task[Rendered]) -> Rendered:
        files = CacheFiles.of(self.cache_dir, entry.id, self.key(entry))
        while not audio.done():
            plan = self._plan_file(entry)
            if plan is not None:
                return Rendered(files, plan)
            await asyncio.wait({audio}, timeout=POLL_S)
        return await asyncio.shield(audio)

    def _start_audio(self, entry: Entry) -> asyncio.Task[Rendered]:
        """The audio render of this version, started if it is not running."""
        return self._task("audio", entry, audio_job, _audio_ready)

    async def _once(
        self,
        kind: str,
        entry: Entry,
        job: Job,
        ready: Callable[[CacheFiles], dict[str, Any] | None],
    ) -> Rendered:
        return await asyncio.shield(self._task(kind, entry, job, ready))

    def _task(
        self,
        kind: str,
        entry: Entry,
        job: Job,
        ready: Callable[[CacheFiles], dict[str, Any] | None],
    ) -> asyncio.Task[Rendered]:
        """The one task of this kind for this version of the session, started if need be."""
        key = self.key(entry)
        slot = (kind, entry.id, key)
        failure = self._failures.get(slot)
        if failure is not None:
            raise RenderFailed(failure)
        files = CacheFiles.of(self.cache_dir, entry.id, key)
        task = self._tasks.get(slot)
        finished = task is not None and task.done() and not task.cancelled()
        if finished and task is not None and task.exception() is None and ready(files) is None:
            # Finished earlier, but its files have since been removed from the cache.
            task = None
        if task is None:
            self._forget_other_versions(entry.id, key)
            if kind == "audio" and ready(files) is None:
                _fresh_stream(files)
            task = asyncio.create_task(self._run(kind, entry, job, files, ready))
            self._tasks[slot] = task
            task.add_done_callback(lambda done: self._settle(slot, done))
        return task

    def versions_held(self, ident: str) -> set[str]:
        """The script versions of a session whose answers are kept in memory."""
        return {key for (_, i, key) in [*self._tasks, *self._failures] if i == ident}

    def _forget_other_versions(self, ident: str, key: str) -> None:
        # A server running for weeks while its scripts are edited would
        # otherwise keep every version's plan. Renders still in flight stay:
        # their clients await them.
        for slot in [s for s in self._tasks if s[1] == ident and s[2] != key]:
            if self._tasks[slot].done():
                del self._tasks[slot]
        for slot in [s for s in self._failures if s[1] == ident and s[2] != key]:
            del self._failures[slot]
        for memo in (self._estimates, self._plans):
            for old in [k for k in memo if k[0] == ident and k[1] != key]:
                del memo[old]
        for slot in [s for s in self._growth if s[1] == ident and s[2] != key]:
            del self._growth[slot]

    def _settle(self, slot: tuple[str, str, str], task: asyncio.Task[Rendered]) -> None:
        # A finished task stays as the answer for its script version; a
        # failed one is replaced by its failure (kept) or forgotten (a bug,
        # so the next request tries again).
        if self._tasks.get(slot) is not task:
            return  # already forgotten: its script has changed since
        if task.cancelled():
            del self._tasks[slot]
            return
        exc = task.exception()
        if isinstance(exc, RenderFailed) and exc.failure.bad_script:
            # Only an edit can fix the script, and an edit is a new slot.
            self._failures[slot] = exc.failure
            del self._tasks[slot]
        elif exc is not None:
            del self._tasks[slot]

    async def _run(
        self,
        kind: str,
        entry: Entry,
        job: Job,
        files: CacheFiles,
        ready: Callable[[CacheFiles], dict[str, Any] | None],
    ) -> Rendered:
        plan = ready(files)
        if plan is None:
            self.started[(kind, entry.id)] += 1
            log.info("rendering %s of %s (%s)", kind, entry.id, entry.path.name)
            loop = asyncio.get_running_loop()
            executor = self.executor
            try:
                result = await loop.run_in_executor(executor, job, entry.path, files, self.settings)
            except PoolStopped as exc:
                raise WorkerLost(f"{exc}; {entry.id} was not rendered") from exc
            except BrokenExecutor as exc:
                if self._renew is not None and executor is self.executor:
                    self.executor = self._renew()
                log.error("the render worker for %s died: %s", entry.id, exc)
                raise WorkerLost(f"the render worker stopped while rendering {entry.id}") from exc
            if isinstance(result, JobFailure):
                log.warning("%s: %s", entry.id, result.message)
                # Clients see the file's name, not where it lives on this machine.
                shown = result.message.replace(str(entry.path), entry.path.name)
                raise RenderFailed(JobFailure(shown, result.bad_script))
            plan = result
            if kind == "audio":
                self._forget_older(entry, files)
        return Rendered(files, plan)

    def _forget_older(self, entry: Entry, current: CacheFiles) -> None:
        """Old versions of a session's files go once the new one is complete."""
        keep = {current.plan, current.mp3, current.vtt}
        for path in self.cache_dir.glob(f"{entry.id}-" + "?" * 16 + ".*"):
            if path not in keep:
                # A client still downloading the old file keeps its open handle.
                path.unlink(missing_ok=True)


def _fresh_stream(files: CacheFiles) -> None:
    """An empty stream file, made before the render starts: a client must never
    read one left by an earlier run."""
    files.stream_done.unlink(missing_ok=True)
    files.stream.unlink(missing_ok=True)
    files.stream.touch()


class _Growth:
    """Wakes every reader of a growing stream when it grows: one poller per stream,
    however many clients read it."""

    def __init__(self, files: CacheFiles, task: asyncio.Task[Rendered]) -> None:
        self.files = files
        self.task = task
        self._event = asyncio.Event()
        self._poller: asyncio.Task[None] | None = None

    def finished(self) -> bool:
        return self.task.done() or self.files.stream_done.exists()

    async def wait(self) -> None:
        """Until the stream may have grown (or its render ended)."""
        if self._poller is None or self._poller.done():
            self._poller = asyncio.create_task(self._poll())
        event = self._event
        # A bound, not a clock: a wake-up missed for any reason costs a second.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), 1.0)

    async def _poll(self) -> None:
        size = -1
        while True:
            try:
                now = self.files.stream.stat().st_size
            except OSError:
                now = -1
            finished = self.finished()
            if now != size or finished:
                size = now
                event, self._event = self._event, asyncio.Event()
                event.set()
            if finished:
                return
            await asyncio.sleep(POLL_S)


class LiveStream:
    """The MP3 of a render in flight, read from its start as it grows."""

    def __init__(self, growth: _Growth) -> None:
        self._growth = growth

    def open(self) -> IO[bytes] | None:
        """The stream, or None when the render has finished and tidied it away."""
        try:
            return self._growth.files.stream.open("rb")
        except FileNotFoundError:
            return None

    async def chunks(
        self, file: IO[bytes], read_bytes: int = 1 << 16
    ) -> AsyncGenerator[bytes, None]:
        """Its bytes until the render has written the last; raises the render's
        error if it failed before any byte."""
        sent = 0
        growth = self._growth
        while True:
            data = file.read(read_bytes)
            if data:
                sent += len(data)
                yield data
                continue
            if growth.finished():
                rest = file.read()
                if rest:
                    sent += len(rest)
                    yield rest
                    continue
                task = growth.task
                if sent == 0 and task.done() and not task.cancelled():
                    error = task.exception()
                    if error is not None:
                        raise error
                return
            await growth.wait()


# What CacheFiles.of names, and the temporaries of their atomic writes.
_RENDERED_NAME = re.compile(r"^\.?[a-z0-9-]+-[0-9a-f]{16}\.(json|mp3|vtt|stream|done)(\.tmp-.*)?$")


def _rendered_files(cache_dir: Path) -> list[tuple[Path, int]]:
    """Every file of every rendered session in ``cache_dir`` with its size; nothing else."""
    found = []
    with contextlib.suppress(OSError):
        for path in cache_dir.iterdir():
            if _RENDERED_NAME.match(path.name):
                with contextlib.suppress(OSError):
                    found.append((path, path.stat().st_size))
    return found


def _sessions(files: list[tuple[Path, int]]) -> int:
    return len({path.name.lstrip(".").split(".", 1)[0] for path, _ in files})


def rendered_usage(cache_dir: Path) -> tuple[int, int]:
    """How many session versions are rendered in ``cache_dir``, and their bytes."""
    files = _rendered_files(cache_dir)
    return _sessions(files), sum(size for _, size in files)


def clear_rendered(cache_dir: Path) -> tuple[int, int]:
    """Remove every rendered session from ``cache_dir`` (a running server renders
    them again when asked); how many session versions and bytes went."""
    files = _rendered_files(cache_dir)
    for path, _ in files:
        path.unlink(missing_ok=True)
    return _sessions(files), sum(size for _, size in files)


def _read_plan(path: Path) -> dict[str, Any] | None:
    try:
        plan: dict[str, Any] = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return None
    return plan


def _plan_ready(files: CacheFiles) -> dict[str, Any] | None:
    return _read_plan(files.plan)


def _audio_ready(files: CacheFiles) -> dict[str, Any] | None:
    if files.mp3.is_file() and files.vtt.is_file():
        return _read_plan(files.plan)
    return None
