"""The web player for every listener: axe-core's rules, focus, touch, large text,
language, announcements, offline use and felt cues, checked in Debian's chromium.

The fixtures (the server with the bundled scripts, the browser, a phone-size page)
are the ones tests/test_web_player.py uses.
"""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import test_web_player as web
from server_helpers import TINY
from test_serve_cli import SERVE, _wait_for_address

from voiceguide.core.phrases import ENGLISH, TABLES
from voiceguide.core.script import parse_script
from voiceguide.history import connect
from voiceguide.history.schedules import Schedules

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


@pytest.mark.parametrize("path", ["/new", "/history", "/signin"])
def test_axe_finds_nothing_on_the_other_pages(page: Any, server: str, path: str) -> None:
    # /signin of a serve without a passphrase says so, as a page like the others.
    page.goto(server + path)
    found = violations(page)
    assert found == [], "\n".join(found)
    # Its icon named, so a browser does not ask for a /favicon.ico that is not there.
    assert page.locator("link[rel=icon]").get_attribute("href") == "/static/icon.svg"


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

    page.locator("#breath-view-open").click()
    found["with the breathing view open"] = violations(page)

    failing = {state: lines for state, lines in found.items() if lines}
    assert failing == {}, "\n".join(
        f"{s}: {line}" for s, lines in failing.items() for line in lines
    )


# --- focus and touch ------------------------------------------------------------------

CONTROLS = "a[href], button, input, select, summary, [role=slider], [tabindex]:not([tabindex='-1'])"
# Every control shown, with its box and the focus ring it draws when the keyboard
# brings focus to it.
MEASURE_CONTROLS_JS = """(selector) => {
  const found = [];
  for (const [index, el] of Array.from(document.querySelectorAll(selector)).entries()) {
    const box = el.getBoundingClientRect();
    if (box.width === 0 && box.height === 0) continue;  // not shown
    el.focus();
    const style = getComputedStyle(el);
    found.push({
      html: el.outerHTML.slice(0, 90),
      index: index,
      kind: el.tagName + "." + el.className + "#" + el.id,
      width: box.width, height: box.height,
      focusVisible: el.matches(':focus-visible'),
      outline: style.outlineStyle, outlineWidth: parseFloat(style.outlineWidth),
      outlineColor: style.outlineColor,
    });
    el.blur();
  }
  return found;
}"""


def controls(page: Any) -> list[dict[str, Any]]:
    page.keyboard.press("Tab")  # from here on, focus is the keyboard's: :focus-visible applies
    return page.evaluate(MEASURE_CONTROLS_JS, CONTROLS)


def assert_rings_and_targets(page: Any, found: list[dict[str, Any]]) -> None:
    small = [
        f"{c['width']:.0f}x{c['height']:.0f} {c['html']}"
        for c in found
        if c["width"] < 44 or c["height"] < 44
    ]
    assert small == [], "smaller than 44x44 CSS px:\n" + "\n".join(small)
    no_ring = [c["html"] for c in found if not c["focusVisible"]]
    assert no_ring == [], "not :focus-visible from the keyboard: " + "\n".join(no_ring)
    # One of each kind of control, by its pixels: focused from the keyboard, the
    # ring must change what is drawn around it (a glow drawn over it would not).
    kinds: dict[str, dict[str, Any]] = {}
    for c in found:
        kinds.setdefault(c["kind"], c)
    unseen = [c["html"] for c in kinds.values() if not ring_is_drawn(page, c["index"])]
    assert unseen == [], "focus ring not seen: " + "\n".join(unseen)


def ring_is_drawn(page: Any, index: int) -> bool:
    control = page.locator(CONTROLS).nth(index)
    control.scroll_into_view_if_needed()
    control.evaluate("el => el.blur()")
    box = control.bounding_box()
    clip = {
        "x": max(0, box["x"] - 8),
        "y": max(0, box["y"] - 8),
        "width": box["width"] + 16,
        "height": box["height"] + 16,
    }
    before = page.screenshot(clip=clip, animations="disabled")
    control.evaluate("el => el.focus()")
    after = page.screenshot(clip=clip, animations="disabled")
    control.evaluate("el => el.blur()")
    return bool(before != after)


def test_every_control_on_the_library_has_a_focus_ring_and_a_44px_target(
    page: Any, server: str
) -> None:
    page.goto(server + "/")
    found = controls(page)
    assert sum(1 for c in found if "<a" in c["html"]) >= len(PLAYERS) + 2  # cards, footer
    assert_rings_and_targets(page, found)


