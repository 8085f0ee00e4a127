"""One session's run in the log, written as it plays, by `play` and `cast`.

The log must never stop a session: a log that cannot be opened or written is
told in one line on stderr, once, and the session plays on unrecorded.
Progress is written at most every few seconds (and at every step), so a
two-hour session costs a few hundred small transactions, and a process
killed at any moment leaves the run as far as it last got.
"""

from __future__ import annotations

import sqlite3
import sys
import time
from collections.abc import Callable
from pathlib import Path

from ..errors import UserError
from .log import Log, Moment, Outcome, Via

PROGRESS_EVERY_S = 5.0


def _warn(message: str) -> None:
    print(f"voiceguide: {message}", file=sys.stderr, flush=True)


class Recorder:
    """A run being recorded; every method is a no-op once the log has failed."""

    def __init__(
        self,
        log: Log | None,
        *,
        warn: Callable[[str], None] = _warn,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.log = log
        self.run_id: int | None = None
        self.warn = warn
        self.monotonic = monotonic
        self.steps_skipped = 0
        self.holds_extended = 0
        self.reached_ms = 0
        self._written_at = -PROGRESS_EVERY_S
        self._step: object = None
        self._counts_changed = False

    @classmethod
    def open(
        cls, enabled: bool = True, path: Path | None = None, warn: Callable[[str], None] = _warn
    ) -> Recorder:
        """The log at ``path`` (default: the user's), or a recorder that records
        nothing when disabled (``--no-log``) or when the log cannot be opened."""
        if not enabled:
            return cls(None, warn=warn)
        try:
            return cls(Log.open(path), warn=warn)
        except UserError as exc:
            warn(f"{exc}; playing without recording this session")
            return cls(None, warn=warn)

    @property
    def recording(self) -> bool:
        return self.log is not None

    def _write(self, action: Callable[[Log], object]) -> object:
        if self.log is None:
            return None
        try:
            return action(self.log)
        except sqlite3.Error as exc:
            self.warn(f"the session log failed ({exc}); the rest of this session is not recorded")
            self.close()
            return None

    def start(self, session_id: str, title: str, via: Via, target: str, planned_ms: int) -> None:
        run = self._write(lambda log: log.start_run(session_id, title, via, target, planned_ms))
        self.run_id = run if isinstance(run, int) else None
        if self.run_id is None:
            self.close()
        self._written_at = self.monotonic()

    def progress(self, reached_ms: int, step: object = None, planned_ms: int | None = None) -> None:
        """Written when ``step`` changed, the planned length is new, or every few seconds."""
        self.reached_ms = max(self.reached_ms, reached_ms)
        now = self.monotonic()
        new_step = step is not None and step != self._step
        if step is not None:
            self._step = step
        due = now - self._written_at >= PROGRESS_EVERY_S
        if new_step or due or planned_ms is not None or self._counts_changed:
            self._flush(planned_ms)

    def _flush(self, planned_ms: int | None = None) -> None:
        if self.run_id is None:
            return
        run_id = self.run_id
        self._written_at = self.monotonic()
        self._counts_changed = False
        self._write(
            lambda log: log.progress(
                run_id, self.reached_ms, self.steps_skipped, self.holds_extended, planned_ms
            )
        )

    # Counted on any thread (a skip pressed while the session is prepared is
    # carried out on the preparing thread); written by the next progress(),
    # on the thread that owns the connection.
    def skipped(self) -> None:
        self.steps_skipped += 1
        self._counts_changed = True

    def extended(self) -> None:
        self.holds_extended += 1
        self._counts_changed = True

    def checkin(self, moment: Moment, pain: int | None, note: str, session_id: str) -> None:
        run_id = self.run_id
        self._write(lambda log: log.add_checkin(moment, pain, note, run_id, session_id))

    def end(self, outcome: Outcome, reached_ms: int | None = None) -> None:
        if reached_ms is not None:
            self.reached_ms = max(self.reached_ms, reached_ms)
        if self.run_id is not None:
            run_id = self.run_id
            self._flush()
            self._write(lambda log: log.end_run(run_id, outcome, self.reached_ms))

    def close(self) -> None:
        if self.log is not None:
            self.log.close()
            self.log = None
