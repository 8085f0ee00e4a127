"""Worker processes that end with the command that started them, however it ends.

``WorkerPool`` is a ``ProcessPoolExecutor`` whose workers:

- ignore SIGINT: Ctrl-C on a terminal reaches the whole process group, and
  it is the parent that decides what an interrupt stops;
- on SIGTERM, unwind the job they are running (an export's atomic files
  remove their temporaries on the way out) and exit;
- exit by themselves when their parent is gone, even after ``kill -9``: a
  thread in each worker watches ``os.getppid()``.

``stop()`` ends a pool's workers at once (SIGTERM, then SIGKILL for one that
has not unwound within a grace period). Without it, a worker busy with a
two-hour render outlives a parent stopped by SIGTERM, and the parent's own
exit waits for it.

PR_SET_PDEATHSIG is not used: it fires when the *thread* that forked the
worker exits, and concurrent.futures forks from whichever thread submits
(an event loop's, a request's), so a worker could be killed while its parent
lives. Which thread forked a child cannot be checked either: this kernel
has no ``/proc/PID/task/TID/children``.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from multiprocessing.connection import wait as wait_for_sentinels
from multiprocessing.context import BaseContext
from multiprocessing.process import BaseProcess
from typing import Any, ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")

# How often a worker checks that its parent is still there.
WATCH_PARENT_S = 0.2
# A worker told to stop (or orphaned) has this long to unwind before it is killed.
STOP_GRACE_S = 2.0
# What a stopped worker exits with: as if SIGTERM had ended it.
STOPPED_STATUS = 128 + signal.SIGTERM
# Blocked from the fork until the worker's own handlers are in place: a Ctrl-C
# while a worker starts up would otherwise print its traceback.
_STARTUP_BLOCKED = {signal.SIGINT, signal.SIGTERM}


class PoolStopped(RuntimeError):
    """Work was offered to a pool that has been told to stop."""


class WorkerPool(ProcessPoolExecutor):
    """A process pool whose workers stop when told and never outlive their parent."""

    def __init__(
        self,
        workers: int,
        *,
        mp_context: BaseContext | None = None,
        initializer: Callable[..., object] | None = None,
        initargs: tuple[Any, ...] = (),
    ) -> None:
        super().__init__(
            max_workers=workers,
            mp_context=mp_context,
            initializer=_start_worker,
            initargs=(os.getpid(), initializer, initargs),
        )

    def submit(self, fn: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs) -> Future[R]:
        # Workers are forked here, on demand, and inherit this thread's signal
        # mask (through exec too); in this thread the signals wait until the
        # submit returns, then arrive.
        if not hasattr(signal, "pthread_sigmask"):  # Windows
            return self._submit(fn, *args, **kwargs)
        mask = signal.pthread_sigmask(signal.SIG_BLOCK, _STARTUP_BLOCKED)
        try:
            return self._submit(fn, *args, **kwargs)
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)

    def _submit(self, fn: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs) -> Future[R]:
        try:
            return super().submit(_run_job, fn, *args, **kwargs)
        except RuntimeError as exc:
            # A request that arrives while the pool stops is not a bug to print
            # with its traceback: the server is going away.
            if getattr(self, "_shutdown_thread", False):
                raise PoolStopped("the server is stopping") from exc
            raise

    def stop(self, grace_s: float = STOP_GRACE_S) -> None:
        """Cancel what has not started and end every worker within ``grace_s``
        (plus the moment a kill takes); safe to repeat."""
        # The private map is the only list of the workers before Python 3.14's
        # terminate_workers(); shutdown() forgets it, so it is read first.
        processes = list((getattr(self, "_processes", None) or {}).values())
        self.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            with contextlib.suppress(ValueError):  # closed: long over
                process.terminate()  # a no-op for one already reaped
        deadline = time.monotonic() + grace_s
        running: dict[Any, BaseProcess] = {}
        for process in processes:
            with contextlib.suppress(ValueError):  # closed: long over
                running[process.sentinel] = process
        try:
            while running and (left_s := deadline - time.monotonic()) > 0:
                # A sentinel is ready once its process has ended, whoever reaps it.
                for sentinel in wait_for_sentinels(list(running), left_s):
                    del running[sentinel]
        except (OSError, ValueError):
            pass  # the pool's own thread closed a sentinel: those are over; kill the rest
        for process in running.values():
            with contextlib.suppress(ValueError):
                process.kill()  # a no-op for one already reaped
        for process in running.values():
            with contextlib.suppress(ValueError):
                process.join(1.0)


def stop_executor(executor: Executor) -> None:
    """Stop ``executor`` now: a ``WorkerPool``'s workers end; other executors are
    shut down without waiting for work in progress."""
    if isinstance(executor, WorkerPool):
        executor.stop()
    else:
        executor.shutdown(wait=False, cancel_futures=True)


# -- in the worker ---------------------------------------------------------------------

_busy = False  # a job is running on the main thread
_stopping = False


class _Stopped(BaseException):
    """Raised into a job on SIGTERM; a BaseException so no ``except Exception`` keeps it."""


def _start_worker(
    owner_pid: int, initializer: Callable[..., object] | None, initargs: tuple[Any, ...]
) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _on_sigterm)
    if hasattr(signal, "pthread_sigmask"):
        # Only now: a SIGTERM that came during start-up is handled here.
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _STARTUP_BLOCKED)
    parent_pid = os.getppid()
    # Under "forkserver" the parent is the fork server, which ends with the
    # owner; otherwise a parent other than the owner means the owner died first.
    if parent_pid != owner_pid and not _alive(owner_pid):
        os._exit(STOPPED_STATUS)
    watcher = threading.Thread(
        target=_watch_parent, args=(parent_pid,), name="watch-parent", daemon=True
    )
    watcher.start()
    if initializer is not None:
        initializer(*initargs)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _on_sigterm(signum: int, frame: object) -> None:
    global _stopping
    if _stopping:
        return  # already unwinding: a second signal must not cut the clean-up short
    _stopping = True
    if _busy:
        raise _Stopped
    os._exit(STOPPED_STATUS)


def _run_job(fn: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs) -> R:
    global _busy
    _busy = True
    try:
        return fn(*args, **kwargs)
    except _Stopped:
        # The job's finally blocks have run; the parent asked for no result.
        os._exit(STOPPED_STATUS)
    finally:
        _busy = False
        if _stopping:
            os._exit(STOPPED_STATUS)


def _watch_parent(parent_pid: int) -> None:
    if hasattr(signal, "pthread_sigmask"):
        # Signals sent to the process must reach the main thread, where the job runs.
        signal.pthread_sigmask(signal.SIG_BLOCK, _STARTUP_BLOCKED)
    while os.getppid() == parent_pid:
        time.sleep(WATCH_PARENT_S)
    # Orphaned: stop as if told to (the job cleans up), and surely after the grace.
    main = threading.main_thread().ident
    if main is not None and hasattr(signal, "pthread_kill"):
        signal.pthread_kill(main, signal.SIGTERM)
    time.sleep(STOP_GRACE_S)
    os._exit(STOPPED_STATUS)