def test_the_librarys_scheduled_runs_pass_axe_with_44px_targets_at_any_text_size(
    browser: Any, tmp_path: Path
) -> None:
    """The "Next:" lines `serve` shows once a schedule exists, with their snooze
    buttons and the calendar link."""
    data = tmp_path / "data"
    scripts = tmp_path / "scripts"
    scripts.mkdir()
    (scripts / "tiny.yaml").write_text(TINY)
    # Twelve hours from now, on a speaker that is not there: nothing plays while
    # the test runs.
    now = datetime.now(UTC)
    at = (now + timedelta(hours=12)).strftime("%H:%M")
    environment = {**os.environ, "XDG_DATA_HOME": str(data)}
    connection = connect(data / "voiceguide" / "history.sqlite3")
    try:
        Schedules(connection).add(
            str(scripts / "tiny.yaml"), [at], frozenset(range(7)), "Living room", "UTC", now
        )
    finally:
        connection.close()
    serve = subprocess.Popen(
        [*SERVE, str(scripts), "--port", "0", "--cache-dir", str(tmp_path / "cache")],
        stderr=subprocess.PIPE,
        text=True,
        env=environment,
    )
    try:
        url = _wait_for_address(serve)
        context = browser.new_context(viewport=web.PHONE, is_mobile=True, has_touch=True)
        try:
            page = context.new_page()
            page.goto(url)
            assert page.locator(".upcoming li").count() == 1
            found = violations(page)
            assert found == [], "\n".join(found)
            shown = controls(page)
            assert {"Snooze 20 min", "Reminders in your calendar"} <= {
                c["html"].split(">")[1].split("<")[0] for c in shown
            }
            assert_rings_and_targets(page, shown)
        finally:
            context.close()
        large = _layout(browser, url, 32, "body")
        assert large["wide"] == [] and large["cut"] == [], large
    finally:
        serve.send_signal(signal.SIGINT)
        serve.communicate(timeout=30)


def test_every_control_on_the_player_has_a_focus_ring_and_a_44px_target(
    page: Any, server: str
) -> None:
    plan = open_session(page, server, PLAYERS["en"])
    page.wait_for_function("document.querySelectorAll('#transcript .cue').length > 3")
    # "Start over" shows after a resumed reload; show it to measure it.
    page.evaluate("document.querySelector('#resume').hidden = false")
    found = controls(page)
    shown = {
        c["html"].split('"')[1] for c in found if c["html"].startswith(("<button id=", "<div id="))
    }
    assert {"back", "play", "next", "restart", "strip"} <= shown
    speech = sum(1 for e in plan["events"] if e["kind"] == "speech")
    assert sum(1 for c in found if 'class="cue' in c["html"]) == speech
    assert_rings_and_targets(page, found)


def test_typing_a_note_types_it_and_steers_nothing(page: Any, server: str) -> None:
    """The single-key shortcuts (Space, j, k, l, n, p) are for the page, not for
    what a person types in the check-in's note."""
    open_session(page, server, PLAYERS["en"])
    page.wait_for_selector("#checkin", state="visible")
    page.locator("#checkin-note").click()
    note = "knee pain, kept it slow; jolt"
    page.keyboard.type(note)
    assert page.locator("#checkin-note").input_value() == note
    audio = (
        "[document.querySelector('#audio').paused, document.querySelector('#audio').currentTime]"
    )
    assert page.evaluate(audio) == [True, 0]


def test_the_single_key_shortcuts_can_be_turned_off(page: Any, server: str) -> None:
    """WCAG 2.1.4: shortcuts of one character key, pressed by accident or by
    speech input, can be turned off; the choice is kept."""
    plan = open_session(page, server, PLAYERS["en"])
    now = "document.querySelector('#audio').currentTime"
    assert page.locator("#shortcuts").is_checked()
    page.locator("body").press("n")
    page.wait_for_function(f"Math.abs({now} - {plan['chapters'][1]['start']}) < 0.1")
    page.locator("#shortcuts").uncheck()
    page.evaluate("document.activeElement.blur()")  # Space on the box would tick it again
    seek_paused(page, 0.0)
    for key in ("n", "l", "Space", "k"):
        page.locator("body").press(key)
    assert page.evaluate(f"[document.querySelector('#audio').paused, {now}]") == [True, 0]
    page.reload()
    page.wait_for_selector("body[data-ready=true]", state="attached")
    assert not page.locator("#shortcuts").is_checked()


