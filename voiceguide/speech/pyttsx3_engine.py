"""System voices through ``pyttsx3`` (optional: ``voiceguide[system-voices]``).

pyttsx3 is built to speak aloud; to get audio back we have it save each phrase
to a WAV file and read that. On Linux its espeak driver can return from
``runAndWait`` before the file is written (it ends its loop as soon as the
synthesis starts, and a libespeak-ng with asynchronous output finishes in a
thread of its own), so we wait for the file to be complete ourselves.
"""

from __future__ import annotations

import contextlib
import ctypes
import io
import os
import struct
import sys
import tempfile
import threading
import time
import wave
from collections.abc import Callable, Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from voiceguide.core.plural import counted
from voiceguide.errors import EngineError, UnknownVoiceError
from voiceguide.speech.base import EngineInfo, VoiceInfo

INSTALL_HINT = "pip install 'voiceguide[system-voices]'"
WAV_TIMEOUT_S = 30.0
POLL_S = 0.02
# After the file is complete, how long to wait for the driver's own
# "finished" notice (its espeak driver prints to stdout just before it).
FINISH_GRACE_S = 0.25
# The espeak driver adds each callback's samples after reading its events, so
# when espeak hands over the whole utterance with its end event the file is a
# header with no speech (seen on a loaded machine): such a phrase is spoken again.
ATTEMPTS = 3
_USES_ESPEAK = sys.platform not in ("win32", "darwin")
_DRIVER = {"win32": "sapi5", "darwin": "nsss"}.get(sys.platform, "espeak")
_LANGUAGE_DEFAULTS = {"en": "en-us"}  # as the espeak engine, for the same script

_LOCK = threading.Lock()  # pyttsx3 keeps one engine per driver per process


def _import() -> Any:
    try:
        import pyttsx3
    except ImportError as exc:
        raise EngineError(f"the pyttsx3 engine needs pyttsx3: {INSTALL_HINT}") from exc
    return pyttsx3


def _check_library_not_shared() -> None:
    """Refuse to start when pyttsx3's espeak driver would bind to our espeak-ng.

    Both are "libespeak-ng.so.1", and the dynamic loader hands an already
    loaded library to anyone asking for that name. pyttsx3 would then
    re-initialise it without a data path, which makes espeak-ng call exit(1).
    """
    if not _USES_ESPEAK or "pyttsx3.drivers._espeak" in sys.modules:
        return  # pyttsx3 already holds its own copy
    try:
        ctypes.CDLL("libespeak-ng.so.1", mode=os.RTLD_NOLOAD | os.RTLD_LAZY)
    except OSError:
        return  # not loaded yet: pyttsx3 will load the system's own copy
    raise EngineError(
        "the pyttsx3 engine cannot start after espeak-ng was loaded in this process "
        "(both would share one library); use it in a run of its own"
    )


_driver: Any = None


def _driver_engine() -> Any:
    """pyttsx3's engine for the default driver; callers hold _LOCK."""
    global _driver
    pyttsx3 = _import()
    if _driver is not None:
        return _driver
    _check_library_not_shared()
    try:
        _driver = pyttsx3.init()
    except Exception as exc:
        hint = "; on Linux it needs the system libespeak-ng (apt install libespeak-ng1)"
        raise EngineError(
            f"pyttsx3 could not start its speech driver: {exc}{hint if _USES_ESPEAK else ''}"
        ) from exc
    return _driver


def _tag(language: object) -> str:
    if isinstance(language, bytes):
        language = language.decode("utf-8", "replace")
    return str(language).strip().lower().replace("_", "-")


def _voices(driver: Any) -> list[VoiceInfo]:
    return [
        VoiceInfo(
            id=str(voice.id),
            name=str(voice.name or voice.id),
            languages=[_tag(language) for language in (voice.languages or [])],
        )
        for voice in driver.getProperty("voices")
    ]


