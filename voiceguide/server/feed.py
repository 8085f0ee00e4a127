"""The library as a podcast feed (RSS 2.0, iTunes tags, Podlove Simple Chapters)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime

ITUNES = "http://www.itunes.com/dtds/podcast-1.0.dtd"
PSC = "http://podlove.org/simple-chapters"
ET.register_namespace("itunes", ITUNES)
ET.register_namespace("psc", PSC)


@dataclass(frozen=True)
class FeedItem:
    id: str
    title: str
    description: str | None
    duration_s: float
    chapters: Sequence[tuple[str, float]]  # (title, start_s)
    audio_url: str
    page_url: str
    size_bytes: int  # 0 while the audio has not been rendered yet
    version: str  # changes when the script does
    published: datetime


def clock_hms(seconds: float) -> str:
    """01:02:03 (whole seconds, half up)."""
    whole = int(seconds + 0.5)
    return f"{whole // 3600:02d}:{whole // 60 % 60:02d}:{whole % 60:02d}"


def normal_play_time(seconds: float) -> str:
    """Podlove's start format, HH:MM:SS.mmm."""
    ms = round(seconds * 1000)
    return f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d}.{ms % 1000:03d}"


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, tag, attrs)
    if text is not None:
        element.text = text
    return element


def podcast_feed(title: str, site_url: str, items: Sequence[FeedItem]) -> bytes:
    rss = ET.Element("rss", {"version": "2.0"})
    channel = _sub(rss, "channel")
    _sub(channel, "title", title)
    _sub(channel, "link", site_url)
    _sub(channel, "description", "Spoken, exactly timed exercise sessions from voiceguide.")
    _sub(channel, "language", "en")
    _sub(channel, "generator", "voiceguide")
    _sub(channel, f"{{{ITUNES}}}author", "voiceguide")
    _sub(channel, f"{{{ITUNES}}}explicit", "false")
    # itunes:category names its category in an attribute called "text".
    ET.SubElement(channel, f"{{{ITUNES}}}category", {"text": "Health & Fitness"})
    for item in items:
        entry = _sub(channel, "item")
        _sub(entry, "title", item.title)
        _sub(entry, "link", item.page_url)
        _sub(entry, "description", item.description or item.title)
        _sub(entry, "guid", f"voiceguide:{item.id}:{item.version}", isPermaLink="false")
        _sub(entry, "pubDate", format_datetime(item.published.astimezone(UTC), usegmt=True))
        _sub(
            entry,
            "enclosure",
            url=item.audio_url,
            length=str(item.size_bytes),
            type="audio/mpeg",
        )
        _sub(entry, f"{{{ITUNES}}}duration", clock_hms(item.duration_s))
        _sub(entry, f"{{{ITUNES}}}summary", item.description or item.title)
        chapters = _sub(entry, f"{{{PSC}}}chapters", version="1.2")
        for chapter_title, start_s in item.chapters:
            _sub(
                chapters, f"{{{PSC}}}chapter", start=normal_play_time(start_s), title=chapter_title
            )
    return ET.tostring(rss, encoding="utf-8", xml_declaration=True)