# --- large text -----------------------------------------------------------------------

# What the page shows for each element with text of its own: its font size, and
# any box that runs past the right edge of the screen or a heading that is cut.
# (On a phone the layout viewport grows to hold what overflows, so innerWidth
# would grow with it: the screen's width is passed in.)
LAYOUT_JS = """(screenWidth) => {
  const sizes = [];
  for (const el of document.body.querySelectorAll('*')) {
    const own = Array.from(el.childNodes).some((n) => n.nodeType === 3 && n.textContent.trim());
    if (own && el.getClientRects().length) sizes.push([el.tagName + '.' + el.className, parseFloat(getComputedStyle(el).fontSize)]);
  }
  const wide = Array.from(document.querySelectorAll('*'))
    .filter((el) => el.getClientRects().length && el.getBoundingClientRect().right > screenWidth + 0.5)
    .map((el) => el.outerHTML.slice(0, 80) + ' right=' + el.getBoundingClientRect().right.toFixed(0));
  const cut = Array.from(document.querySelectorAll('h1, h2, h3, .exercise, .chapter-title, .side'))
    .filter((el) => el.getClientRects().length && el.scrollWidth > el.clientWidth)
    .map((el) => el.outerHTML.slice(0, 80) + ' ' + el.scrollWidth + '>' + el.clientWidth);
  return {root: parseFloat(getComputedStyle(document.documentElement).fontSize), sizes: sizes, wide: wide, cut: cut, scroll: document.documentElement.scrollWidth};
}"""


@contextmanager
def phone_page(browser: Any, default_font_px: int = 16) -> Iterator[Any]:
    """A page 390 px wide, with the browser's default font size set as a person's
    text scaling sets it."""
    context = browser.new_context(viewport=web.PHONE, is_mobile=True, has_touch=True)
    try:
        page = context.new_page()
        page.set_default_timeout(60_000)
        cdp = context.new_cdp_session(page)
        cdp.send("Page.enable")
        cdp.send("Page.setFontSizes", {"fontSizes": {"standard": default_font_px}})
        yield page
    finally:
        context.close()


def _layout(browser: Any, url: str, default_font_px: int, ready: str) -> dict[str, Any]:
    """The page at 390 px wide and the given default font size."""
    with phone_page(browser, default_font_px) as page:
        page.goto(url)
        page.wait_for_selector(ready, state="attached")
        if ready != "body":
            page.wait_for_function("document.querySelectorAll('#transcript .cue').length > 3")
            # the hold's line and the phase shown too, as in a breathing hold
            page.evaluate(
                "for (const id of ['#hold', '#phase', '#side', '#resume'])"
                " document.querySelector(id).hidden = false"
            )
        layout = page.evaluate(LAYOUT_JS, web.PHONE["width"])
        # The screen as shown (a full-page screenshot would lay the page out anew).
        web.ARTIFACTS.mkdir(exist_ok=True)
        name = f"large-text-{default_font_px}-{url.rsplit('/', 1)[-1] or 'library'}.png"
        page.screenshot(path=str(web.ARTIFACTS / name))
        return layout


@pytest.mark.parametrize("path", ["/", *(f"/play/{ident}" for ident in PLAYERS.values())])
def test_text_at_200_percent_scales_and_stays_on_a_390_px_screen(
    browser: Any, server: str, path: str
) -> None:
    ready = "body" if path == "/" else "body[data-audio=file]"
    normal = _layout(browser, server + path, 16, ready)
    large = _layout(browser, server + path, 32, ready)
    assert (normal["root"], large["root"]) == (16, 32)
    assert normal["wide"] == [] and normal["cut"] == []
    # All text follows the person's font size: none stays put in px.
    fixed = sorted(
        {
            name
            for (name, a), (_, b) in zip(normal["sizes"], large["sizes"], strict=True)
            if b < 1.9 * a
        }
    )
    assert fixed == [], "text that keeps its size: " + ", ".join(fixed)
    assert large["wide"] == [], "\n".join(large["wide"])
    assert large["cut"] == [], "\n".join(large["cut"])
    assert large["scroll"] <= web.PHONE["width"]