def _choose_voice(voices: list[VoiceInfo], language: str, voice_name: str | None) -> str | None:
    """The id of the voice to use; None for the driver's default."""
    if voice_name is not None:
        wanted = voice_name.strip().lower()
        for voice in voices:
            if wanted in (voice.id.lower(), voice.name.lower()):
                return voice.id
        # pyttsx3 would ignore an unknown voice and speak with the default one.
        primary = _tag(language).split("-")[0]
        fitting = [v.id for v in voices if any(t.split("-")[0] == primary for t in v.languages)]
        listed = ", ".join(fitting or [v.id for v in voices]) or "none"
        raise UnknownVoiceError(
            f"pyttsx3 has no voice '{voice_name}'; its voices"
            + (f" for '{language}'" if fitting else "")
            + f": {listed} (`voiceguide voices` describes them)"
        )
    tag = _tag(language)
    tag = _LANGUAGE_DEFAULTS.get(tag, tag)
    primary = tag.split("-")[0]
    for matches in (
        lambda lang: lang == tag,
        lambda lang: lang.split("-")[0] == primary,
    ):
        for voice in voices:
            if any(matches(lang) for lang in voice.languages):
                return voice.id
    if not any(voice.languages for voice in voices):
        return None  # the driver does not say which languages it speaks
    raise EngineError(
        f"pyttsx3 has no voice for language '{language}'; `voiceguide voices` lists them"
    )


def _riff_complete(data: bytes, empty: bool = False) -> bool:
    """Whether ``data`` is a whole RIFF/WAVE file with audio: sizes agree with the length.

    A header with no frames yet is not whole: the driver writes it before the
    speech, and on a busy machine it can sit unchanged for two looks.
    """
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        return False
    if struct.unpack_from("<I", data, 4)[0] + 8 != len(data):
        return False
    offset = 12
    while offset + 8 <= len(data):
        chunk, size = struct.unpack_from("<4sI", data, offset)
        if chunk == b"data":
            return (size == 0 if empty else size > 0) and offset + 8 + size <= len(data)
        offset += 8 + size + (size & 1)
    return False


class EmptyUtterance(EngineError):
    """The driver said it finished, and its file holds no speech."""


