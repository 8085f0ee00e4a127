"""The library as a podcast feed: RSS 2.0 with the tags podcast apps read.

What each item says, and why:

- ``guid``: ``voiceguide:ID``, the same for every version of a script, so an
  edit updates the episode instead of adding one; ``atom:updated`` dates it.
- ``pubDate``: when this server first offered the script (kept in its cache
  folder, see ``published``), one second apart in library order for scripts
  first seen together: every item has its own date, and it stays put.
- ``enclosure`` length: the rendered file's size, or before the first render
  an estimate from the plan (``estimated_mp3_bytes``, within 1 %); the
  duration is always the planned one, which the file has to the sample.
- chapters both ways: Podlove Simple Chapters inline, and Podcasting 2.0
  ``podcast:chapters`` pointing at JSON chapters served beside the audio.

The channel names its language only when every item shares one; each
language also has a feed of its own (``/feed.xml?language=de``).
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from functools import lru_cache
from struct import pack

import numpy as np

ITUNES = "http://www.itunes.com/dtds/podcast-1.0.dtd"
PSC = "http://podlove.org/simple-chapters"
ATOM = "http://www.w3.org/2005/Atom"
# Podcasting 2.0's first namespace URI: the spec names podcastindex.org's
# since, and requires clients to take this one as the same, but some (gPodder's
# podcastparser) know only this one.
PODCAST = "https://github.com/Podcastindex-org/podcast-namespace/blob/main/docs/1.0.md"
ET.register_namespace("itunes", ITUNES)
ET.register_namespace("psc", PSC)
ET.register_namespace("atom", ATOM)
ET.register_namespace("podcast", PODCAST)

# MPEG-1 Layer III, as export writes it.
_FRAME_SAMPLES = 1152
_ENCODER_DELAY_SAMPLES = 576
ARTWORK_PX = 1400  # the least Apple Podcasts accepts (1400-3000 px, square)


@dataclass(frozen=True)
class FeedItem:
    id: str
    title: str
    description: str | None
    language: str
    duration_s: float
    chapters: Sequence[tuple[str, float]]  # (title, start_s)
    audio_url: str
    page_url: str
    chapters_url: str
    size_bytes: int  # the file's, or estimated before the first render
    published: datetime
    updated: datetime


def clock_hms(seconds: float) -> str:
    """01:02:03 (whole seconds, half up)."""
    whole = int(seconds + 0.5)
    return f"{whole // 3600:02d}:{whole // 60 % 60:02d}:{whole % 60:02d}"


def normal_play_time(seconds: float) -> str:
    """Podlove's start format, HH:MM:SS.mmm."""
    ms = round(seconds * 1000)
    return f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d}.{ms % 1000:03d}"


def estimated_mp3_bytes(
    duration_samples: int,
    sample_rate_hz: int,
    bitrate_kbps: int,
    title: str,
    description: str | None,
    chapter_titles: Sequence[str],
) -> int:
    """The size of the MP3 `export` writes for a plan, within a few hundred bytes.

    Constant bitrate: LAME's delay and the Info frame in front, each frame
    144 * bitrate / rate bytes on average. The ID3v2.3 tag: its text frames in
    UTF-16 and mutagen's padding (1024 bytes and 0.1 % of the audio).
    """
    frames = math.ceil((duration_samples + _ENCODER_DELAY_SAMPLES) / _FRAME_SAMPLES) + 1
    audio = round(frames * 144_000 * bitrate_kbps / sample_rate_hz)

    def text_frame(text: str) -> int:  # header, encoding, BOM, UTF-16
        return 10 + 1 + 2 + len(text.encode("utf-16-le"))

    tag = 10 + text_frame(title) * 2 + text_frame("voiceguide")  # title, album, artist
    if description:
        tag += text_frame(description) + 3 + 4  # language, empty description
    ids = [f"ch{index}" for index in range(len(chapter_titles))]
    for element_id, chapter in zip(ids, chapter_titles, strict=True):
        tag += 10 + len(element_id) + 1 + 16 + text_frame(chapter)
    if ids:
        tag += 10 + 4 + 2 + sum(len(i) + 1 for i in ids)
    return tag + 1024 + audio // 1000 + audio


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, tag, attrs)
    if text is not None:
        element.text = text
    return element


def _rfc822(moment: datetime) -> str:
    return format_datetime(moment.astimezone(UTC), usegmt=True)


