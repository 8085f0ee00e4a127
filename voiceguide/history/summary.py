"""What the History page shows, from the log's rows: pure, given the day it is today.

Days are the person's local days: a session at 23:30 belongs to that evening.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo

from .log import CheckIn, Run


@dataclass(frozen=True)
class Day:
    day: date
    sessions: int
    before: float | None  # the day's mean rating before sessions
    after: float | None


def local_day(moment: datetime, zone: tzinfo | None) -> date:
    return moment.astimezone(zone).date()


def days(runs: list[Run], checkins: list[CheckIn], zone: tzinfo | None) -> list[Day]:
    """Every day with a session or a rating, oldest first."""
    sessions = Counter(local_day(run.started_at, zone) for run in runs)
    ratings: dict[tuple[date, str], list[int]] = {}
    for checkin in checkins:
        if checkin.pain is not None:
            key = (local_day(checkin.at, zone), checkin.moment)
            ratings.setdefault(key, []).append(checkin.pain)

    def mean(day: date, moment: str) -> float | None:
        found = ratings.get((day, moment))
        return round(sum(found) / len(found), 1) if found else None

    every = sorted(set(sessions) | {day for day, _ in ratings})
    return [Day(d, sessions[d], mean(d, "before"), mean(d, "after")) for d in every]


def streak(played: set[date], today: date) -> int:
    """Days in a row with a session, up to today; a day not yet played today
    does not break yesterday's streak."""
    day = today if today in played else today - timedelta(days=1)
    count = 0
    while day in played:
        count += 1
        day -= timedelta(days=1)
    return count
