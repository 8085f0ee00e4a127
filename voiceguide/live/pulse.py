"""Playback through a PulseAudio (or PipeWire) server's simple API: the only
module that knows libpulse.

Why not miniaudio here: its PulseAudio stream can only take a key into
account after what the server already holds (up to 1.5 s at the period the
busy-machine tests need), and stopping it loses part of what it took. This
stream keeps a second queued in the server, so a busy machine never starves
it, and a key ``cut``s it: the server drops what it has not played (it says
how much), the player moves back by exactly that, and the key acts on the
sample being heard. A key is heard within a few tens of milliseconds.

libpulse-simple comes with every PulseAudio and PipeWire installation; where
it is missing, or no server answers, ``device`` plays through miniaudio.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

# What the server holds: a busy machine may keep the writer from running this
# long without a gap. A cut drops it, so it costs no reaction time.
QUEUED_MS = 1000
# Written at a time; the writer sees a cut between two writes.
CHUNK_MS = 20
# How long a cut waits for the writer to answer before playing on uncut.
CUT_TIMEOUT_S = 1.0

_PLAYBACK = 1
_FLOAT32LE = 5
_DEFAULT = 0xFFFFFFFF

Pull = Callable[[int], np.ndarray]
Dropped = Callable[[int], None]


class _SampleSpec(ctypes.Structure):
    _fields_ = [("format", ctypes.c_int), ("rate", ctypes.c_uint32), ("channels", ctypes.c_uint8)]


class _BufferAttr(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_uint32) for name in ("maxlength", "tlength", "prebuf", "minreq", "fragsize")
    ]


def _library() -> Any | None:
    name = ctypes.util.find_library("pulse-simple") or "libpulse-simple.so.0"
    try:
        lib = ctypes.CDLL(name)
    except OSError:
        return None
    error = ctypes.POINTER(ctypes.c_int)
    lib.pa_simple_new.restype = ctypes.c_void_p
    lib.pa_simple_new.argtypes = [
        ctypes.c_char_p,
        ctypes.c_char_p,
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_char_p,
        ctypes.POINTER(_SampleSpec),
        ctypes.c_void_p,
        ctypes.POINTER(_BufferAttr),
        error,
    ]
    lib.pa_simple_write.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t, error]
    lib.pa_simple_flush.argtypes = [ctypes.c_void_p, error]
    lib.pa_simple_drain.argtypes = [ctypes.c_void_p, error]
    lib.pa_simple_get_latency.argtypes = [ctypes.c_void_p, error]
    lib.pa_simple_get_latency.restype = ctypes.c_uint64
    lib.pa_simple_free.argtypes = [ctypes.c_void_p]
    return lib


def _server_running() -> bool:
    """Whether a server is there to answer: libpulse would otherwise start one
    (autospawn), and leave it running after `play` ends."""
    if os.environ.get("PULSE_SERVER"):
        return True
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    return runtime is not None and Path(runtime, "pulse", "native").exists()


class PulseOutput:
    """A mono float32 stream on a PulseAudio server, fed by a writer thread
    that asks ``pull`` for its samples; ``cut`` makes a change heard at once."""

    backend = "PulseAudio"

    def __init__(self, lib: Any, stream: int, sample_rate_hz: int) -> None:
        self._lib = lib
        self._stream: int | None = stream
        self.rate = sample_rate_hz
        self.buffer_frames = sample_rate_hz * QUEUED_MS // 1000
        self._chunk = sample_rate_hz * CHUNK_MS // 1000
        self._pull: Pull | None = None
        self._dropped: Dropped = lambda frames: None
        self._stop = threading.Event()
        self._cut_asked = threading.Event()
        self._cut_done = threading.Event()
        self._go = threading.Event()
        self._thread = threading.Thread(target=self._write_loop, name="pulse", daemon=True)
        self._cutting = False
        # The server's latency after the last write, and when it was read.
        self._latency = (0, 0.0)

    @classmethod
    def open(cls, sample_rate_hz: int, sink: str | None = None) -> PulseOutput | None:
        """The stream, or None where there is no libpulse or no server answers."""
        lib = _library() if _server_running() else None
        if lib is None:
            return None
        spec = _SampleSpec(_FLOAT32LE, sample_rate_hz, 1)
        frame_bytes = 4
        chunk_bytes = sample_rate_hz * CHUNK_MS // 1000 * frame_bytes
        attr = _BufferAttr(
            _DEFAULT,
            sample_rate_hz * QUEUED_MS // 1000 * frame_bytes,
            # Starts (and starts again after a cut) as soon as a chunk is there.
            chunk_bytes,
            chunk_bytes,
            _DEFAULT,
        )
        error = ctypes.c_int(0)
        stream = lib.pa_simple_new(
            None,
            b"voiceguide",
            _PLAYBACK,
            sink.encode() if sink else None,
            b"session",
            ctypes.byref(spec),
            None,
            ctypes.byref(attr),
            ctypes.byref(error),
        )
        if not stream:
            return None
        return cls(lib, stream, sample_rate_hz)

    def on_dropped(self, dropped: Dropped) -> None:
        """``dropped(frames)``, on the writer's thread, after a cut dropped that
        many of the last frames pulled: the player takes them back."""
        self._dropped = dropped

    def start(self, pull: Pull) -> None:
        self._pull = pull
        self._thread.start()

    def _write_loop(self) -> None:
        assert self._pull is not None
        error = ctypes.c_int(0)
        while not self._stop.is_set():
            if self._cut_asked.is_set():
                self._cut()
                continue
            samples = np.ascontiguousarray(self._pull(self._chunk), dtype=np.float32)
            if self._lib.pa_simple_write(
                self._stream, samples.ctypes.data, samples.nbytes, ctypes.byref(error)
            ):
                # The server went away: the player stops moving, and the
                # session says the device stopped taking sound.
                return
            latency_us = self._lib.pa_simple_get_latency(self._stream, ctypes.byref(error))
            self._latency = (latency_us, time.monotonic())

    def unheard_frames(self) -> int:
        """What the server holds that has not been heard yet."""
        latency_us, at_s = self._latency
        left_s = latency_us / 1e6 - (time.monotonic() - at_s)
        return max(0, round(left_s * self.rate))

    def _cut(self) -> None:
        """On the writer's thread, between two writes: what the server has not
        played is dropped, and taken back from the player, before anything new."""
        error = ctypes.c_int(0)
        before_us = self._lib.pa_simple_get_latency(self._stream, ctypes.byref(error))
        self._lib.pa_simple_flush(self._stream, ctypes.byref(error))
        # What the sink had already taken plays on: it is not dropped.
        after_us = self._lib.pa_simple_get_latency(self._stream, ctypes.byref(error))
        dropped = max(0, round((before_us - after_us) * self.rate / 1e6))
        self._latency = (after_us, time.monotonic())
        self._dropped(dropped)
        self._cut_asked.clear()
        self._cut_done.set()
        self._go.wait(CUT_TIMEOUT_S)
        self._go.clear()

    @contextmanager
    def cut(self) -> Iterator[None]:
        """Within it, the server holds nothing of ours that is not being heard,
        and nothing new is pulled: a change made here is heard at once."""
        if self._cutting or not self._thread.is_alive():
            yield
            return
        self._cutting = True
        self._cut_done.clear()
        self._cut_asked.set()
        self._cut_done.wait(CUT_TIMEOUT_S)
        try:
            yield
        finally:
            self._cutting = False
            self._go.set()

    def close(self) -> None:
        self._stop.set()
        self._go.set()
        if self._thread.is_alive():
            self._thread.join(timeout=2)
        if self._stream is not None:
            self._lib.pa_simple_free(self._stream)
            self._stream = None
