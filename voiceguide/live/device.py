"""The sound device, through miniaudio: the only module that knows it.

miniaudio loads PulseAudio, ALSA, JACK, CoreAudio or WASAPI at run time. Its
Null backend, which plays into nothing, is never used: no device is an error
that says so.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Generator, Iterator
from typing import Any

import numpy as np

from ..errors import AudioDeviceError, UsageError
from .pulse import PulseOutput

# miniaudio's PulseAudio backend asks the server for one period of buffering
# (tlength), whatever the number of periods, and is asked for a whole period
# at a time when about that much has drained: the slack before an underrun is
# the period less about 70 ms (measured by delaying one callback: 130 ms at
# 200 ms periods, more than 400 ms at 500 ms). On a 2-core machine kept busy
# by two other processes (and other users: load 7-8), a 3-minute session lost
# 0.05-0.25 s to underruns with 200 ms periods, and still 50-100 ms in one run
# of three with 500 ms; each underrun also waits for the server to refill its
# pre-buffer. 1000 ms periods stall: the server's target is then less than a
# period, and the callback is never asked again. Controls take effect after
# what is buffered: space takes up to a period to be heard (bench/keys.py).
# Smaller periods were tried for quicker keys: 40 ms and 100 ms both dropped
# out on the busy machine (39 ms and 219 ms of silence while the session was
# prepared). Stopping the stream at once (ma_device_stop corks it) silences it
# within a few ms, but on resuming part of what the device had taken was gone
# (about a period on the tests' null sink): the session skipped.
PERIOD_MS = 750
PERIODS = 2
# The microphone is read in chunks this long: the recogniser works on 10 ms frames.
CAPTURE_PERIOD_MS = 30
NO_DEVICE_HINT = (
    "use `voiceguide export` to write an audio file, or `voiceguide serve` to play "
    "it on another device"
)

Pull = Callable[[int], np.ndarray]

# ALSA's null PCM ("Discard all samples (playback) or generate zero samples
# (capture)") throws every sample away as fast as it is given: a session
# "played" there ends in seconds with nothing heard. It is never offered.
# (PulseAudio's null sink is not one of these: its monitor can be recorded.)
_DISCARDING_PREFIXES = ("discard all samples",)


def discards_sound(name: str) -> bool:
    """Whether a device of this name throws what it is given away unheard."""
    return name.strip().lower().startswith(_DISCARDING_PREFIXES)


def _miniaudio() -> Any:
    try:
        import miniaudio
    except ImportError:
        raise AudioDeviceError(
            "live playback needs the miniaudio package: pip install miniaudio"
        ) from None
    return miniaudio


def _backends(miniaudio: Any) -> list[Any]:
    return [b for b in miniaudio.Backend if b is not miniaudio.Backend.NULL]


@contextlib.contextmanager
def _quiet_stderr() -> Iterator[None]:
    """ALSA prints its probing failures on file descriptor 2; they are not for people."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def _no_device(exc: Exception) -> AudioDeviceError:
    code = exc.args[1] if len(exc.args) > 1 else None
    reason = "no sound server is running" if code == -401 else "no audio output device was found"
    return AudioDeviceError(f"cannot play here: {reason}; {NO_DEVICE_HINT}")


def _only_discarding() -> AudioDeviceError:
    return AudioDeviceError(
        "cannot play here: every audio output here throws the sound away "
        f"(ALSA's null device); {NO_DEVICE_HINT}"
    )


def _refuse_only_discarding(names: list[str]) -> None:
    """Refuse when every output discards sound: the default is then one of them,
    and a session "played" with no --device would end in seconds, unheard."""
    if names and all(discards_sound(name) for name in names):
        raise _only_discarding()


def list_devices() -> tuple[str, list[str]]:
    """The backend in use and its playback devices' names."""
    miniaudio = _miniaudio()
    try:
        with _quiet_stderr():
            devices = miniaudio.Devices(_backends(miniaudio))
            names = [str(d["name"]) for d in devices.get_playbacks()]
    except miniaudio.MiniaudioError as exc:
        raise _no_device(exc) from None
    if devices.backend.lower() == "null":
        raise _no_device(RuntimeError())
    _refuse_only_discarding(names)
    return devices.backend, [name for name in names if not discards_sound(name)]


def list_inputs() -> list[str]:
    """The capture devices' names (microphones, a sink's monitor); none when
    there is no sound server or no input."""
    miniaudio = _miniaudio()
    try:
        with _quiet_stderr():
            devices = miniaudio.Devices(_backends(miniaudio))
            if devices.backend.lower() == "null":
                return []
            names = [str(d["name"]) for d in devices.get_captures()]
    except miniaudio.MiniaudioError:
        return []
    return [name for name in names if not discards_sound(name)]


class Input:
    """A mono 16-bit capture stream at ``sample_rate_hz``, handed to ``take`` in
    small chunks on the device's thread."""

    def __init__(
        self, sample_rate_hz: int, take: Callable[[bytes], None], device_name: str | None = None
    ) -> None:
        miniaudio = _miniaudio()
        try:
            with _quiet_stderr():
                device_id = None
                if device_name:
                    found = miniaudio.Devices(_backends(miniaudio)).get_captures()
                    exact = [d for d in found if d["name"] == device_name]
                    partial = [d for d in found if device_name.lower() in str(d["name"]).lower()]
                    chosen = exact or partial[:1]
                    if not chosen:
                        known = ", ".join(repr(str(d["name"])) for d in found) or "none"
                        raise AudioDeviceError(
                            f"no microphone named '{device_name}' (inputs: {known})"
                        )
                    device_id = chosen[0]["id"]
                self._device = miniaudio.CaptureDevice(
                    input_format=miniaudio.SampleFormat.SIGNED16,
                    nchannels=1,
                    sample_rate=sample_rate_hz,
                    buffersize_msec=CAPTURE_PERIOD_MS,
                    device_id=device_id,
                    backends=_backends(miniaudio),
                    app_name="voiceguide",
                )
                if self._device.backend.lower() == "null":
                    raise AudioDeviceError("no microphone: there is no sound server")
                generator = _capture(take)
                next(generator)
                self._device.start(generator)
        except miniaudio.MiniaudioError as exc:
            raise AudioDeviceError(f"no microphone could be opened ({exc.args[0]})") from None

    def close(self) -> None:
        self._device.close()