# Each word of the breathing view's text that the line breaking splits, and the
# view's right edge.
SPLIT_WORDS_JS = """(text) => {
  const word = document.querySelector('#breath-word');
  word.textContent = text;
  const range = document.createRange();
  const split = [];
  let at = 0;
  for (const part of text.split(' ')) {
    at = text.indexOf(part, at);
    range.setStart(word.firstChild, at);
    range.setEnd(word.firstChild, at + part.length);
    // On more than one line (the first letter is a box of its own: by height, not count).
    const tops = Array.from(range.getClientRects()).map((r) => r.top);
    if (Math.max(...tops) - Math.min(...tops) > parseFloat(getComputedStyle(word).fontSize) / 2) split.push(part);
    at += part.length;
  }
  return [split, word.getBoundingClientRect().right];
}"""


def test_the_breathing_views_words_stay_whole_at_200_percent(browser: Any, server: str) -> None:
    """Its words are large to be read from the floor; at twice the font size each
    phase word of every language still fits across a 390 px screen in one piece."""
    with phone_page(browser, 32) as page:
        page.goto(f"{server}/play/{PLAYERS['en']}")
        page.wait_for_selector("body[data-ready=true]", state="attached")
        page.locator("#breath-view-open").click()
        size = page.evaluate("getComputedStyle(document.querySelector('#breath-word')).fontSize")
        assert float(size.removesuffix("px")) >= 1.8 * 32  # still large, and scaled
        broken = {}
        for language in ("en", "de", "es", "fr"):
            for phase in ("inhale", "hold_in", "exhale", "hold_out"):
                text = TABLES[language][phase].rstrip(".")
                split, right = page.evaluate(SPLIT_WORDS_JS, text)
                if split or right > web.PHONE["width"]:
                    broken[text] = (split, right)
        assert broken == {}


# --- the script's language ------------------------------------------------------------

# Every text and accessible name on the page, with the language it is in.
TEXTS_JS = """() => {
  const found = [];
  for (const el of document.querySelectorAll('*')) {
    const language = el.closest('[lang]').getAttribute('lang');
    for (const node of el.childNodes) {
      if (node.nodeType === 3 && node.textContent.trim()) found.push([node.textContent.trim(), language]);
    }
    for (const name of ['aria-label', 'title', 'label', 'alt']) {
      if (el.getAttribute(name)) found.push([el.getAttribute(name), language]);
    }
  }
  return found;
}"""


def test_each_library_card_is_in_its_scripts_language(page: Any, server: str) -> None:
    page.goto(server + "/")
    cards = page.locator("li.card").evaluate_all(
        "cards => cards.map(c => [c.querySelector('a').getAttribute('href'), c.getAttribute('lang')])"
    )
    expected = [
        [f"/play/{p.stem}", parse_script(p.read_bytes(), str(p)).language]
        for p in sorted(BUNDLED.glob("*.yaml"))
    ]
    assert cards == expected
    # "about 2 min · 5 partes": the card's words are its language's too.
    es = page.locator(f"a[href='/play/{PLAYERS['es']}'] .card-meta").inner_text()
    assert es.endswith(TABLES["es"]["page_parts_other"].format(n=5)), es


@pytest.mark.parametrize("language", ["en", "de", "es", "fr"])
def test_a_player_speaks_its_scripts_language(page: Any, server: str, language: str) -> None:
    plan = open_session(page, server, PLAYERS[language])
    assert plan["language"] == language
    assert page.evaluate("document.documentElement.lang") == language
    page.wait_for_function("document.querySelectorAll('#transcript .cue').length > 3")
    track = page.evaluate(
        "(() => { const t = document.querySelector('#audio track'); return [t.srclang, t.label]; })()"
    )
    assert track == [language, TABLES[language]["page_transcript"]]
    words = TABLES[language]
    assert page.locator("#chapters-heading").inner_text().lower() == words["page_chapters"].lower()
    assert page.locator("#play").get_attribute("aria-label") == words["page_play"]
    assert page.locator(".back").inner_text() == words["page_all_sessions"]
    # Playing, in a hold: the labels that change are in the language too.
    hold = next(e for e in plan["events"] if e["kind"] == "hold")
    t = seek_paused(page, hold["start"] + 0.5)
    play_until(page, t + 0.2)
    assert page.locator("#play").get_attribute("aria-label") == words["page_pause"]
    assert page.locator("#hold-label").inner_text() == words["page_left_in_hold"]
    index = max(i for i, c in enumerate(plan["chapters"]) if c["start"] <= t)
    count = words["page_part_of"].format(n=index + 1, m=len(plan["chapters"]))
    assert page.locator("#chapter-count").inner_text().lower() == count.lower()
    if language != "en":
        # No English label left in place anywhere on the page.
        english = {v for k, v in ENGLISH.items() if k.startswith("page_") and v != words[k]}
        left = [text for text, _ in page.evaluate(TEXTS_JS) if text in english]
        assert left == []


