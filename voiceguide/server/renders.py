"""Each session rendered once, however many clients ask at the same moment.

Per session and script version there is at most one render in flight: the
first request starts an asyncio task, every other request awaits the same
task (shielded, so a client that hangs up cancels only its own wait). The
work itself runs in a worker process. Finished files live in the cache
folder under a name that includes a hash of the script and the settings, so
an edited script is simply a new name, and a restarted server finds its
earlier renders again.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections import Counter
from collections.abc import Callable
from concurrent.futures import BrokenExecutor, Executor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import __version__
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
        """The planned timeline (no audio needed); raises RenderFailed for a bad script."""
        audio = self._tasks.get(("audio", entry.id, self.key(entry)))
        if audio is not None and audio.done() and not audio.cancelled() and not audio.exception():
            # The plan the audio was rendered from: without the phrase cache a
            # second synthesis could differ from it by a few samples.
            return audio.result()
        return await self._once("plan", entry, plan_job, _plan_ready)

    async def audio(self, entry: Entry) -> Rendered:
        """The rendered MP3, VTT and the plan they follow."""
        return await self._once("audio", entry, audio_job, _audio_ready)

    async def _once(
        self,
        kind: str,
        entry: Entry,
        job: Job,
        ready: Callable[[CacheFiles], dict[str, Any] | None],
    ) -> Rendered:
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
            task = asyncio.create_task(self._run(kind, entry, job, files, ready))
            self._tasks[slot] = task
            task.add_done_callback(lambda done: self._settle(slot, done))
        return await asyncio.shield(task)

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
