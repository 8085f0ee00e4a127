"""The New session form in Debian's chromium: reached from the library, labelled,
44 px targets with focus rings, used from the keyboard; it makes a session from
the exercise library, shows its plan and plays it.

The fixtures are the web player's (tests/test_web_player.py): the bundled
scripts served with the test voice, a headless chromium, a phone-size page.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
import test_a11y as a11y
import test_web_player as web

from voiceguide import pipeline

pytestmark = pytest.mark.browser

server = web.server
browser = web.browser
page = web.page

GENERATED_URL = re.compile(r"/play/(generated-[0-9a-f]{12})$")


def open_form(page: Any, server: str) -> None:
    page.goto(server + "/")
    page.get_by_role("link", name="New session").click()
    page.wait_for_url(f"{server}/new")


def test_the_form_is_labelled_and_every_control_is_reachable_and_large(
    page: Any, server: str
) -> None:
    open_form(page, server)
    for label in ("Goal", "Minutes", "Position", "Level", "Language"):
        assert page.get_by_label(label, exact=True).count() == 1, label
    assert page.get_by_role("group", name="What to avoid").get_by_role("checkbox").count() == 5
    assert page.get_by_label("Twisting (rotation)").get_attribute("value") == "rotation"
    found = a11y.violations(page)
    assert found == [], "\n".join(found)
    a11y.assert_rings_and_targets(page, a11y.controls(page))
    web.shoot(page, "new-session-form")


def test_the_form_makes_a_session_from_the_keyboard_shows_its_plan_and_plays_it(
    page: Any, server: str
) -> None:
    open_form(page, server)
    cards_before = page.request.get(server + "/sessions.json").json()
    page.select_option("#goal", "relief")
    page.locator("#minutes").fill("5")
    page.select_option("#position", "floor")
    # The keyboard alone: focus the checkbox, Space ticks it, Enter on the button sends.
    page.locator("#avoid-flexion").focus()
    page.keyboard.press("Space")
    assert page.locator("#avoid-flexion").is_checked()
    page.locator("#make").focus()
    page.keyboard.press("Enter")
    page.wait_for_url(GENERATED_URL, timeout=180_000)
    match = GENERATED_URL.search(page.url)
    assert match is not None
    ident = match[1]
    page.wait_for_selector("body[data-ready=true]", state="attached")
    # Its plan: the chapters on the page, from the plan the server made with its voice.
    plan = page.evaluate(f"fetch('/sessions/{ident}.json').then(r => r.json())")
    assert abs(plan["duration"] - 300) <= 15
    library = pipeline.exercise_library()
    allowed = {
        e.text["en"].name
        for e in library.exercises
        if e.position in ("all-fours", "floor-front", "floor-back") and "flexion" not in e.tags
    }
    exercises = [c["title"] for c in plan["chapters"] if c["kind"] == "exercise"]
    assert len(exercises) >= 3
    for title in exercises:
        assert re.sub(r" \((left|right)\)$", "", title) in allowed, title
    shown = page.locator("#chapters li").all_inner_texts()
    assert len(shown) == len(plan["chapters"])
    assert any(exercises[0] in text for text in shown)
    # And it plays.
    page.locator("#play").click()
    page.wait_for_function("document.querySelector('#audio').currentTime > 0.5", timeout=120_000)
    # A generated session is kept for its player, not added to the library's list.
    assert page.request.get(server + "/sessions.json").json() == cards_before


def test_an_impossible_request_is_told_on_the_form(page: Any, server: str) -> None:
    open_form(page, server)
    page.select_option("#goal", "core")
    page.select_option("#position", "standing")
    page.locator("#minutes").fill("60")
    page.locator("#make").click()
    alert = page.get_by_role("alert")
    alert.wait_for(timeout=120_000)
    assert "minutes 60" in alert.inner_text() and "position standing" in alert.inner_text()
    # The form keeps what was chosen, to change one thing and try again.
    assert page.locator("#goal").input_value() == "core"
    assert page.locator("#minutes").input_value() == "60"
    assert a11y.violations(page) == []


def test_a_bad_field_is_refused_with_its_name(page: Any, server: str) -> None:
    answer = page.request.post(
        server + "/new", form={"goal": "relief", "minutes": "500", "position": "floor"}
    )
    assert answer.status == 400
    assert "Minutes: give a number from 3 to 90." in answer.text()
    for ident in ("generated-../../etc", "generated-0123456789ab"):
        assert page.request.get(f"{server}/play/{ident}").status == 404