def test_the_side_is_a_field_of_the_plan_and_named_in_the_language(page: Any, server: str) -> None:
    words = TABLES["es"]
    plan = open_session(page, server, PLAYERS["es"])
    sides = [(c["title"], c["side"]) for c in plan["chapters"]]
    assert [side for _, side in sides] == [None, "left", "right", None, None]
    assert sides[2][0].endswith(f"({words['right']})")
    right = plan["chapters"][2]
    # Every sound, hold and breath of the right side (the gap before the next
    # part belongs to no side).
    inside = [e for e in plan["events"] if right["start"] <= e["start"] < right["end"]]
    assert {e["side"] for e in inside if e.get("cue") != "gap"} == {"right"}
    t = seek_paused(page, plan["chapters"][2]["start"] + 0.5)
    assert t > plan["chapters"][2]["start"]
    assert page.locator("#side").inner_text() == words["side_right"].rstrip(".")
    assert page.locator("#exercise").inner_text() == sides[2][0].removesuffix(
        f" ({words['right']})"
    )
    # The lock screen names the side too.
    page.evaluate("document.querySelector('#audio').play()")
    page.wait_for_function(
        "navigator.mediaSession.metadata && navigator.mediaSession.metadata.title.includes('·')"
    )
    assert page.evaluate("navigator.mediaSession.metadata.title") == (
        page.locator("#exercise").inner_text() + " · " + words["side_right"].rstrip(".")
    )


# --- what a screen reader hears -------------------------------------------------------

# Each text the live region takes, with the media clock when it took it.
RECORD_ANNOUNCEMENTS_JS = """() => {
  window.announced = [];
  const audio = document.querySelector('#audio');
  const region = document.querySelector('#announcer');
  new MutationObserver(() => window.announced.push([region.textContent, audio.currentTime]))
    .observe(region, {childList: true, characterData: true, subtree: true});
}"""


def test_one_live_region_announces_the_side_change_and_nothing_on_seeks(
    page: Any, server: str
) -> None:
    plan = open_session(page, server, PLAYERS["en"])
    regions = page.evaluate(
        "Array.from(document.querySelectorAll('[aria-live], [role=status], [role=alert], [role=log]'))"
        ".map(e => e.id)"
    )
    assert regions == ["announcer"]
    right = next(c for c in plan["chapters"] if c["side"] == "right")
    index = plan["chapters"].index(right)
    page.evaluate(RECORD_ANNOUNCEMENTS_JS)
    # Seeks, paused and playing, into other parts: nothing said.
    seek_paused(page, plan["chapters"][1]["start"] + 1)
    play_until(page, plan["chapters"][1]["start"] + 1.3)
    page.locator(".chapter").nth(index + 1).click()
    page.wait_for_function(
        f"document.querySelector('#audio').currentTime > {plan['chapters'][index + 1]['start'] + 0.3}"
    )
    t = seek_paused(page, right["start"] - 2.0)
    assert page.evaluate("window.announced") == []
    # Playing on into the right side: said within 1 s of the chapter's start.
    play_until(page, right["start"] + 1.5)
    heard = page.evaluate("window.announced")
    words = TABLES["en"]
    side = words["side_right"].rstrip(".")
    assert [text for text, _ in heard] == [
        f"{words['page_part_of'].format(n=index + 1, m=len(plan['chapters']))}. "
        f"{right['title'].removesuffix(' (right)')}. {side}."
    ]
    assert right["start"] - 0.05 <= heard[0][1] <= right["start"] + 1.0, (heard, right["start"], t)


def test_breathing_phases_are_announced_only_when_asked(page: Any, server: str) -> None:
    plan = open_session(page, server, PLAYERS["en"])
    breaths = [e for e in plan["events"] if e["kind"] == "breath"]
    first, second = breaths[0], breaths[1]
    page.evaluate(RECORD_ANNOUNCEMENTS_JS)
    assert not page.locator("#announce-phases").is_checked()
    seek_paused(page, first["start"] + 0.2)
    play_until(page, second["start"] + 0.5)
    assert page.evaluate("window.announced") == []
    page.locator("#announce-phases").check()
    third = breaths[2]
    seek_paused(page, second["end"] - 0.8)
    play_until(page, third["start"] + 0.5)
    heard = page.evaluate("window.announced")
    phase = TABLES["en"][third["cue"]].rstrip(".")
    assert [text for text, _ in heard] == [phase]
    assert third["start"] - 0.05 <= heard[0][1] <= third["start"] + 1.0


