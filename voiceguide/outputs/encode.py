"""Encoding a session's audio files: MP3 (CBR, gapless) or 16-bit WAV, mono.

``write_audio_files`` cuts every file into parts and encodes the parts on
a pool of threads (LAME and numpy release the GIL), writing each file's
parts in order as they come back: a session encodes about as many times
faster as there are cores, and memory holds a few parts, never a file.
``AudioWriter`` is the same encoder fed one chunk at a time.
"""

from __future__ import annotations

import contextlib
import itertools
import threading
import wave
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

import numpy as np
import numpy.typing as npt

from voiceguide.core.threads import in_order
from voiceguide.errors import OutputError
from voiceguide.outputs import lametag, mp3
from voiceguide.outputs.atomic import display_path, output_error

SUPPORTED_SUFFIXES = (".mp3", ".wav")

# The MPEG-1 Layer III bitrates that keep the file gapless: below 64 kbit/s
# LAME resamples to 32 kHz (48, 56) or has no room for the Info frame (32, 40).
MP3_BITRATES_KBPS = (64, 80, 96, 112, 128, 160, 192, 224, 256, 320)

RangeRender = Callable[[int, int], Iterable[np.ndarray]]
"""The audio of one file between two session positions (samples), in chunks."""


def check_format(path: Path, sample_rate_hz: int, bitrate_kbps: int) -> str:
    """The file's suffix, once it is known this writer can make it."""
    suffix = path.suffix.lower()
    shown = display_path(path)
    if suffix not in SUPPORTED_SUFFIXES:
        supported = ", ".join(SUPPORTED_SUFFIXES)
        raise OutputError(f"cannot write {shown}: the file name must end in {supported}")
    if sample_rate_hz <= 0:
        raise ValueError(f"sample rate must be positive, not {sample_rate_hz}")
    if suffix != ".mp3":
        return suffix
    if sample_rate_hz not in mp3.MPEG1_RATES_HZ:
        rates = ", ".join(str(r) for r in mp3.MPEG1_RATES_HZ)
        raise OutputError(
            f"cannot write {shown}: MP3 here is written at {rates} Hz, not {sample_rate_hz}"
        )
    if bitrate_kbps not in MP3_BITRATES_KBPS:
        listed = ", ".join(str(b) for b in MP3_BITRATES_KBPS)
        raise OutputError(
            f"cannot write {shown}: MP3 takes a bitrate of {listed} kbit/s, not {bitrate_kbps}"
        )
    return suffix


def _open(path: Path) -> BinaryIO:
    # Python owns the file, so an OSError (a full disk, a missing folder)
    # reaches the error boundary intact.
    try:
        return open(path, "w+b")
    except OSError as exc:
        raise output_error(path, exc) from exc


class _Sink:
    """One file being written: its container (MP3 with Info frame, or WAV)."""

    def __init__(self, path: Path, rate_hz: int, bitrate_kbps: int) -> None:
        self.path = path
        self.is_mp3 = check_format(path, rate_hz, bitrate_kbps) == ".mp3"
        self.file = _open(path)
        self.mp3: mp3.Mp3File | None = None
        self.wav: wave.Wave_write | None = None
        try:
            if self.is_mp3:
                self.mp3 = mp3.Mp3File(self.file, rate_hz, bitrate_kbps)
            else:
                self.wav = wave.open(self.file, "wb")  # noqa: SIM115
                self.wav.setnchannels(1)
                self.wav.setsampwidth(2)
                self.wav.setframerate(rate_hz)
        except OSError as exc:
            self.abort()
            raise output_error(path, exc) from exc

    def add(self, part: mp3.EncodedPart | bytes) -> None:
        """Add the next part: MP3 frames from ``encode_part``, or WAV samples."""
        try:
            if isinstance(part, bytes):
                assert self.wav is not None
                self.wav.writeframesraw(part)
            else:
                assert self.mp3 is not None
                self.mp3.append(part)
        except OSError as exc:
            raise output_error(self.path, exc) from exc

    def add_frames(self, frames: bytes, count: int) -> None:
        """Add ``count`` whole MP3 frames of the one stream this file holds."""
        assert self.mp3 is not None
        try:
            self.mp3.append_frames(frames, count)
        except OSError as exc:
            raise output_error(self.path, exc) from exc

    def finish(self) -> None:
        try:
            if self.mp3 is not None:
                self.mp3.finish()
            if self.wav is not None:
                self.wav.close()  # writes the sizes into the header
            self.file.close()
        except OSError as exc:
            self.abort()
            raise output_error(self.path, exc) from exc

    def abort(self) -> None:
        # The file is abandoned (its temporary is removed): a second error
        # while closing it would only hide the first.
        if self.wav is not None:
            with contextlib.suppress(Exception):
                self.wav.close()
        with contextlib.suppress(Exception):
            self.file.close()


@dataclass(frozen=True)
class AudioJob:
    """One file to write: the session's audio from ``start_sample`` to ``stop_sample``."""

    path: Path
    start_sample: int
    stop_sample: int
    render: RangeRender
    # Spans of digital silence in the session, where an MP3 may be joined.
    silences: Sequence[tuple[int, int]] = ()


