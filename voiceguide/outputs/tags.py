"""Title, album, artist, comment, track number and chapters as ID3 tags.

The tags are ID3v2.3 rather than 2.4: Windows Explorer and Media Player
before Windows 10, many car stereos and some podcast apps read only 2.3,
and 2.4 offers nothing needed here. Its one gain, UTF-8 text, is replaced by
UTF-16, which every 2.3 reader handles; mutagen converts on saving. The
chapter frames (CHAP, CTOC) are defined for both versions.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mutagen import MutagenError
from mutagen.id3 import CHAP, COMM, CTOC, ID3, TALB, TIT2, TPE1, TRCK, CTOCFlags, Encoding
from mutagen.id3._tags import save_frame
from mutagen.wave import WAVE, _WaveID3

from voiceguide.core.model import Timeline
from voiceguide.errors import OutputError
from voiceguide.outputs.atomic import display_path, output_error
from voiceguide.outputs.vtt import ms_from_samples

# CHAP's byte offsets are unused: the times locate the chapter.
_NO_OFFSET = 0xFFFFFFFF
# A CTOC frame counts its entries in one byte.
_MAX_TOC_ENTRIES = 255


@dataclass(frozen=True)
class Tags:
    title: str
    album: str | None
    artist: str
    comment: str | None
    track: tuple[int, int] | None  # (number, total)
    chapters: tuple[tuple[str, int, int], ...]  # (title, start_ms, end_ms)


def chapters_from_timeline(timeline: Timeline) -> tuple[tuple[str, int, int], ...]:
    rate = timeline.sample_rate_hz
    return tuple(
        (c.title, ms_from_samples(c.start_sample, rate), ms_from_samples(c.end_sample, rate))
        for c in timeline.chapters
    )


def _in_order(frames: ID3, config: Any) -> bytearray:
    # mutagen sorts the frames it does not rank by their size in bytes, so
    # CHAP frames would land out of time order, and players that read
    # chapters in file order (ffprobe among them) would list them shuffled.
    # Its ``_write`` is the one place that joins the frames.
    return bytearray().join(save_frame(frame, config=config) for frame in frames.values())


class _ID3InOrder(ID3):
    def _write(self, config: Any) -> bytearray:
        return _in_order(self, config)


class _WaveID3InOrder(_WaveID3):
    def _write(self, config: Any) -> bytearray:
        return _in_order(self, config)


def _frames(tags: Tags) -> ID3:
    utf8 = Encoding.UTF8
    id3 = _ID3InOrder()
    id3.add(TIT2(encoding=utf8, text=[tags.title]))
    if tags.album is not None:
        id3.add(TALB(encoding=utf8, text=[tags.album]))
    id3.add(TPE1(encoding=utf8, text=[tags.artist]))
    if tags.comment is not None:
        id3.add(COMM(encoding=utf8, lang="eng", desc="", text=[tags.comment]))
    if tags.track is not None:
        number, total = tags.track
        if not 1 <= number <= total:
            raise ValueError(f"track {number} of {total} is out of range")
        id3.add(TRCK(encoding=utf8, text=[f"{number}/{total}"]))
    ids = [f"ch{index}" for index in range(len(tags.chapters))]
    for element_id, (title, start_ms, end_ms) in zip(ids, tags.chapters, strict=True):
        if not 0 <= start_ms <= end_ms:
            raise ValueError(f"chapter {title!r} runs from {start_ms} ms to {end_ms} ms")
        id3.add(
            CHAP(
                element_id=element_id,
                start_time=start_ms,
                end_time=end_ms,
                start_offset=_NO_OFFSET,
                end_offset=_NO_OFFSET,
                sub_frames=[TIT2(encoding=utf8, text=[title])],
            )
        )
    if len(ids) > _MAX_TOC_ENTRIES:
        # A table of contents counts its entries in one byte: a longer session
        # gets a top-level table of ordered sub-tables (ID3v2 chapters allow
        # nesting), each of at most 255 chapters.
        groups = [ids[i : i + _MAX_TOC_ENTRIES] for i in range(0, len(ids), _MAX_TOC_ENTRIES)]
        ids = [f"toc{index}" for index in range(len(groups))]
        for element_id, group in zip(ids, groups, strict=True):
            id3.add(
                CTOC(
                    element_id=element_id,
                    flags=CTOCFlags.ORDERED,
                    child_element_ids=group,
                    sub_frames=[],
                )
            )
    if ids:
        id3.add(
            CTOC(
                element_id="toc",
                flags=CTOCFlags.TOP_LEVEL | CTOCFlags.ORDERED,
                child_element_ids=ids,
                sub_frames=[],
            )
        )
    return id3


def write_tags(path: Path, tags: Tags) -> None:
    """Replaces any ID3 tag in the MP3 or WAV file at ``path`` with ``tags``."""
    path = Path(path)
    frames = _frames(tags)
    suffix = path.suffix.lower()
    try:
        if suffix == ".mp3":
            # A fresh tag written at the front; the audio frames, and with them
            # the gapless LAME header, are moved along untouched.
            frames.save(path, v2_version=3)
        elif suffix == ".wav":
            wave = WAVE(path)
            in_order = _WaveID3InOrder()
            for frame in frames.values():
                in_order.add(frame)
            # Replaces any tag the file had; mutagen types the attribute as None.
            wave.tags = in_order  # type: ignore[assignment]
            wave.save(v2_version=3)
        else:
            raise OutputError(f"cannot tag {display_path(path)}: only .mp3 and .wav files")
    except OSError as exc:
        raise output_error(path, exc) from exc
    except MutagenError as exc:
        # mutagen wraps the OSErrors of its file access in its own exception.
        cause = exc.__cause__ or exc.__context__
        if isinstance(cause, OSError):
            raise output_error(path, cause) from exc
        raise OutputError(f"cannot tag {display_path(path)}: {exc}") from exc