# --- installable, and offline ---------------------------------------------------------


def _png_size(body: bytes) -> tuple[int, int]:
    assert body[:8] == b"\x89PNG\r\n\x1a\n" and body[12:16] == b"IHDR"
    return int.from_bytes(body[16:20], "big"), int.from_bytes(body[20:24], "big")


# The browser's own decoding of an icon: its size, and how many of its pixels
# outside the maskable safe zone differ from its corner (the background).
DECODE_ICON_JS = """async (src) => {
  const image = await createImageBitmap(await (await fetch(src)).blob());
  const n = image.width;
  const canvas = new OffscreenCanvas(n, image.height);
  const context = canvas.getContext('2d');
  context.drawImage(image, 0, 0);
  const data = context.getImageData(0, 0, n, image.height).data;
  let outside = 0;
  for (let y = 0; y < image.height; y++) {
    for (let x = 0; x < n; x++) {
      if (Math.hypot(x + 0.5 - n / 2, y + 0.5 - image.height / 2) <= 0.4 * n) continue;
      const i = 4 * (y * n + x);
      if ([0, 1, 2].some((c) => Math.abs(data[i + c] - data[c]) > 2)) outside++;
    }
  }
  return [image.width, image.height, outside];
}"""


def test_the_manifest_validates_and_makes_the_player_installable(page: Any, server: str) -> None:
    response = page.request.get(server + "/manifest.webmanifest")
    assert response.status == 200
    assert response.headers["content-type"].startswith("application/manifest+json")
    manifest = response.json()
    assert manifest["name"] and manifest["start_url"] == "/"
    assert manifest["display"] in ("fullscreen", "standalone", "minimal-ui", "browser")
    sizes = set()
    for icon in manifest["icons"]:
        body = page.request.get(server + icon["src"])
        assert body.ok, icon
        assert body.headers["content-type"] == icon["type"]
        if icon["type"] == "image/png":
            width, height = _png_size(body.body())
            assert icon["sizes"] == f"{width}x{height}"
            sizes.add(width)
    assert {192, 512} <= sizes
    # Chromium's own reading of it, from the page that links it.
    page.goto(f"{server}/play/{PLAYERS['en']}")
    # Each PNG for any use and as a maskable icon (a phone's launcher crops it to
    # its own shape): decoded, at its stated size, with nothing drawn outside the
    # safe zone, the centred circle of 40 % of the width that every crop keeps.
    pngs = [i for i in manifest["icons"] if i["type"] == "image/png"]
    purposes = {(i["sizes"], p) for i in pngs for p in i.get("purpose", "any").split()}
    assert purposes == {(f"{n}x{n}", p) for n in (192, 512) for p in ("any", "maskable")}
    for icon in pngs:
        width, height, outside = page.evaluate(DECODE_ICON_JS, icon["src"])
        assert icon["sizes"] == f"{width}x{height}"
        if "maskable" in icon.get("purpose", ""):
            assert outside == 0, f"{icon['src']}: {outside} pixels drawn outside the safe zone"
    cdp = page.context.new_cdp_session(page)
    read = cdp.send("Page.getAppManifest")
    assert read["url"] == server + "/manifest.webmanifest"
    assert read["errors"] == []
    found = cdp.send("Page.getInstallabilityErrors")["installabilityErrors"]
    # A test browser's context is an incognito one: about the browser, not the site.
    assert [e["errorId"] for e in found if e["errorId"] != "in-incognito"] == []


def test_a_played_session_plays_again_with_the_network_off(page: Any, server: str) -> None:
    ident = PLAYERS["en"]
    plan = open_session(page, server, ident)
    page.locator("#play").click()
    page.wait_for_function("document.querySelector('#audio').currentTime > 0.5", timeout=120_000)
    page.evaluate("document.querySelector('#audio').pause()")
    # The service worker keeps the page, the plan, the transcript and the audio.
    page.wait_for_function(
        f"""caches.open('voiceguide-v1').then(async (cache) => {{
              const kept = await Promise.all(['/play/{ident}', '/sessions/{ident}.mp3',
                '/sessions/{ident}.json', '/sessions/{ident}.vtt', '/static/player.js']
                .map((url) => cache.match(url)));
              return kept.every(Boolean);
           }})""",
        polling=200,
    )
    page.context.set_offline(True)
    try:
        page.reload()
        page.wait_for_selector("body[data-ready=true]", state="attached")
        assert page.locator("#title").inner_text() == plan["title"]
        page.wait_for_function("document.querySelectorAll('#transcript .cue').length > 3")
        # The audio loads, plays, and seeks (a range the cache answers).
        t = seek_paused(page, 100.0)
        assert abs(t - 100.0) < 0.2
        play_until(page, 100.6)
        assert page.evaluate("document.querySelector('#audio').error") is None
        # Offline indeed: what was never kept cannot be had.
        reach = "fetch('/sessions.json').then(() => 'reached', () => 'offline')"
        assert page.evaluate(reach) == "offline"
        # And the library, too.
        page.goto(server + "/")
        assert page.locator(".card").count() == len(list(BUNDLED.glob("*.yaml")))
    finally:
        page.context.set_offline(False)


