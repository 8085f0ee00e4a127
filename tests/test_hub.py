"""The hub on an injected clock: missed runs after downtime or a sleep, quiet hours,
schedules changed by another process, snooze, an unreachable speaker; the
calendar feed read back with the `icalendar` library; POST /api/play's answers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import pytest
from aiohttp.test_utils import TestClient, TestServer
from dateutil.rrule import rrulestr

from voiceguide.core.recurrence import due_between
from voiceguide.history import connect
from voiceguide.history.schedules import Schedules
from voiceguide.pipeline import VoiceOptions, prepare
from voiceguide.server import RenderSettings, make_app
from voiceguide.server.hub import Hub

SCRIPT = "title: Back routine\nsteps:\n  - say: Lie down.\n  - pause: 2s\n"
BERLIN = ZoneInfo("Europe/Berlin")
# Nothing answers on the discard port of loopback: a speaker that cannot be reached.
NOWHERE = "http://127.0.0.1:9/description.xml"


class Clock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    scripts = tmp_path / "scripts"
    scripts.mkdir()
    (scripts / "back-routine.yaml").write_text(SCRIPT)
    return scripts


@pytest.fixture
def schedules(folder: Path) -> Iterator[Schedules]:
    connection = connect()
    yield Schedules(connection)
    connection.close()


def add(schedules: Schedules, folder: Path, times: list[str], since: datetime, **kw: Any) -> int:
    return schedules.add(
        str(folder / "back-routine.yaml"),
        times,
        kw.pop("days", frozenset(range(7))),
        kw.pop("target", NOWHERE),
        kw.pop("zone", "Europe/Berlin"),
        since,
        **kw,
    )


def hub_at(clock: Clock) -> Hub:
    return Hub(VoiceOptions(engine="test", use_cache=False), clock=clock)


def outcomes(schedules: Schedules) -> list[tuple[int, str, str]]:
    return [
        (r.schedule_id, r.due_at.astimezone(BERLIN).strftime("%m-%d %H:%M"), r.outcome)
        for r in schedules.runs()
    ]


def berlin(*args: int) -> datetime:
    return datetime(*args, tzinfo=BERLIN).astimezone(UTC)  # type: ignore[misc]


async def settle(hub: Hub) -> None:
    """Runs every run the last tick started to its end."""
    while hub.in_flight:
        await asyncio.gather(*hub.in_flight.values(), return_exceptions=True)


def test_runs_due_while_down_are_missed_and_the_one_due_now_plays(
    folder: Path, schedules: Schedules
) -> None:
    clock = Clock(berlin(2026, 3, 30, 13, 1))  # back up on Monday at 13:01
    quiet = "18:30-19:30"
    ident = add(schedules, folder, ["08:00", "13:00", "19:00"], berlin(2026, 3, 27, 9), quiet=quiet)

    async def scenario() -> None:
        hub = hub_at(clock)
        hub.tick()
        await settle(hub)
        await hub.close()

    asyncio.run(scenario())
    # Friday to Monday, across the change to summer time on Sunday: each due time
    # once; the one a minute ago plays (and is skipped: its speaker is unreachable).
    assert outcomes(schedules) == [
        (ident, "03-27 13:00", "missed"),
        (ident, "03-27 19:00", "quiet"),
        (ident, "03-28 08:00", "missed"),
        (ident, "03-28 13:00", "missed"),
        (ident, "03-28 19:00", "quiet"),
        (ident, "03-29 08:00", "missed"),
        (ident, "03-29 13:00", "missed"),
        (ident, "03-29 19:00", "quiet"),
        (ident, "03-30 08:00", "missed"),
        (ident, "03-30 13:00", "skipped"),
    ]
    [skipped] = [r for r in schedules.runs() if r.outcome == "skipped"]
    assert "no UPnP renderer answers at http://127.0.0.1:9/" in skipped.reason
    [missed, *_] = schedules.runs()
    assert missed.reason == "due 3 days ago while no hub was running to play it"


def test_a_sleep_misses_what_fell_in_it_and_changes_are_noticed_without_a_restart(
    folder: Path, schedules: Schedules
) -> None:
    clock = Clock(berlin(2026, 12, 1, 7, 0))
    first = add(schedules, folder, ["07:30", "09:00"], clock.now, days=frozenset({1}))

    async def scenario() -> None:
        hub = hub_at(clock)
        hub.tick()
        assert outcomes(schedules) == []
        # Suspended at 07:00, woken at 10:00: both times passed during the sleep.
        clock.now = berlin(2026, 12, 1, 10, 0)
        hub.tick()
        assert [o[2] for o in outcomes(schedules)] == ["missed", "missed"]
        # Added, paused and removed by other processes while the hub runs.
        other = connect()
        second = add(Schedules(other), folder, ["10:01"], clock.now)
        paused = add(Schedules(other), folder, ["10:01"], clock.now)
        Schedules(other).set_paused(paused, True, clock.now)
        Schedules(other).remove(first)
        clock.now = berlin(2026, 12, 1, 10, 1, 30)
        hub.tick()
        await settle(hub)
        assert [(o[0], o[2]) for o in outcomes(schedules)] == [(second, "skipped")]
        other.close()
        await hub.close()

    asyncio.run(scenario())


def test_a_snoozed_run_plays_20_minutes_later_once(folder: Path, schedules: Schedules) -> None:
    clock = Clock(berlin(2026, 12, 1, 12, 50))
    ident = add(schedules, folder, ["13:00"], clock.now)

    async def scenario() -> None:
        hub = hub_at(clock)
        [coming] = hub.next_runs()
        assert (coming.local, coming.snoozed) == ("13:00", False)
        was, now_due = hub.snooze(ident)
        assert (was, now_due) == (berlin(2026, 12, 1, 13), berlin(2026, 12, 1, 13, 20))
        [coming] = hub.next_runs()
        assert (coming.at, coming.local, coming.snoozed) == (now_due, "13:20", True)
        assert hub.schedules.snooze(ident, was, 20) is None  # the same due time, once
        clock.now = berlin(2026, 12, 1, 13, 0, 30)
        hub.tick()
        assert hub.in_flight == {}  # 13:00 was moved: nothing plays
        clock.now = berlin(2026, 12, 1, 13, 20, 5)
        hub.tick()
        assert list(hub.in_flight) == [(ident, now_due)]
        await settle(hub)
        hub.tick()
        assert hub.in_flight == {}
        await hub.close()

    asyncio.run(scenario())
    assert [(o[1], o[2]) for o in outcomes(schedules)] == [
        ("12-01 13:00", "snoozed"),
        ("12-01 13:20", "skipped"),
    ]


@asynccontextmanager
async def client(folder: Path, hub: Hub | None) -> AsyncIterator[TestClient[Any, Any]]:
    settings = RenderSettings(VoiceOptions(engine="test", use_cache=False))
    with ThreadPoolExecutor(1) as pool:
        app = make_app([folder], folder.parent / "cache", settings, executor=pool, hub=hub)
        async with TestClient(TestServer(app)) as test_client:
            yield test_client


def test_calendar_ics_parses_and_matches_the_schedules(folder: Path, schedules: Schedules) -> None:
    # Berlin on weekdays across the change to summer time, with an end date and
    # quiet hours; New York every day across its change back; one paused.
    weekdays = frozenset(range(5))
    first = add(schedules, folder, ["08:00", "13:00", "23:00"], berlin(2026, 3, 20, 9),
                days=weekdays, until=date(2026, 4, 3), quiet="22:00-07:00")  # fmt: skip
    ny = ZoneInfo("America/New_York")
    second = add(schedules, folder, ["07:15"], datetime(2026, 10, 20, tzinfo=UTC),
                 zone="America/New_York", target="here")  # fmt: skip
    paused = add(schedules, folder, ["09:00"], berlin(2026, 3, 20))
    schedules.set_paused(paused, True, berlin(2026, 3, 20))

    async def fetch() -> tuple[str, str, str]:
        async with client(folder, None) as http:
            answer = await http.get("/calendar.ics")
            assert answer.status == 200
            assert answer.content_type == "text/calendar"
            again = await (await http.get("/calendar.ics")).text()
            return await answer.text(), again, str(http.make_url("/"))

    text, again, _base = asyncio.run(fetch())
    assert text == again  # stable: UIDs and all
    assert "\r\n" in text and all(len(line.encode()) <= 75 for line in text.split("\r\n"))
    parsed = icalendar.Calendar.from_ical(text)
    events = list(parsed.walk("VEVENT"))
    assert {str(z["TZID"]) for z in parsed.walk("VTIMEZONE")} == {"Europe/Berlin",
                                                                  "America/New_York"}  # fmt: skip
    by_uid = {str(e["UID"]): e for e in events}
    assert len(by_uid) == 3  # 08:00 and 13:00 (23:00 is always quiet), 07:15; none paused
    assert all(f"-{first}-" in uid or f"-{second}-" in uid for uid in by_uid)

    for event in events:
        assert str(event["SUMMARY"]) == "Back routine"
        url = str(event["URL"])
        assert url.endswith("/play/back-routine")
        assert url in str(event["DESCRIPTION"])
        assert "127.0.0.1" not in url  # the LAN address, for a phone
        [alarm] = event.walk("VALARM")
        assert str(alarm["ACTION"]) == "DISPLAY"
        assert alarm["TRIGGER"].dt == timedelta(0)
        assert event["DURATION"].dt >= timedelta(minutes=1)

    # Each event's RRULE, expanded, gives the recurrence core's instants over 3 weeks.
    for schedule in schedules.all():
        if schedule.paused:
            continue
        mine = [e for e in events if f"-{schedule.id}-" in str(e["UID"])]
        start = schedule.since
        end = start + timedelta(weeks=3)
        expanded: list[datetime] = []
        for event in mine:
            dtstart = event["DTSTART"].dt
            assert getattr(dtstart.tzinfo, "key", None) == schedule.time_zone
            rule = rrulestr(event["RRULE"].to_ical().decode(), dtstart=dtstart)
            expanded += [d.astimezone(UTC) for d in rule.between(start, end, inc=True)]
        ours = due_between(schedule.recurrence, schedule.zone, start, end)
        assert sorted(expanded) == [d.at for d in ours if not d.quiet]
        assert len(expanded) >= 11
    # The rule says when it ends; New York's goes on.
    berlin_rule = next(e for e in events if f"-{first}-" in str(e["UID"]))["RRULE"]
    assert berlin_rule["UNTIL"][0] == berlin(2026, 4, 3, 23, 59, 59)
    assert berlin_rule["BYDAY"] == ["MO", "TU", "WE", "TH", "FR"]
    assert "UNTIL" not in next(e for e in events if f"-{second}-" in str(e["UID"]))["RRULE"]
    assert ny.key in text


def test_post_api_play_answers(folder: Path) -> None:
    clock = Clock(datetime.now(UTC))

    async def scenario() -> list[tuple[int, dict[str, Any]]]:
        hub = hub_at(clock)
        answers = []
        async with client(folder, hub) as http:
            for body in (
                b"not json",
                b"[1, 2]",
                b'{"target": "here"}',
                b'{"session": "back-routine", "target": 5}',
                b'{"session": "back-routine", "target": "here", "volume": 3}',
                b'{"session": "nope", "target": "here"}',
                f'{{"session": "back-routine", "target": "{NOWHERE}"}}'.encode(),
            ):
                answer = await http.post(
                    "/api/play", data=body, headers={"Content-Type": "application/json"}
                )
                answers.append((answer.status, await answer.json()))

            # What a page on another site can make a browser send: a form whose
            # text/plain body parses as JSON, or anything with its own Origin.
            forged = b'{"session":"a=","session":"back-routine","target":"here"}'
            for headers in (
                {"Content-Type": "text/plain"},
                {"Content-Type": "application/json", "Origin": "http://evil.example"},
            ):
                answer = await http.post("/api/play", data=forged, headers=headers)
                answers.append(
                    (
                        answer.status,
                        await answer.json(content_type=None)
                        if answer.content_type == "application/json"
                        else {"error": ""},
                    )
                )
        return answers

    answers = asyncio.run(scenario())
    assert [status for status, _ in answers] == [400, 400, 400, 400, 400, 404, 502, 415, 403]
    assert all(set(body) == {"error"} for _, body in answers)
    assert "nope" in answers[5][1]["error"]
    assert "no UPnP renderer answers" in answers[6][1]["error"]


def test_snooze_route_and_the_library_page(folder: Path, schedules: Schedules) -> None:
    clock = Clock(berlin(2026, 12, 1, 12, 50))
    ident = add(schedules, folder, ["13:00"], clock.now, target="Living room")

    async def scenario() -> tuple[str, int, dict[str, Any], dict[str, Any], int, int]:
        hub = hub_at(clock)
        async with client(folder, hub) as http:
            page = await (await http.get("/")).text()
            moved = await http.post(f"/api/schedules/{ident}/snooze")
            moved_body = await moved.json()
            listed = await (await http.get("/api/schedules")).json()
            missing = (await http.post("/api/schedules/99/snooze")).status
            again = (await http.post(f"/api/schedules/{ident}/snooze")).status
            elsewhere = await http.post(
                f"/api/schedules/{ident}/snooze", headers={"Origin": "http://evil.example"}
            )
            assert elsewhere.status == 403
        return page, moved.status, moved_body, listed, missing, again

    page, status, body, listed, missing, again = asyncio.run(scenario())
    assert "Next: <strong>Back routine</strong> at 13:00 on Living room" in page
    assert f'action="/api/schedules/{ident}/snooze"' in page and "Snooze 20 min" in page
    assert status == 200
    assert body == {"was": "2026-12-01T12:00:00Z", "now": "2026-12-01T12:20:00Z"}
    [coming] = listed["next"]
    assert (coming["local"], coming["snoozed"]) == ("13:20", True)
    assert missing == 404
    # A second press moves the moved run again, 20 minutes later still.
    assert again == 200


@pytest.mark.parametrize(
    ("language", "said"),
    [
        ("en", "Time for your session: {title}."),
        ("de", "Zeit für deine Übungen: {title}."),
        ("es", "Es la hora de tu sesión: {title}."),
        ("fr", "C'est l'heure de votre séance : {title}."),
    ],
)
def test_the_announcement_opens_the_session_in_its_language(
    tmp_path: Path, language: str, said: str
) -> None:
    script = tmp_path / "s.yaml"
    script.write_text(f"title: Rücken\nlanguage: {language}\nsteps:\n  - say: Eins.\n")
    options = VoiceOptions(engine="test", use_cache=False)
    plain = prepare(script, options).timeline
    announced = prepare(script, options, announce=True).timeline
    speech = [e for e in announced.events if e.kind == "speech"]
    assert speech[0].text == said.format(title="Rücken")
    assert speech[1].text == "Eins."
    # Then a pause, then the session exactly as it was, later by the opening.
    pause = announced.events[1]
    assert pause.kind == "silence"
    assert (pause.end_sample - pause.start_sample) / announced.sample_rate_hz == 1.5
    assert announced.duration_s > plain.duration_s + 1.5