def _capture(take: Callable[[bytes], None]) -> Generator[None, bytes, None]:
    while True:
        take(bytes((yield)))


class Output:
    """A mono float32 playback stream that asks ``pull`` for its samples."""

    def __init__(self, sample_rate_hz: int, device_name: str | None = None) -> None:
        miniaudio = _miniaudio()
        try:
            with _quiet_stderr():
                device_id = self._find(miniaudio, device_name) if device_name else None
                self._device = miniaudio.PlaybackDevice(
                    output_format=miniaudio.SampleFormat.FLOAT32,
                    nchannels=1,
                    sample_rate=sample_rate_hz,
                    buffersize_msec=PERIOD_MS,
                    callback_periods=PERIODS,
                    device_id=device_id,
                    backends=_backends(miniaudio),
                    app_name="voiceguide",
                )
                if device_name is None:
                    # Once open, so a missing sound server is said as such first.
                    playbacks = miniaudio.Devices(_backends(miniaudio)).get_playbacks()
                    names = [str(d["name"]) for d in playbacks]
                    if names and all(discards_sound(name) for name in names):
                        self._device.close()
                        raise _only_discarding()
        except miniaudio.MiniaudioError as exc:
            raise _no_device(exc) from None
        self.backend: str = self._device.backend
        # What the server holds of ours at most, and what each callback asks for.
        self.buffer_frames = sample_rate_hz * PERIOD_MS // 1000

    @staticmethod
    def _find(miniaudio: Any, name: str) -> Any:
        devices = miniaudio.Devices(_backends(miniaudio)).get_playbacks()
        exact = [d for d in devices if d["name"] == name]
        partial = [d for d in devices if name.lower() in str(d["name"]).lower()]
        for device in exact or partial[:1]:
            if discards_sound(str(device["name"])):
                raise UsageError(
                    f"the audio device '{device['name']}' throws the sound away; "
                    "choose one from `voiceguide devices`"
                )
            return device["id"]
        kept = [d for d in devices if not discards_sound(str(d["name"]))]
        known = ", ".join(repr(str(d["name"])) for d in kept) or "none"
        raise AudioDeviceError(f"no audio device named '{name}' (devices: {known})")

    def start(self, pull: Pull) -> None:
        miniaudio = _miniaudio()
        generator = _feed(pull)
        next(generator)
        miniaudio = _miniaudio()
        try:
            self._device.start(generator)
        except miniaudio.MiniaudioError:
            # Opened, then gone before it started: its sound server ended or
            # it was unplugged in between (miniaudio says only "failed", -1).
            raise AudioDeviceError(
                "cannot play here: the audio device would not start (unplugged, or its "
                f"sound server ended); {NO_DEVICE_HINT}"
            ) from None

    def on_dropped(self, dropped: Callable[[int], None]) -> None:
        """Nothing is ever dropped: what the device took plays."""

    def unheard_frames(self) -> int:
        """Not known: miniaudio does not say (the player's position is then
        what the device took, up to a period ahead of the ear)."""
        return 0

    @contextlib.contextmanager
    def cut(self) -> Iterator[None]:
        """A change made here is heard after what the device holds (see PERIOD_MS)."""
        yield

    def close(self) -> None:
        self._device.close()


def open_output(sample_rate_hz: int, device_name: str | None = None) -> Output | PulseOutput:
    """Where a PulseAudio or PipeWire server plays, its own stream (keys act at
    once: live/pulse.py); elsewhere miniaudio's."""
    sink = None
    if device_name is not None:
        sink = _pulse_sink(device_name)
        if sink is None:
            return Output(sample_rate_hz, device_name)
    return PulseOutput.open(sample_rate_hz, sink) or Output(sample_rate_hz, device_name)


def _pulse_sink(device_name: str) -> str | None:
    """The PulseAudio sink's own name for a device ``voiceguide devices`` lists,
    or None when it is no PulseAudio device (miniaudio then opens it, and says
    what is wrong with the name)."""
    miniaudio = _miniaudio()
    try:
        with _quiet_stderr():
            devices = miniaudio.Devices(_backends(miniaudio))
            if "pulse" not in devices.backend.lower():
                return None
            found = devices.get_playbacks()
    except miniaudio.MiniaudioError:
        return None
    exact = [d for d in found if d["name"] == device_name]
    partial = [d for d in found if device_name.lower() in str(d["name"]).lower()]
    for device in exact or partial[:1]:
        if discards_sound(str(device["name"])):
            return None
        # The id is a union whose PulseAudio member, a sink's name, is its start.
        return str(miniaudio.ffi.string(miniaudio.ffi.cast("char *", device["id"])).decode())
    return None


def _feed(pull: Pull) -> Generator[bytes, int, None]:
    frames = yield b""
    while True:
        frames = yield pull(frames).tobytes()
