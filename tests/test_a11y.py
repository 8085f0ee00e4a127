"""The web player for every listener: axe-core's rules, focus, touch, large text,
language, announcements, offline use and felt cues, checked in Debian's chromium.

The fixtures (the server with the bundled scripts, the browser, a phone-size page)
are the ones tests/test_web_player.py uses.
"""

from __future__ import annotations

from typing import Any

import pytest
import test_web_player as web

from voiceguide.core.script import parse_script

pytestmark = pytest.mark.browser

# The same server, browser and phone-size page as the web player's own tests.
server = web.server
browser = web.browser
page = web.page
BUNDLED = web.BUNDLED
seek_paused = web.seek_paused
shoot = web.shoot

axe_sync = pytest.importorskip(
    "axe_playwright_python.sync_playwright", reason="axe-playwright-python is not installed"
)

# WCAG 2.1 A and AA, and axe's best practices.
AXE_OPTIONS = {
    "runOnly": {
        "type": "tag",
        "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"],
    },
    "resultTypes": ["violations"],
}


def _first_script_of_each_language() -> dict[str, str]:
    found: dict[str, str] = {}
    for path in sorted(BUNDLED.glob("*.yaml")):
        language = parse_script(path.read_bytes(), str(path)).language.split("-")[0]
        found.setdefault(language, path.stem)
    return found


PLAYERS = _first_script_of_each_language()


def test_the_bundled_scripts_cover_the_translated_languages() -> None:
    assert set(PLAYERS) == {"en", "de", "es", "fr"}


def violations(page: Any) -> list[str]:
    """axe-core's findings, one line each: the rule and the elements it found."""
    results = axe_sync.Axe().run(page, options=AXE_OPTIONS).response
    return [
        f"{v['id']} ({v['impact']}): {v['help']}: "
        + ", ".join(" ".join(map(str, n["target"])) for n in v["nodes"][:6])
        + (f" and {len(v['nodes']) - 6} more" if len(v["nodes"]) > 6 else "")
        for v in results["violations"]
    ]


def open_session(page: Any, server: str, ident: str) -> dict[str, Any]:
    """The player with its plan, on the finished file; returns the plan."""
    page.goto(f"{server}/play/{ident}")
    page.wait_for_selector("body[data-ready=true]", state="attached")
    page.wait_for_selector("body[data-audio=file]", state="attached", timeout=180_000)
    return page.evaluate(f"fetch('/sessions/{ident}.json').then(r => r.json())")


def play_until(page: Any, seconds: float) -> None:
    page.evaluate("document.querySelector('#audio').play()")
    page.wait_for_function(
        f"document.querySelector('#audio').currentTime > {seconds}", timeout=120_000
    )


def test_axe_finds_nothing_on_the_library(page: Any, server: str) -> None:
    page.goto(server + "/")
    found = violations(page)
    assert found == [], "\n".join(found)


@pytest.mark.parametrize("language", ["en", "de", "es", "fr"])
def test_axe_finds_nothing_on_a_player_in_any_state(page: Any, server: str, language: str) -> None:
    ident = PLAYERS[language]
    plan = open_session(page, server, ident)
    found: dict[str, list[str]] = {"before playing": violations(page)}

    page.locator("#play").click()
    page.wait_for_function("document.querySelector('#audio').currentTime > 0.5", timeout=120_000)
    assert page.evaluate("document.body.classList.contains('is-playing')")
    found["playing"] = violations(page)

    hold = next(e for e in plan["events"] if e["kind"] == "hold")
    t = seek_paused(page, hold["start"] + 0.5)
    play_until(page, t + 0.3)
    page.wait_for_selector("#hold", state="visible")
    found["in a hold"] = violations(page)

    page.wait_for_function("document.querySelectorAll('#transcript .cue').length > 3")
    page.wait_for_selector("#transcript .cue.active")
    page.locator("#transcript").scroll_into_view_if_needed()
    found["with the transcript shown"] = violations(page)
    shoot(page, f"a11y-{language}")

    failing = {state: lines for state, lines in found.items() if lines}
    assert failing == {}, "\n".join(
        f"{s}: {line}" for s, lines in failing.items() for line in lines
    )