@dataclass(frozen=True)
class _Part:
    job: int
    start_sample: int
    stop_sample: int
    last: bool  # of its file: the parts before it are joined to the next


def _parts(
    job_index: int, job: AudioJob, is_mp3: bool, rate_hz: int, part_samples: int
) -> list[_Part]:
    if is_mp3:
        spans = mp3.plan_parts(
            job.start_sample, job.stop_sample, job.silences, rate_hz, part_samples
        )
    else:
        step = part_samples
        edges = [*range(job.start_sample, job.stop_sample, step), job.stop_sample]
        spans = list(itertools.pairwise(edges)) or [(job.start_sample,) * 2]
    return [_Part(job_index, a, b, last=i == len(spans) - 1) for i, (a, b) in enumerate(spans)]


class _Cancelled(Exception):
    pass


def write_audio_files(
    jobs: Sequence[AudioJob],
    rate_hz: int,
    bitrate_kbps: int,
    workers: int,
    progress: Callable[[int, int], None] | None = None,
    part_s: float = mp3.PART_S,
) -> None:
    """Encode every job's audio into its file, parts in parallel on ``workers`` threads.

    MP3 parts are about ``part_s`` long, joined where the job's silences allow.

    The files are complete when this returns; on an error, or Ctrl-C, the
    threads stop after their current chunk and the caller discards the files.
    """
    sinks: list[_Sink] = []
    stop = threading.Event()
    done_samples = [0]
    lock = threading.Lock()

    def counted(part: _Part) -> Iterator[np.ndarray]:
        for chunk in jobs[part.job].render(part.start_sample, part.stop_sample):
            if stop.is_set():
                raise _Cancelled
            with lock:
                done_samples[0] += len(chunk)
            yield chunk

    def encode(part: _Part) -> mp3.EncodedPart | bytes:
        if sinks[part.job].is_mp3:
            return mp3.encode_part(counted(part), rate_hz, bitrate_kbps, joined=not part.last)
        return b"".join(mp3.pcm16(chunk) for chunk in counted(part))

    total = sum(job.stop_sample - job.start_sample for job in jobs)
    pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="encode")
    try:
        for job in jobs:
            sinks.append(_Sink(job.path, rate_hz, bitrate_kbps))
        parts = [
            part
            for index, job in enumerate(jobs)
            for part in _parts(index, job, sinks[index].is_mp3, rate_hz, round(part_s * rate_hz))
        ]
        for part, future in in_order(pool, max(1, workers), encode, parts):
            while True:
                try:
                    encoded = future.result(timeout=0.25)
                    break
                except TimeoutError:
                    if progress is not None:
                        progress(min(done_samples[0], total), total)
            sinks[part.job].add(encoded)
            if part.last:
                sinks[part.job].finish()
        if progress is not None:
            progress(total, total)
    except BaseException:
        stop.set()
        for sink in sinks:
            sink.abort()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


class AudioWriter:
    """Writes float32 mono chunks to ``path`` as they come (one encoder, one core)."""

    def __init__(self, path: Path, sample_rate_hz: int, *, bitrate_kbps: int = 128) -> None:
        self.path = Path(path)
        self.sample_rate_hz = sample_rate_hz
        self.bitrate_kbps = bitrate_kbps
        self.samples_written = 0
        self._sink: _Sink | None = _Sink(self.path, sample_rate_hz, bitrate_kbps)
        self._lame = mp3.LameStream(sample_rate_hz, bitrate_kbps) if self._sink.is_mp3 else None
        self._pending = bytearray()

    def __enter__(self) -> AudioWriter:
        return self

    def write(self, chunk: npt.ArrayLike) -> None:
        if self._sink is None:
            raise ValueError(f"{self.path} is already closed")
        samples = np.asarray(chunk, dtype=np.float32)
        if samples.ndim != 1:
            raise ValueError(f"expected a mono chunk (1-D), got shape {samples.shape}")
        if samples.size == 0:
            return
        if self._lame is None:
            self._sink.add(mp3.pcm16(samples))
        else:
            self._pending += self._lame.encode(samples)
            # Frames go out in large batches: the CRC is cheap per megabyte, not per call.
            if len(self._pending) >= 1 << 20:
                self._add_frames(final=False)
        self.samples_written += samples.size

    def _add_frames(self, final: bool) -> None:
        """Hand the whole frames LAME has given so far to the file; at the end
        (``final``) that must be everything."""
        assert self._sink is not None
        offsets, whole = lametag.whole_frames(self._pending)
        if final and whole != len(self._pending):
            raise ValueError(f"LAME's stream ends inside a frame, at byte {whole}")
        self._sink.add_frames(bytes(self._pending[:whole]), len(offsets))
        del self._pending[:whole]

    def close(self) -> None:
        """Finishes the file (MP3 padding and Info frame, WAV sizes); safe to repeat."""
        sink = self._sink
        if sink is None:
            return
        try:
            if self._lame is not None and sink.mp3 is not None:
                self._pending += self._lame.flush()
                self._add_frames(final=True)
                sink.mp3.samples = self.samples_written
        except BaseException:
            sink.abort()
            raise
        finally:
            self._sink = None
        sink.finish()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is None:
            self.close()
        elif self._sink is not None:
            self._sink.abort()
            self._sink = None
