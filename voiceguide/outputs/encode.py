"""Streaming mono audio into an MP3 or WAV file.

MP3 goes through pedalboard's LAME encoder, which writes the LAME/Info header
with the encoder delay and padding: gapless decoders then return exactly the
samples written, which the session's timing depends on.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

import numpy as np
import numpy.typing as npt
from pedalboard.io import AudioFile, WriteableAudioFile

from voiceguide.errors import OutputError
from voiceguide.outputs.atomic import display_path, output_error

SUPPORTED_SUFFIXES = (".mp3", ".wav")

# The MPEG-1 Layer III bitrates that pedalboard accepts as a quality value.
MP3_BITRATES_KBPS = (32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320)
# MPEG-2 and 2.5 (the low sample rates) stop at 160 kbit/s.
_MP3_LOW_RATES_HZ = (8000, 11025, 12000, 16000, 22050, 24000)
_MP3_RATES_HZ = (*_MP3_LOW_RATES_HZ, 32000, 44100, 48000)


def _check_format(path: Path, sample_rate_hz: int, bitrate_kbps: int) -> str:
    suffix = path.suffix.lower()
    shown = display_path(path)
    if suffix not in SUPPORTED_SUFFIXES:
        supported = ", ".join(SUPPORTED_SUFFIXES)
        raise OutputError(f"cannot write {shown}: the file name must end in {supported}")
    if sample_rate_hz <= 0:
        raise ValueError(f"sample rate must be positive, not {sample_rate_hz}")
    if suffix != ".mp3":
        return suffix
    if sample_rate_hz not in _MP3_RATES_HZ:
        rates = ", ".join(str(r) for r in _MP3_RATES_HZ)
        raise OutputError(
            f"cannot write {shown}: MP3 does not support {sample_rate_hz} Hz (only {rates})"
        )
    top = 160 if sample_rate_hz in _MP3_LOW_RATES_HZ else 320
    allowed = [b for b in MP3_BITRATES_KBPS if b <= top]
    if bitrate_kbps not in allowed:
        listed = ", ".join(str(b) for b in allowed)
        raise OutputError(
            f"cannot write {shown}: MP3 at {sample_rate_hz} Hz takes a bitrate of "
            f"{listed} kbit/s, not {bitrate_kbps}"
        )
    return suffix


class AudioWriter:
    """Writes float32 mono chunks to ``path`` as 16-bit audio; MP3 is CBR."""

    def __init__(self, path: Path, sample_rate_hz: int, *, bitrate_kbps: int = 128) -> None:
        self.path = Path(path)
        self.sample_rate_hz = sample_rate_hz
        self.bitrate_kbps = bitrate_kbps
        self.samples_written = 0
        suffix = _check_format(self.path, sample_rate_hz, bitrate_kbps)
        # Python owns the file rather than pedalboard: its OSErrors (a full
        # disk, a missing folder) then reach us intact instead of as a bare
        # "unable to open" ValueError.
        try:
            self._file: BinaryIO | None = open(self.path, "wb")  # noqa: SIM115
        except OSError as exc:
            raise output_error(self.path, exc) from exc
        try:
            self._audio: WriteableAudioFile | None = AudioFile(
                self._file,
                "w",
                samplerate=sample_rate_hz,
                num_channels=1,
                bit_depth=16,
                # A number is CBR for LAME; a "V" string would be VBR.
                quality=bitrate_kbps if suffix == ".mp3" else None,
                format=suffix[1:],
            )
            # Tells pedalboard the layout is (channels, samples) up front, so a
            # first chunk of one sample is not ambiguous.
            self._audio.write(np.zeros((1, 0), dtype=np.float32))
        except BaseException as exc:
            self._abort()
            if isinstance(exc, OSError):
                raise output_error(self.path, exc) from exc
            raise

    def __enter__(self) -> AudioWriter:
        return self

    def write(self, chunk: npt.ArrayLike) -> None:
        if self._audio is None:
            raise ValueError(f"{self.path} is already closed")
        samples = np.asarray(chunk, dtype=np.float32)
        if samples.ndim != 1:
            raise ValueError(f"expected a mono chunk (1-D), got shape {samples.shape}")
        if samples.size == 0:
            return
        try:
            self._audio.write(np.ascontiguousarray(samples[np.newaxis, :]))
        except OSError as exc:
            raise output_error(self.path, exc) from exc
        self.samples_written += samples.size

    def close(self) -> None:
        """Finishes the file (MP3 padding and header, WAV sizes); safe to repeat."""
        closers = (self._audio, self._file)
        self._audio = self._file = None
        failure: OSError | None = None
        for closer in closers:
            if closer is None:
                continue
            try:
                closer.close()
            except OSError as exc:
                failure = failure or exc
            except SystemError as exc:
                # pedalboard's close() reports an OSError from our file object
                # as a SystemError caused by it.
                if not isinstance(exc.__cause__, OSError):
                    raise
                failure = failure or exc.__cause__
        if failure is not None:
            raise output_error(self.path, failure) from failure

    def _abort(self) -> None:
        # The file is abandoned anyway; a second error while closing it, of
        # whatever kind, would only hide the first one.
        with contextlib.suppress(Exception):
            self.close()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is None:
            self.close()
        else:
            self._abort()
