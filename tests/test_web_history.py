"""Check-ins and the History page in Debian's chromium: a check-in before and after a
session in the web player lands in the log, and the History page draws the chart.

A phone-size screenshot of the History page is saved in the test's folder and
as docs/history.png.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import test_web_player as web
from server_helpers import TINY, running_server

from voiceguide.history import Log, default_path
from voiceguide.history.log import utc_text

pytestmark = pytest.mark.browser

browser = web.browser
DOCS = Path(__file__).resolve().parent.parent / "docs"
NOTE = "stiff after the drive"


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    # A log of this test's own: the History page shows only what this test did.
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    scripts = tmp_path / "scripts"
    scripts.mkdir()
    (scripts / "tiny.yaml").write_text(TINY)
    with running_server([scripts], tmp_path / "cache") as running:
        yield running.url


@pytest.fixture
def page(browser: Any, server: str) -> Iterator[Any]:
    context = browser.new_context(
        viewport=web.PHONE, device_scale_factor=2, is_mobile=True, has_touch=True
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.set_default_timeout(60_000)
    yield page
    context.close()
    assert errors == [], errors


def check_in(page: Any, rating: int, note: str = "") -> None:
    page.locator(f'#checkin .rating[data-pain="{rating}"]').click()
    if note:
        page.locator("#checkin-note").fill(note)
    page.locator("#checkin-save").click()
    page.wait_for_selector("#checkin-status:has-text('Saved')")
    page.wait_for_selector("#checkin", state="hidden")


def test_check_ins_before_and_after_land_in_the_log_and_history_draws_them(
    page: Any, server: str, tmp_path: Path
) -> None:
    page.goto(f"{server}/play/tiny")
    page.wait_for_selector("#checkin", state="visible")
    assert page.locator("#checkin-question").inner_text().startswith("Before you start")
    assert page.locator("#checkin .rating").count() == 11
    check_in(page, 7, NOTE)
    page.wait_for_selector("body[data-ready=true]")
    page.locator("#play").click()
    # Most of the way through at once: the end is what matters here.
    page.evaluate(
        """() => new Promise((resolve) => {
            const a = document.querySelector('#audio');
            const go = () => { a.currentTime = Math.max(0, a.duration - 1.5); resolve(); };
            if (isFinite(a.duration) && a.duration > 0) go();
            else a.addEventListener('durationchange', go, {once: true});
        })"""
    )
    page.wait_for_selector("#checkin", state="visible", timeout=120_000)
    assert page.locator("#checkin-question").inner_text().startswith("How is your back now")
    check_in(page, 3)

    with Log.open(default_path()) as log:
        runs = log.runs()
        checkins = log.checkins()
    (run,) = runs
    assert (run.session_id, run.via, run.outcome) == ("tiny", "web", "finished")
    assert run.target.startswith("web player (Chrome")
    assert run.reached_ms >= run.planned_ms - 2000
    assert [(c.moment, c.pain, c.note, c.run_id) for c in checkins] == [
        ("before", 7, NOTE, run.id),
        ("after", 3, "", run.id),
    ]

    page.goto(f"{server}/history")
    chart = page.locator("svg#pain-chart")
    chart.wait_for()
    assert chart.get_attribute("role") == "img"
    assert page.locator("#chart-title").text_content() == "Pain before and after"
    box = chart.bounding_box()
    assert box is not None and box["width"] > 300 and box["height"] > 100
    assert page.locator("svg#pain-chart circle.dot-before").count() == 1
    assert page.locator("svg#pain-chart rect.dot-after").count() == 1
    assert page.locator("#days tbody tr td").all_inner_texts() == ["1", "7", "3"]
    assert page.locator("#streak").inner_text() == "1 day in a row"
    shot = tmp_path / "history.png"
    page.screenshot(path=str(shot))
    assert shot.stat().st_size > 10_000

    # For the docs: two weeks of sessions before today, and a missed scheduled run.
    two_weeks(default_path(), run.started_at)
    page.reload()
    page.locator("svg#pain-chart").wait_for()
    assert page.locator("svg#pain-chart circle.dot-before").count() > 10
    assert page.locator(".missed li").count() == 1
    page.screenshot(path=str(tmp_path / "history-weeks.png"))
    shutil.copyfile(tmp_path / "history-weeks.png", DOCS / "history.png")


def two_weeks(path: Path, today: datetime) -> None:
    now = [today]
    with Log.open(path, clock=lambda: now[0]) as log:
        for days_ago in range(14, 0, -1):
            if days_ago in (9, 10):
                continue  # two days off: the streak starts again after them
            now[0] = today - timedelta(days=days_ago)
            for n in range(1 + days_ago % 2):
                run = log.start_run("tiny", "Small session", "web", "web player", 9000)
                log.add_checkin("before", 4 + (days_ago + n) // 3, run_id=run)
                log.end_run(run, "finished", 9000)
                log.add_checkin("after", 1 + days_ago // 4, run_id=run)
        log.connection.execute(
            "INSERT INTO schedules (script, times, days, target, time_zone, created_at)"
            " VALUES ('tiny.yaml', '08:00', 'mon-sun', 'here', 'UTC', ?)",
            (utc_text(today),),
        )
        log.connection.execute(
            "INSERT INTO schedule_runs (schedule_id, due_at, outcome) VALUES (1, ?, 'missed')",
            (utc_text(today - timedelta(days=9)),),
        )


def test_the_history_page_and_the_check_in_pass_axe(page: Any, server: str) -> None:
    axe_sync = pytest.importorskip(
        "axe_playwright_python.sync_playwright", reason="axe-playwright-python is not installed"
    )
    import test_a11y

    with Log.open(default_path()) as log:
        run = log.start_run("tiny", "Small session", "web", "web player", 9000)
        log.add_checkin("before", 6, run_id=run)
        log.add_checkin("after", 2, run_id=run)
        log.end_run(run, "finished", 9000)
    assert axe_sync is not None
    page.goto(f"{server}/history")
    page.locator("svg#pain-chart").wait_for()
    assert test_a11y.violations(page) == []
    page.goto(f"{server}/play/tiny")
    page.wait_for_selector("#checkin", state="visible")
    page.locator('#checkin .rating[data-pain="4"]').click()
    assert test_a11y.violations(page) == []


def test_a_closed_tab_still_records_how_far_it_got(browser: Any, server: str) -> None:
    context = browser.new_context(viewport=web.PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.goto(f"{server}/play/tiny")
    page.wait_for_selector("#checkin", state="visible")
    page.locator("#checkin-skip").click()
    page.wait_for_selector("body[data-ready=true]")
    page.locator("#play").click()
    page.wait_for_function("document.querySelector('#audio').currentTime > 2", timeout=60_000)
    with Log.open(default_path()) as log:
        (run,) = log.runs()
    assert run.outcome == "playing"
    # The tab is closed, the browser is not: pagehide sends the beacon, which the
    # browser delivers after the tab is gone. close() does not wait for the
    # unload handlers, and closing the whole context at once could cancel the
    # beacon before it left (as quitting a browser can): the context stays.
    with page.expect_event("close"):
        page.close(run_before_unload=True)
    deadline = time.monotonic() + 30
    while run.outcome == "playing" and time.monotonic() < deadline:
        time.sleep(0.1)
        with Log.open(default_path()) as log:
            (run,) = log.runs()
    context.close()
    assert run.outcome == "stopped" and 2000 <= run.reached_ms < run.planned_ms


def test_the_history_page_at_200_percent_stays_on_a_390_px_screen(
    browser: Any, server: str
) -> None:
    """The table of days too: at twice the font size it lays each day out as a
    block of its own rather than running off the side (or scrolling a box that
    the keyboard cannot reach)."""
    pytest.importorskip(
        "axe_playwright_python.sync_playwright", reason="axe-playwright-python is not installed"
    )
    import test_a11y

    two_weeks(default_path(), datetime.now().astimezone())
    normal, large = (
        test_a11y._layout(browser, f"{server}/history", font_px, "body") for font_px in (16, 32)
    )
    assert (normal["root"], large["root"]) == (16, 32)
    for layout in (normal, large):
        assert layout["wide"] == [], "\n".join(layout["wide"])
        assert layout["cut"] == [], "\n".join(layout["cut"])
        assert layout["scroll"] <= web.PHONE["width"]
    # The chart's labels too follow the person's font size.
    fixed = sorted(
        {
            name
            for (name, a), (_, b) in zip(normal["sizes"], large["sizes"], strict=True)
            if b < 1.9 * a
        }
    )
    assert fixed == [], "text that keeps its size: " + ", ".join(fixed)
    with test_a11y.phone_page(browser, 32) as page:
        page.goto(f"{server}/history")
        page.locator("table#days").wait_for()
        assert test_a11y.violations(page) == []
        # Each day still reads as a row of the table: its date, then each figure
        # with its column's name.
        first = page.locator("#days tbody tr").first
        assert first.get_attribute("role") == "row"
        cells = first.locator("td").evaluate_all(
            "cells => cells.map(c => [c.getAttribute('role'), c.dataset.label])"
        )
        assert cells == [["cell", "Sessions"], ["cell", "Before"], ["cell", "After"]]
