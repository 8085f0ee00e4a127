"""The home hub: `serve` carries the schedules out, and starts sessions for /api/play.

Every few seconds the hub reads the schedules from the session log's
database (so `voiceguide schedule add/remove/pause` from another process is
noticed without a restart) and asks the recurrence core what is due: a time
within ``GRACE`` of now plays, an older one without an outcome is logged
'missed' (the hub was down, or the machine slept), one in quiet hours is
logged 'quiet'. A run for a speaker is rendered up to ``RENDER_LEAD`` ahead,
so it starts on time; a busy speaker is waited for, then skipped.

The clock is injectable: tests move it, and `serve --clock-offset` (hidden)
lets a test run the real `serve` a minute before a due time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import sqlite3
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from .. import pipeline
from ..cast import session as cast_session
from ..cast.base import CastError, Found, State, Status
from ..core.recurrence import Pending, pending, upcoming
from ..errors import UserError
from ..history import Log, connect
from ..history.log import Via
from ..history.schedules import HERE, Schedule, Schedules, script_path
from .library import session_id

log = logging.getLogger("voiceguide.server.hub")
Clock = Callable[[], datetime]

POLL_S = 2.0
GRACE = timedelta(minutes=2)
BUSY_CHECK_S = 30.0
RENDER_LEAD = timedelta(minutes=2)
# How far back missed runs are looked for after a long downtime.
LOOKBACK = timedelta(days=31)
SEARCH_TIMEOUT_S = 3.0
SNOOZE_MINUTES = 20


def _now() -> datetime:
    return datetime.now(UTC)


class Skip(Exception):
    """A due run that will not play; the reason is logged with it."""


@dataclass(frozen=True)
class Next:
    schedule_id: int
    script: str
    title: str
    target: str
    at: datetime  # UTC
    local: str  # "13:00" in the schedule's zone ("Tue 13:00" when not today)
    snoozed: bool


@dataclass(frozen=True)
class Started:
    run_id: int


class Hub:
    def __init__(
        self,
        options: pipeline.VoiceOptions,
        bitrate_kbps: int = 128,
        *,
        db_path: Path | None = None,
        clock: Clock = _now,
        poll_s: float = POLL_S,
        busy_check_s: float = BUSY_CHECK_S,
        grace: timedelta = GRACE,
    ) -> None:
        self.options = options
        self.bitrate_kbps = bitrate_kbps
        self.db_path = db_path
        self.clock = clock
        self.poll_s = poll_s
        self.busy_check_s = busy_check_s
        self.grace = grace
        self.in_flight: dict[tuple[int, datetime], asyncio.Task[None]] = {}
        self.ahead: dict[tuple[int, datetime], asyncio.Task[cast_session.Media]] = {}
        self.others: set[asyncio.Task[None]] = set()
        # Speakers found while rendering ahead: a search at the due time would
        # start the session seconds late.
        self.found: dict[str, tuple[datetime, asyncio.Task[Found]]] = {}
        self.folder = Path(tempfile.mkdtemp(prefix="voiceguide-hub-"))
        # One render at a time: espeak-ng keeps global state, and two runs due
        # at once (or one and /api/play) would otherwise speak on two threads.
        self.speaking = threading.Lock()
        self.log = Log(connect(db_path), clock)
        self.schedules = Schedules(self.log.connection)

    # --- the loop ---------------------------------------------------------------

    async def run(self) -> None:
        try:
            while True:
                try:
                    self.tick()
                except (UserError, sqlite3.Error) as exc:  # locked or unreadable for now
                    log.warning("schedules: %s", exc)
                await asyncio.sleep(self.poll_s)
        finally:
            await self.close()

    async def close(self) -> None:
        tasks: list[asyncio.Future[Any]] = [*self.in_flight.values(), *self.ahead.values()]
        tasks += [*self.others, *(task for _, task in self.found.values())]
        for task in tasks:
            # Cancelled once already (asyncio.run cancels every task at exit): a
            # second cancel would cut short the Stop sent to a speaker on the way out.
            if isinstance(task, asyncio.Task) and task.cancelling():
                continue
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self.log.close()
        shutil.rmtree(self.folder, ignore_errors=True)

    def tick(self) -> None:
        """Deal with every due time up to now, and render the next runs ahead."""
        now = self.clock()
        self._forget_stale(now)
        for schedule in self.schedules.all():
            if schedule.paused:
                continue
            try:
                self._tick_one(schedule, now)
            except (ValueError, KeyError) as exc:  # a zone this machine no longer knows
                log.warning("schedule %d: %s", schedule.id, exc)

    def _forget_stale(self, now: datetime) -> None:
        """Renders made ahead for runs that never came (removed, paused, snoozed)."""
        for key in [k for k in self.ahead if k[1] < now - 2 * self.grace]:
            if key not in self.in_flight:
                self.ahead.pop(key).cancel()
                shutil.rmtree(self._folder_for(key), ignore_errors=True)

    def _tick_one(self, schedule: Schedule, now: datetime) -> None:
        handled, snoozed_to = self._handled(schedule, now)
        start = max(schedule.since, now - LOOKBACK)
        due = pending(
            schedule.recurrence, schedule.zone, start, now, self.grace, handled, snoozed_to
        )
        for item in due:
            self._deal(schedule, item, now)
        following = upcoming(schedule.recurrence, schedule.zone, now, handled, snoozed_to)
        if following is not None and following.at - now <= RENDER_LEAD:
            self._render_ahead(schedule, following.at)

    def _handled(
        self, schedule: Schedule, now: datetime
    ) -> tuple[frozenset[datetime], frozenset[datetime]]:
        rows = self.schedules.runs(schedule.id, since=now - LOOKBACK)
        handled = {row.due_at for row in rows}
        handled |= {at for (ident, at) in self.in_flight if ident == schedule.id}
        snoozed_to = frozenset(row.play_at for row in rows if row.play_at is not None)
        return frozenset(handled), snoozed_to

    def _deal(self, schedule: Schedule, item: Pending, now: datetime) -> None:
        if item.action == "missed":
            late = now - item.at
            reason = f"due {_minutes(late)} ago while no hub was running to play it"
            self.schedules.record(schedule.id, item.at, "missed", reason)
        elif item.action == "quiet":
            self.schedules.record(schedule.id, item.at, "quiet", f"quiet hours {schedule.quiet}")
        else:
            key = (schedule.id, item.at)
            self.in_flight[key] = asyncio.create_task(self._carry_out(schedule, item.at))

    # --- one run ----------------------------------------------------------------

    async def _carry_out(self, schedule: Schedule, due_at: datetime) -> None:
        key = (schedule.id, due_at)
        try:
            if schedule.target == HERE:
                await self._play_here(script_path(schedule.script), HERE, schedule, due_at)
            else:
                await self._cast(schedule, due_at)
        except Skip as exc:
            self.schedules.record(schedule.id, due_at, "skipped", str(exc))
        except UserError as exc:
            self.schedules.record(schedule.id, due_at, "skipped", str(exc))
            log.warning("schedule %d at %s: %s", schedule.id, due_at, exc)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a bug: logged with its traceback, the hub goes on
            log.exception("schedule %d at %s failed", schedule.id, due_at)
            self.schedules.record(schedule.id, due_at, "skipped", f"failed: {exc}")
        finally:
            self.in_flight.pop(key, None)
            media = self.ahead.pop(key, None)
            if media is not None:
                media.cancel()

    async def _cast(self, schedule: Schedule, due_at: datetime) -> None:
        found = await self._speaker(schedule.target)
        await self._wait_until_free(found, schedule.busy_wait_minutes)
        key = (schedule.id, due_at)
        task = self.ahead.pop(key, None) or self._render(schedule.script, key)
        media = await task
        await self._play_on(found, media, "schedule", found.name, (schedule.id, due_at))

    async def _wait_until_free(self, found: Found, busy_wait_minutes: int) -> None:
        """Returns once the speaker plays nothing; Skip after ``busy_wait_minutes``."""
        speaker = await found.connect()
        try:
            deadline = self.clock() + timedelta(minutes=busy_wait_minutes)
            while True:
                status = await speaker.status()
                # Nothing of ours plays on it yet: whatever it plays is someone else's.
                if status.state != State.PLAYING:
                    return
                left_s = (deadline - self.clock()).total_seconds()
                if left_s <= 0:
                    waited = f" for {busy_wait_minutes} min" if busy_wait_minutes else ""
                    raise Skip(f"{found.name} was playing something else{waited}")
                await asyncio.sleep(min(self.busy_check_s, left_s))
        finally:
            await speaker.close()

    def _render_ahead(self, schedule: Schedule, due_at: datetime) -> None:
        key = (schedule.id, due_at)
        if schedule.target == HERE or key in self.ahead or key in self.in_flight:
            return
        self.ahead[key] = self._render(schedule.script, key)
        search = asyncio.create_task(_resolve(schedule.target))
        self.found[schedule.target] = (self.clock(), search)

    async def _speaker(self, target: str) -> Found:
        """The speaker found ahead, or found now if that search failed or was not made."""
        found = self.found.pop(target, None)
        if found is not None:
            when, task = found
            # One found for a run that was snoozed since may have moved away.
            if self.clock() - when <= 2 * RENDER_LEAD:
                with contextlib.suppress(UserError):
                    return await task
            task.cancel()
        return await _resolve(target)

    def _render(self, script: str, key: tuple[int, datetime]) -> asyncio.Task[Any]:
        folder = self._folder_for(key)
        folder.mkdir(exist_ok=True)
        return asyncio.create_task(
            self._in_thread(cast_session.render, script_path(script), folder, self.options,
                            None, self.bitrate_kbps, True)
        )  # fmt: skip

    def _folder_for(self, key: tuple[int, datetime]) -> Path:
        return self.folder / f"{key[0]}-{key[1]:%Y%m%dT%H%M%S}"

    async def _in_thread(self, work: Callable[..., Any], *args: Any, exclusive: bool = True) -> Any:
        """``work(*args)`` on a daemon thread; ``exclusive``: one at a time (see
        ``speaking``). A render or a session still going when `serve` stops must
        not hold its exit, as the event loop's own threads would."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[Any] = loop.create_future()

        def run() -> None:
            try:
                with self.speaking if exclusive else contextlib.nullcontext():
                    result: Any = work(*args)
            except BaseException as exc:
                result = exc
            with contextlib.suppress(RuntimeError):  # the loop is gone: serve stopped
                loop.call_soon_threadsafe(_settle, done, result)

        threading.Thread(target=run, name="voiceguide-hub-render", daemon=True).start()
        return await done

    async def _play_on(
        self,
        found: Found,
        media: cast_session.Media,
        via: Via,
        target: str,
        due: tuple[int, datetime] | None,
        started: asyncio.Future[int] | None = None,
    ) -> None:
        """Plays ``media`` on ``found``; the run is logged once the speaker plays it."""
        run_id: int | None = None
        reached_ms = 0
        title = media.metadata.title
        planned_ms = round(media.metadata.duration_s * 1000)

        def on_start(url: str) -> None:
            nonlocal run_id
            ident = session_id(media.path.stem)
            run_id = self.log.start_run(ident, title, via, target, planned_ms)
            if due is not None:
                self.schedules.record(due[0], due[1], "started", run_id=run_id)
            if started is not None and not started.done():
                started.set_result(run_id)
            log.info("started %s on %s (run %d)", title, found.name, run_id)

        def on_status(status: Status) -> None:
            nonlocal reached_ms
            if status.state == State.PLAYING and status.position_s:
                reached_ms = max(reached_ms, round(status.position_s * 1000))

        outcome: cast_session.Outcome | None = None
        try:
            outcome = await cast_session.play_async(
                media, found, on_status=on_status, on_start=on_start
            )
        finally:
            shutil.rmtree(media.path.parent, ignore_errors=True)
            if run_id is not None:
                said = outcome.message if outcome else f"stopped {found.name}: the hub stops"
                log.info("%s (run %d)", said, run_id)
                if outcome is None:
                    self.log.end_run(run_id, "stopped", reached_ms)
                else:
                    finished = outcome.finished
                    reached = planned_ms if finished else reached_ms
                    self.log.end_run(run_id, "finished" if finished else "stopped", reached)
        if run_id is None:
            raise CastError(f"{found.name} did not start playing")

    async def _play_here(
        self,
        script: Path,
        target: str,
        schedule: Schedule | None,
        due_at: datetime | None,
        started: asyncio.Future[int] | None = None,
    ) -> None:
        from ..live.unattended import Unattended

        player = await self._in_thread(Unattended, script, self.options, schedule is not None)
        via: Via = "schedule" if schedule is not None else "play"
        ident = session_id(script.stem)
        run_id = self.log.start_run(
            ident, player.title, via, target, round(player.planned_s * 1000)
        )
        if schedule is not None and due_at is not None:
            self.schedules.record(schedule.id, due_at, "started", run_id=run_id)
        if started is not None and not started.done():
            started.set_result(run_id)
        try:
            played = await self._in_thread(player.play, exclusive=False)
        except asyncio.CancelledError:
            player.stop()
            self.log.end_run(run_id, "stopped")
            raise
        except Exception:
            self.log.end_run(run_id, "failed")
            raise
        self.log.end_run(
            run_id, "finished" if played.finished else "stopped", round(played.played_s * 1000)
        )

    # --- for the web: what comes next, snooze, play now -------------------------

    def next_runs(self) -> list[Next]:
        now = self.clock()
        found: list[Next] = []
        for schedule in self.schedules.all():
            if schedule.paused:
                continue
            handled, snoozed_to = self._handled(schedule, now)
            try:
                following = upcoming(schedule.recurrence, schedule.zone, now, handled, snoozed_to)
            except (ValueError, KeyError):  # a zone this machine no longer knows
                continue
            if following is None:
                continue
            local = following.at.astimezone(schedule.zone)
            today = now.astimezone(schedule.zone).date() == local.date()
            found.append(
                Next(
                    schedule.id,
                    schedule.script,
                    _title(schedule.script),
                    schedule.target,
                    following.at,
                    f"{local:%H:%M}" if today else f"{local:%a %H:%M}",
                    following.snoozed,
                )
            )
        return sorted(found, key=lambda n: n.at)

    def snooze(self, schedule_id: int, minutes: int = SNOOZE_MINUTES) -> tuple[datetime, datetime]:
        """Moves the schedule's next run ``minutes`` later, once: (was due, now due)."""
        schedule = self.schedules.get(schedule_id)
        if schedule is None:
            raise LookupError(f"there is no schedule {schedule_id}")
        nxt = next((n for n in self.next_runs() if n.schedule_id == schedule_id), None)
        if nxt is None:
            raise ValueError(f"schedule {schedule_id} has no run coming")
        moved = self.schedules.snooze(schedule_id, nxt.at, minutes)
        if moved is None:
            raise ValueError(f"the run due at {nxt.at:%H:%M} UTC has started already")
        render = self.ahead.pop((schedule_id, nxt.at), None)
        if render is not None:
            render.cancel()
        return nxt.at, moved

    async def play_now(self, script: Path, target: str) -> int:
        """Starts ``script`` on ``target`` now (POST /api/play); the run's id once it
        plays. A speaker that cannot be found or made to play raises CastError."""
        started: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        if target == HERE:
            work = self._play_here(script, f"{HERE} (api)", None, None, started)
        else:
            found = await _resolve(target)
            media = await self._in_thread(
                cast_session.render,
                script,
                Path(tempfile.mkdtemp(prefix="api-", dir=self.folder)),
                self.options,
                None,
                self.bitrate_kbps,
            )
            work = self._play_on(found, media, "cast", f"{found.name} (api)", None, started)
        task = asyncio.create_task(work)
        self.others.add(task)
        task.add_done_callback(self.others.discard)
        waiting: set[asyncio.Future[Any]] = {task, started}
        await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
        if started.done():
            return started.result()
        task.result()  # raises what stopped it
        raise CastError(f"{target} did not start playing")


def _settle(future: asyncio.Future[Any], result: Any) -> None:
    if future.done():
        return
    if isinstance(result, BaseException):
        future.set_exception(result)
    else:
        future.set_result(result)


async def _resolve(target: str) -> Found:
    from ..cast.discovery import resolve

    return await resolve(target, SEARCH_TIMEOUT_S)


def _title(script: str) -> str:
    with contextlib.suppress(UserError):
        return pipeline.load_session(script_path(script)).title
    return Path(script).stem


def _minutes(span: timedelta) -> str:
    minutes = int(span.total_seconds() // 60)
    if minutes < 120:
        return f"{minutes} min"
    hours = round(minutes / 60)
    return f"{hours} h" if hours < 48 else f"{round(hours / 24)} days"