# --- felt and seen cues ---------------------------------------------------------------

RECORD_VIBRATIONS_JS = """
window.vibrations = [];
navigator.vibrate = (pattern) => {
  window.vibrations.push([document.querySelector('#audio').currentTime, pattern]);
  return true;
};
"""
PATTERN_KINDS = {
    (400,): "inhale",
    (120, 100, 120): "exhale",
    (80,): "hold",
    (60, 60, 60, 60, 60): "hold_end",
}


def planned_cues(plan: dict[str, Any]) -> list[tuple[float, str]]:
    """Each moment to feel: a breathing phase begins, a hold begins or ends; at
    one moment the end of a hold, else the breath, is the one felt."""
    found = []
    for e in plan["events"]:
        if e["kind"] == "breath":
            found.append((e["start"], 1, "hold" if e["cue"].startswith("hold") else e["cue"]))
        elif e["kind"] == "hold":
            found += [(e["start"], 2, "hold"), (e["end"], 0, "hold_end")]
    kept: list[tuple[float, str]] = []
    for t, _, kind in sorted(found):
        if not kept or t - kept[-1][0] >= 0.05:
            kept.append((t, kind))
    return kept


@pytest.mark.parametrize("ident", ["back-spasm-relief", "breathing-calm"])
def test_vibrations_follow_the_plans_breathing_times(page: Any, server: str, ident: str) -> None:
    page.add_init_script(RECORD_VIBRATIONS_JS)
    plan = open_session(page, server, ident)
    cues = planned_cues(plan)
    # From a breath in to the end of a hold (an exercise's) or the start of
    # one (a breathing pattern's): ten seconds or so.
    ends = [t for t, kind in cues if kind == "hold_end"]
    target = ends[0] if ends else next(t for i, (t, k) in enumerate(cues) if k == "hold" and i >= 2)
    inhale = max(t for t, kind in cues if kind == "inhale" and t < target - 4)
    window_start, window_end = inhale - 0.5, target + 0.5
    expected = [(t, kind) for t, kind in cues if window_start < t <= window_end]
    kinds = {kind for _, kind in expected}
    assert {"inhale", "exhale"} <= kinds and kinds & {"hold", "hold_end"}, expected
    # Off until the person turns it on.
    assert not page.locator("#vibrate").is_checked()
    seek_paused(page, window_start)
    play_until(page, window_start + 2.0)
    assert page.evaluate("window.vibrations") == []
    page.locator("#vibrate").check()
    page.evaluate("window.vibrations = []")  # the sample felt on turning it on
    seek_paused(page, window_start)
    play_until(page, window_end)
    page.evaluate("document.querySelector('#audio').pause()")
    felt = [(t, PATTERN_KINDS[tuple(p)]) for t, p in page.evaluate("window.vibrations")]
    assert [kind for _, kind in felt] == [kind for _, kind in expected], (felt, expected)
    late = [
        (round(f, 3), round(e, 3))
        for (f, _), (e, _) in zip(felt, expected, strict=True)
        if abs(f - e) > 0.1
    ]
    assert late == [], "felt more than 100 ms from the plan: " + str(late)