def podcast_feed(
    title: str, site_url: str, self_url: str, artwork_url: str, items: Sequence[FeedItem]
) -> bytes:
    rss = ET.Element("rss", {"version": "2.0"})
    channel = _sub(rss, "channel")
    _sub(channel, "title", title)
    _sub(channel, "link", site_url)
    _sub(channel, f"{{{ATOM}}}link", href=self_url, rel="self", type="application/rss+xml")
    _sub(channel, "description", "Spoken, exactly timed exercise sessions from voiceguide.")
    languages = {item.language for item in items}
    if len(languages) == 1:
        # A mixed library makes no claim: a wrong one files it under the wrong language.
        _sub(channel, "language", languages.pop())
    if items:
        _sub(channel, "lastBuildDate", _rfc822(max(item.updated for item in items)))
    _sub(channel, "generator", "voiceguide")
    _sub(channel, f"{{{ITUNES}}}author", "voiceguide")
    _sub(channel, f"{{{ITUNES}}}image", href=artwork_url)
    _sub(channel, f"{{{ITUNES}}}explicit", "false")
    # itunes:category names its category in an attribute called "text".
    ET.SubElement(channel, f"{{{ITUNES}}}category", {"text": "Health & Fitness"})
    for item in items:
        entry = _sub(channel, "item")
        _sub(entry, "title", item.title)
        _sub(entry, "link", item.page_url)
        _sub(entry, "description", item.description or item.title)
        _sub(entry, "guid", f"voiceguide:{item.id}", isPermaLink="false")
        _sub(entry, "pubDate", _rfc822(item.published))
        _sub(entry, f"{{{ATOM}}}updated", item.updated.astimezone(UTC).isoformat())
        _sub(
            entry,
            "enclosure",
            url=item.audio_url,
            length=str(item.size_bytes),
            type="audio/mpeg",
        )
        _sub(entry, f"{{{ITUNES}}}duration", clock_hms(item.duration_s))
        _sub(entry, f"{{{ITUNES}}}summary", item.description or item.title)
        json_type = "application/json+chapters"
        _sub(entry, f"{{{PODCAST}}}chapters", url=item.chapters_url, type=json_type)
        chapters = _sub(entry, f"{{{PSC}}}chapters", version="1.2")
        for chapter_title, start_s in item.chapters:
            _sub(
                chapters, f"{{{PSC}}}chapter", start=normal_play_time(start_s), title=chapter_title
            )
    return ET.tostring(rss, encoding="utf-8", xml_declaration=True)


def json_chapters(plan_chapters: Sequence[dict[str, object]]) -> dict[str, object]:
    """Podcasting 2.0 JSON chapters ("application/json+chapters") for a plan's chapters."""
    return {
        "version": "1.2.0",
        "chapters": [
            {"startTime": c["start"], "endTime": c["end"], "title": c["title"]}
            for c in plan_chapters
        ],
    }


@lru_cache(maxsize=4)
def artwork_png(size_px: int = ARTWORK_PX) -> bytes:
    """The feed's cover: a calm disc on a deep teal square, as a PNG.

    Drawn here rather than shipped, so it needs no image library: rows of
    RGB bytes, deflated, in the three chunks a PNG needs.
    """
    axis = (np.arange(size_px) + 0.5) / size_px - 0.5
    radius = np.hypot(axis[None, :], axis[:, None])
    background = np.array([18, 78, 84], dtype=np.float64)
    disc = np.array([238, 214, 160], dtype=np.float64)
    ring = np.array([92, 160, 150], dtype=np.float64)
    # Anti-aliased edges: a pixel's share of the disc and of the ring around it.
    pixel = 1 / size_px
    in_disc = np.clip((0.22 - radius) / pixel + 0.5, 0, 1)[..., None]
    in_ring = np.clip((0.012 - np.abs(radius - 0.32)) / pixel + 0.5, 0, 1)[..., None]
    image = background + (ring - background) * in_ring
    image = image + (disc - image) * in_disc
    rows = np.round(image).astype(np.uint8).reshape(size_px, size_px * 3)
    raw = np.hstack([np.zeros((size_px, 1), dtype=np.uint8), rows]).tobytes()  # filter 0

    def chunk(kind: bytes, data: bytes) -> bytes:
        return pack(">I", len(data)) + kind + data + pack(">I", zlib.crc32(kind + data))

    header = pack(">IIBBBBB", size_px, size_px, 8, 2, 0, 0, 0)  # 8-bit RGB
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )
