"""The podcast feed by podcast apps' rules, read with podcastparser and feedparser.

Every item has a real length, a guid that outlives edits, a date of its own
that stays put; the channel claims no wrong language, has its cover image,
its own address and both kinds of chapters.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import feedparser
import podcastparser
import pytest
from server_helpers import TINY, running_server
from test_server import get, get_file

GERMAN = TINY.replace("title: Small session", "title: Kleine Sitzung\nlanguage: de")
FEED = "/feed.xml"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    scripts = tmp_path / "scripts"
    scripts.mkdir()
    (scripts / "alpha.yaml").write_text(TINY)
    (scripts / "beta.yaml").write_text(TINY.replace("Small session", "Beta session"))
    (scripts / "gamma.yaml").write_text(TINY.replace("Small session", "Gamma session"))
    # A fresh clone: every file has the same date.
    for path in scripts.iterdir():
        os.utime(path, (1_700_000_000, 1_700_000_000))
    return scripts


def parsed(url: str) -> tuple[dict[str, Any], Any]:
    """The feed at ``url`` as podcastparser and as feedparser read it (neither objects)."""
    status, headers, body = get(url)
    assert status == 200 and headers["Content-Type"].startswith("application/rss+xml")
    podcast = podcastparser.parse(url, io.BytesIO(body))
    generic = feedparser.parse(body)
    assert not generic.bozo, generic.get("bozo_exception")
    return podcast, generic


def by_title(podcast: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {episode["title"]: episode for episode in podcast["episodes"]}


def test_every_item_has_a_length_before_and_after_its_render(folder: Path, tmp_path: Path) -> None:
    with running_server([folder], tmp_path / "cache") as server:
        before, generic = parsed(server.url + FEED)
        lengths = {e["title"]: e["enclosures"][0]["file_size"] for e in before["episodes"]}
        assert [int(e.enclosures[0].length) for e in generic.entries] == list(lengths.values())
        get_file(server.url + "/sessions/alpha.mp3")
        after, _ = parsed(server.url + FEED)
    rendered = next((tmp_path / "cache").glob("alpha-*.mp3")).stat().st_size
    assert by_title(after)["Small session"]["enclosures"][0]["file_size"] == rendered
    # Before the render: the estimate from the plan, within 1 % of the real file.
    assert lengths["Small session"] == pytest.approx(rendered, rel=0.01)
    assert all(length > 0 for length in lengths.values())


def test_guids_and_dates_outlive_edits_and_restarts(folder: Path, tmp_path: Path) -> None:
    with running_server([folder], tmp_path / "cache") as server:
        first, generic = parsed(server.url + FEED)
        (folder / "beta.yaml").write_text(
            TINY.replace("Small session", "Beta session").replace("hold: 4s", "hold: 9s")
        )
        edited, edited_generic = parsed(server.url + FEED)
    with running_server([folder], tmp_path / "cache") as server:
        restarted, _ = parsed(server.url + FEED)

    def identities(podcast: dict[str, Any]) -> dict[str, tuple[str, int]]:
        return {e["title"]: (e["guid"], e["published"]) for e in podcast["episodes"]}

    assert identities(first) == identities(edited) == identities(restarted)
    assert len({e["guid"] for e in first["episodes"]}) == 3
    # Each its own date, though the files all have the same one.
    assert len({e["published"] for e in first["episodes"]}) == 3
    assert (
        by_title(edited)["Beta session"]["total_time"]
        > by_title(first)["Beta session"]["total_time"]
    )
    # The edit is told as an update of the same episode.
    updated = {e.title: e.updated_parsed for e in edited_generic.entries}
    was = {e.title: e.updated_parsed for e in generic.entries}
    assert updated["Beta session"] > was["Beta session"]
    assert updated["Small session"] == was["Small session"]


def test_the_channel_claims_no_wrong_language_and_each_has_a_feed(
    folder: Path, tmp_path: Path
) -> None:
    with running_server([folder], tmp_path / "cache") as server:
        english, _ = parsed(server.url + FEED)
    assert english["language"] == "en"
    (folder / "kleine.yaml").write_text(GERMAN)
    with running_server([folder], tmp_path / "cache") as server:
        mixed, mixed_generic = parsed(server.url + FEED)
        german, german_generic = parsed(server.url + FEED + "?language=de")
        only_english, _ = parsed(server.url + FEED + "?language=en")
        status, _, _ = get(server.url + FEED + "?language=<x>")
    assert "language" not in mixed and "language" not in mixed_generic.feed
    assert len(mixed["episodes"]) == 4
    assert german["language"] == "de" and german_generic.feed.language == "de"
    assert [e["title"] for e in german["episodes"]] == ["Kleine Sitzung"]
    assert only_english["language"] == "en" and len(only_english["episodes"]) == 3
    assert status == 400
    self_links = [link.href for link in german_generic.feed.links if link.rel == "self"]
    assert self_links == [server.url + FEED + "?language=de"]


def test_the_cover_is_a_generated_png_of_1400_to_3000_px(folder: Path, tmp_path: Path) -> None:
    if shutil.which("ffprobe") is None:
        pytest.skip("needs Debian's ffmpeg (apt-get install ffmpeg) to decode the PNG")
    with running_server([folder], tmp_path / "cache") as server:
        podcast, _ = parsed(server.url + FEED)
        status, headers, png = get(podcast["cover_url"])
    assert podcast["cover_url"] == server.url + "/artwork.png"
    assert status == 200 and headers["Content-Type"] == "image/png"
    image = tmp_path / "cover.png"
    image.write_bytes(png)
    probe = subprocess.run(
        ["ffprobe", "-v", "error", "-show_streams", "-of", "json", str(image)],
        capture_output=True,
        text=True,
        check=True,
    )
    (stream,) = json.loads(probe.stdout)["streams"]
    assert stream["codec_name"] == "png"
    assert stream["width"] == stream["height"]
    assert 1400 <= stream["width"] <= 3000
    pixels = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(image), "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
        capture_output=True,
        check=True,
    ).stdout
    assert len(pixels) == stream["width"] * stream["height"] * 3
    assert len(set(pixels[:: 3 * 97])) > 2  # a picture, not a blank square


def test_self_link_and_both_kinds_of_chapters(folder: Path, tmp_path: Path) -> None:
    with running_server([folder], tmp_path / "cache") as server:
        podcast, generic = parsed(server.url + FEED)
        episode = by_title(podcast)["Small session"]
        status, headers, body = get(episode["chapters_json_url"])
        _, _, timeline = get(server.url + "/sessions/alpha.json")
    assert [(link.rel, link.href) for link in generic.feed.links if link.rel == "self"] == [
        ("self", server.url + FEED)
    ]
    assert episode["chapters_json_url"] == server.url + "/sessions/alpha.chapters.json"
    assert status == 200 and headers["Content-Type"].startswith("application/json+chapters")
    chapters = json.loads(body)
    assert chapters["version"] == "1.2.0"
    plan = json.loads(timeline)
    assert [(c["title"], c["startTime"]) for c in chapters["chapters"]] == [
        (c["title"], c["start"]) for c in plan["chapters"]
    ]
    # Podlove's chapters say the same (podcastparser keeps whole seconds, feedparser ms).
    assert [c["title"] for c in episode["chapters"]] == [c["title"] for c in plan["chapters"]]
    entry = next(e for e in generic.entries if e.title == "Small session")
    podlove_s = [c["start_parsed"].total_seconds() for c in entry.psc_chapters["chapters"]]
    assert podlove_s == pytest.approx([c["start"] for c in plan["chapters"]], abs=0.0005)


def test_pub_dates_are_rfc_822_and_newest_first_in_library_order(
    folder: Path, tmp_path: Path
) -> None:
    with running_server([folder], tmp_path / "cache") as server:
        _, generic = parsed(server.url + FEED)
    dates = [parsedate_to_datetime(e.published) for e in generic.entries]
    assert [e.title for e in generic.entries] == ["Small session", "Beta session", "Gamma session"]
    assert dates == sorted(dates, reverse=True) and len(set(dates)) == 3