def wait_for_wav(
    path: Path,
    timeout_s: float,
    *,
    finished: Callable[[], bool] = lambda: False,
    poll_s: float = POLL_S,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> bytes:
    """The bytes of ``path`` once it is a complete WAV that stopped growing;
    EmptyUtterance once ``finished()`` and the file is a still, empty WAV."""
    deadline = clock() + timeout_s
    previous: bytes | None = None
    while True:
        try:
            data: bytes | None = path.read_bytes()
        except FileNotFoundError:
            data = None
        # Complete by its own header and the same on two looks in a row: a
        # writer that patches the header at the end cannot fool both checks.
        if data is not None and data == previous:
            if _riff_complete(data):
                return data
            if finished() and _riff_complete(data, empty=True):
                raise EmptyUtterance("pyttsx3 wrote a file with no speech in it")
        if clock() >= deadline:
            state = "no file" if data is None else f"{counted(len(data), 'byte')}, incomplete"
            raise EngineError(
                f"pyttsx3 did not finish writing its audio in {timeout_s:g} s ({state})"
            )
        previous = data
        sleep(poll_s)


def read_wav(data: bytes) -> tuple[np.ndarray, int]:
    """Mono float32 in [-1, 1] and the rate, from WAV bytes (channels averaged)."""
    try:
        with wave.open(io.BytesIO(data), "rb") as reader:
            channels, width = reader.getnchannels(), reader.getsampwidth()
            rate = reader.getframerate()
            frames = reader.readframes(reader.getnframes())
    except (wave.Error, EOFError) as exc:
        raise EngineError(f"pyttsx3 wrote audio voiceguide cannot read: {exc}") from exc
    if width == 1:
        samples = (np.frombuffer(frames, dtype=np.uint8).astype(np.float32) - 128) / 128
    elif width in (2, 4):
        dtype = np.dtype(f"<i{width}")
        samples = np.frombuffer(frames, dtype=dtype).astype(np.float32) / 2 ** (8 * width - 1)
    else:
        raise EngineError(f"pyttsx3 wrote {8 * width}-bit audio, which voiceguide cannot read")
    return samples.reshape(-1, channels).mean(axis=1).astype(np.float32), rate


@contextlib.contextmanager
def _quiet_stdout() -> Iterator[None]:
    # The espeak driver print()s "Audio saved to ..." from its synthesis
    # thread; a Python-level redirect is enough, kept until that thread is done.
    with contextlib.redirect_stdout(io.StringIO()):
        yield


class Pyttsx3Engine:
    """One system voice at one rate, one phrase per call."""

    timeout_s = WAV_TIMEOUT_S

    def __init__(self, *, language: str, voice_name: str | None, rate_wpm: int) -> None:
        if rate_wpm <= 0:
            raise EngineError(f"the speaking rate must be positive, not {rate_wpm}")
        pyttsx3 = _import()
        with _LOCK:
            driver = _driver_engine()
            self.voice_id = _choose_voice(_voices(driver), language, voice_name)
        self.rate_wpm = rate_wpm
        version = getattr(pyttsx3, "__version__", None) or _version()
        driver_name = getattr(driver, "driver_name", None) or _DRIVER
        voice = self.voice_id or "default"
        self.id = (
            f"pyttsx3/{version}/{driver_name}{_library_version()}/voice={voice}/rate={rate_wpm}"
        )

    def synthesize(self, text: str) -> tuple[np.ndarray, int]:
        if not text.strip():
            return np.zeros(0, dtype=np.float32), 22050
        for _ in range(ATTEMPTS):
            try:
                return read_wav(self._speak_once(text))
            except EmptyUtterance as exc:
                empty = exc
        raise EngineError(f"{empty.message} {ATTEMPTS} times, on: '{text}'") from empty

    def _speak_once(self, text: str) -> bytes:
        finished = threading.Event()

        def on_finished(**_: object) -> None:
            finished.set()

        with _LOCK, tempfile.TemporaryDirectory(prefix="voiceguide-") as folder:
            driver = _driver_engine()
            path = Path(folder) / "phrase.wav"
            token = driver.connect("finished-utterance", on_finished)
            try:
                with _quiet_stdout():
                    if self.voice_id is not None:
                        driver.setProperty("voice", self.voice_id)
                    driver.setProperty("rate", self.rate_wpm)
                    driver.save_to_file(text, str(path))
                    driver.runAndWait()
                    data = wait_for_wav(path, self.timeout_s, finished=finished.is_set)
                    finished.wait(FINISH_GRACE_S)
            except EmptyUtterance:
                raise
            except EngineError as exc:
                raise EngineError(f"{exc.message}, on: '{text}'") from exc
            except Exception as exc:
                raise EngineError(f"pyttsx3 failed ({exc}) on: '{text}'") from exc
            finally:
                driver.disconnect(token)
        return data


def _library_version() -> str:
    # A system libespeak-ng upgrade changes the sound, so it belongs in the id.
    module = sys.modules.get("pyttsx3.drivers._espeak")
    try:
        raw = module.Info() if module is not None else None
    except Exception:
        return ""
    return "-" + raw.decode("ascii", "replace") if isinstance(raw, bytes) else ""


def _version() -> str:
    try:
        return metadata.version("pyttsx3")
    except metadata.PackageNotFoundError:
        return "unknown"


def open_engine(*, language: str, voice_name: str | None, rate_wpm: int) -> Pyttsx3Engine:
    return Pyttsx3Engine(language=language, voice_name=voice_name, rate_wpm=rate_wpm)


def availability() -> str | None:
    try:
        with _LOCK:
            _driver_engine()
    except EngineError as exc:
        return exc.message
    return None


def engine_info() -> EngineInfo:
    try:
        with _LOCK:
            voices = _voices(_driver_engine())
    except EngineError as exc:
        return EngineInfo(name="pyttsx3", available=False, reason=exc.message, voices=[])
    return EngineInfo(name="pyttsx3", available=True, reason=None, voices=voices)
