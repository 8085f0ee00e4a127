"""When the server first offered each session: the feed's stable, distinct pubDates.

A script's file dates say nothing a feed can use: a fresh clone gives every
script the same one, and an edit moves it. So each session id is given a
date the first time the server lists it, kept in ``published.json`` in the
cache folder (`cache clear` keeps it). Sessions first seen together are one
second apart in library order, the first newest, so no two share a date.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ..errors import UserError
from ..pipeline import write_text_atomic


class Published:
    def __init__(self, path: Path, now: Callable[[], datetime] | None = None) -> None:
        self.path = path
        self._now = now or (lambda: datetime.now(UTC))
        self._dates: dict[str, datetime] | None = None

    def _load(self) -> dict[str, datetime]:
        if self._dates is None:
            try:
                stored = json.loads(self.path.read_text("utf-8"))
                self._dates = {str(k): datetime.fromisoformat(v) for k, v in stored.items()}
            except (OSError, ValueError, AttributeError, TypeError):
                # Missing or damaged: dates start again from now, nothing worse.
                self._dates = {}
        return self._dates

    def dates(self, ids: Sequence[str]) -> dict[str, datetime]:
        """The first-seen date of each id, giving one to each id not seen before."""
        known = self._load()
        new = [ident for ident in ids if ident not in known]
        if new:
            now = self._now().replace(microsecond=0)
            taken = set(known.values())
            offset = 0
            for ident in new:
                while now - timedelta(seconds=offset) in taken:
                    offset += 1
                known[ident] = now - timedelta(seconds=offset)
                offset += 1
            stored = {k: v.isoformat() for k, v in known.items()}
            # A read-only cache: the dates hold for this run.
            with contextlib.suppress(UserError):
                write_text_atomic(self.path, json.dumps(stored, indent=1, sort_keys=True))
        return {ident: known[ident] for ident in ids}
