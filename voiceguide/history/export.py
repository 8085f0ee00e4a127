"""The log as rows a person reads: one per session played, with its check-ins.

Shared by `voiceguide log` (table, JSON, CSV, export) and the log's API.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from .log import CheckIn, Log, Run


@dataclass(frozen=True)
class Row:
    """A run and the check-ins around it; a check-in alone has no run."""

    at: datetime
    run: Run | None
    before: CheckIn | None
    after: CheckIn | None

    @property
    def notes(self) -> str:
        return " / ".join(c.note for c in (self.before, self.after) if c and c.note)


def rows(log: Log, since: datetime | None = None) -> list[Row]:
    runs = log.runs(since)
    checkins = log.checkins(since)
    by_run: dict[int, dict[str, CheckIn]] = {}
    alone: list[CheckIn] = []
    known = {run.id for run in runs}
    for checkin in checkins:
        if checkin.run_id in known:
            assert checkin.run_id is not None
            # The last of each moment counts: a rating given again replaces the first.
            by_run.setdefault(checkin.run_id, {})[checkin.moment] = checkin
        else:
            alone.append(checkin)
    found = [
        Row(run.started_at, run, by_run.get(run.id, {}).get("before"),
            by_run.get(run.id, {}).get("after"))
        for run in runs
    ]  # fmt: skip
    for checkin in alone:
        before = checkin if checkin.moment == "before" else None
        after = checkin if checkin.moment == "after" else None
        found.append(Row(checkin.at, None, before, after))
    return sorted(found, key=lambda row: row.at)


def _time(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat().replace("+00:00", "Z")


def _plain(item: Run | CheckIn) -> dict[str, Any]:
    data = asdict(item)
    for key, value in data.items():
        if isinstance(value, datetime):
            data[key] = _time(value)
    return data


def log_json(log: Log, since: datetime | None = None) -> dict[str, Any]:
    """Everything the log holds about the person (since a time), as JSON data."""
    return {
        "runs": [_plain(run) for run in log.runs(since)],
        "checkins": [_plain(checkin) for checkin in log.checkins(since)],
        "missed": [_time(moment) for moment in log.missed(since)],
    }