def test_the_breathing_view_follows_the_phase(page: Any, server: str) -> None:
    plan = open_session(page, server, PLAYERS["en"])
    page.locator("#breath-view-open").click()
    assert page.locator("#breath-view").is_visible()
    box = page.locator(".breath-disc").bounding_box()
    assert box["width"] >= 0.7 * web.PHONE["width"]  # large enough to see from the floor
    scale_js = (
        "new DOMMatrix(getComputedStyle(document.querySelector('#breath-circle')).transform).a"
    )
    colour_js = "getComputedStyle(document.querySelector('#breath-circle')).backgroundColor"
    inhale = next(e for e in plan["events"] if e["kind"] == "breath" and e["cue"] == "inhale")
    exhale = next(e for e in plan["events"] if e["kind"] == "breath" and e["cue"] == "exhale")
    seen = {}
    for name, event in (("inhale", inhale), ("exhale", exhale)):
        sizes = []
        for share in (0.2, 0.8):
            seek_paused(page, event["start"] + share * (event["end"] - event["start"]))
            assert page.locator("#breath-view").get_attribute("data-phase") == name
            sizes.append(page.evaluate(scale_js))
        seen[name] = (sizes, page.evaluate(colour_js))
        assert page.locator("#breath-word").inner_text() == TABLES["en"][name].rstrip(".")
    assert seen["inhale"][0][0] < seen["inhale"][0][1]  # grows breathing in
    assert seen["exhale"][0][0] > seen["exhale"][0][1]  # shrinks breathing out
    assert seen["inhale"][1] != seen["exhale"][1]
    hold = next(e for e in plan["events"] if e["kind"] == "hold")
    seek_paused(page, hold["start"] + 0.01)
    assert page.locator("#breath-view").get_attribute("data-phase") in ("hold", "hold_in", "inhale")
    page.locator("#breath-view-close").click()
    assert page.locator("#breath-view").is_hidden()


# Leaving fullscreen is the browser's, and it takes its time (a phone animates
# it): here the page's exitFullscreen starts the exit a quarter of a second late.
SLOW_FULLSCREEN_EXIT_JS = """
const exitFullscreen = Document.prototype.exitFullscreen;
Document.prototype.exitFullscreen = function () {
  return new Promise((resolve) => setTimeout(resolve, 250)).then(() => exitFullscreen.call(this));
};
"""
# Opened and closed in one task: the browser goes fullscreen only afterwards.
OPEN_AND_CLOSE_AT_ONCE_JS = """() => new Promise((resolve) => {
  document.addEventListener('fullscreenchange', resolve, {once: true});
  document.addEventListener('fullscreenerror', resolve, {once: true});
  document.querySelector('#breath-view-open').click();
  document.querySelector('#breath-view-close').click();
})"""
GIVEN_BACK = (
    "document.fullscreenElement === null && document.activeElement.id === 'breath-view-open'"
)


def test_the_breathing_view_keeps_the_keyboard_while_open(page: Any, server: str) -> None:
    """A modal view: Tab and Shift+Tab stay on its controls, not on the page
    hidden behind it; closed, the page is reachable again, from the button that
    opened it."""
    open_session(page, server, PLAYERS["en"])
    page.locator("#breath-view-open").focus()
    page.keyboard.press("Enter")
    page.wait_for_selector("#breath-view", state="visible")
    inside = "document.activeElement.closest('#breath-view') !== null"
    places = []
    for key in ["Tab"] * 4 + ["Shift+Tab"] * 4:
        page.keyboard.press(key)
        places.append(page.evaluate(inside))
    assert places == [True] * 8
    page.keyboard.press("Escape")
    page.wait_for_selector("#breath-view", state="hidden")
    page.wait_for_function(GIVEN_BACK)
    page.keyboard.press("Shift+Tab")
    assert page.evaluate(inside) is False
    assert page.evaluate("document.activeElement.closest('main') !== null")


@pytest.mark.parametrize("when", ["before-fullscreen", "slow-exit"])
def test_the_breathing_view_gives_the_page_back_however_fullscreen_is_timed(
    page: Any, server: str, when: str
) -> None:
    """Fullscreen comes and goes asynchronously, and the page behind the
    fullscreen view cannot take focus until it has gone: closed before the
    browser has gone fullscreen, or while it is slow to leave, the view still
    leaves fullscreen and gives focus back to the button that opened it."""
    if when == "slow-exit":
        page.add_init_script(SLOW_FULLSCREEN_EXIT_JS)
    open_session(page, server, PLAYERS["en"])
    if when == "before-fullscreen":
        page.evaluate(OPEN_AND_CLOSE_AT_ONCE_JS)
    else:
        page.locator("#breath-view-open").focus()
        page.keyboard.press("Enter")
        page.wait_for_function("document.fullscreenElement?.id === 'breath-view'")
        page.keyboard.press("Enter")  # on Close
    page.wait_for_function(GIVEN_BACK)
    page.keyboard.press("Shift+Tab")
    assert page.evaluate("document.activeElement.closest('main') !== null")
