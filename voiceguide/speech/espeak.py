"""espeak-ng from the ``espeakng-loader`` wheel, driven through ctypes.

The C library keeps all of its state in globals (voice, rate, callback), so
every call goes through one module-level lock and each synthesis re-applies
its engine's settings first: two engine objects in one process must not hear
each other's voice.

The samples for a phrase also depend a little on what the process spoke
before: espeak-ng keeps the phase of its pitch "flutter" in a C static that
nothing resets. The same phrases in the same order give the same audio; a
phrase on its own varies by a few milliseconds. The phrase cache is what makes
a phrase sound the same from one render to the next.
"""

from __future__ import annotations

import ctypes
import os
import threading
from dataclasses import dataclass
from importlib import metadata

import espeakng_loader
import numpy as np

from voiceguide.errors import EngineError, UnknownVoiceError
from voiceguide.speech.base import EngineInfo, VoiceInfo

# From speak_lib.h.
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_POS_CHARACTER = 1
_CHARS_UTF8 = 1
_RATE = 1
_PITCH = 3
_RANGE = 4
_WORDGAP = 7
RATE_MIN_WPM = 80  # espeakRATE_MINIMUM: espeak silently clamps below this
RATE_MAX_WPM = 450  # espeakRATE_MAXIMUM: and above this

# espeak's own defaults, pitch 50 and range 50: at pitch 40 and range 35 an
# independent recogniser (Whisper base, issue 13) misheard 15.4 % of words
# against 9.4 % at the defaults: "3" became "free", "1" "why", "in for 4" "in
# for far". The formants of espeak's voice are tuned for its default pitch;
# lower, the vowels blur. A word gap of 30 ms (in units of 10 ms at the
# default rate) keeps short words such as "in" and "for" from running
# together: on the hardest phrases of the bundled scripts it cut Whisper's
# errors from 37 to 25 of 135 words, and it still sounds unhurried.
PITCH = 50
PITCH_RANGE = 50
WORD_GAP = 3
# Measured the same way on every phrase of the bundled German, Spanish and
# French scripts (bench/espeak_sweep.py, docs/benchmarks.md): the gap helps
# Spanish (59.6 % to 51.0 % of words misheard) and French (111 % to 102 %),
# but German runs its compounds apart with it (62 % to 74 %).
_WORD_GAP_BY_LANGUAGE = {"de": 0}


def word_gap(language: str) -> int:
    """espeak's gap between words for ``language``, in 10 ms units."""
    return _WORD_GAP_BY_LANGUAGE.get(language.split("-")[0].lower(), WORD_GAP)


# Bare "en" would pick British English (espeak's own choice); American is the
# voice most listeners expect from a default.
_LANGUAGE_DEFAULTS = {"en": "en-us"}

_HINT = "`voiceguide voices` lists them"

_SynthCallback = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p
)


class _Voice(ctypes.Structure):
    _fields_ = (
        ("name", ctypes.c_char_p),
        # Not c_char_p: a packed list with NULs inside (see _parse_languages).
        ("languages", ctypes.c_void_p),
        ("identifier", ctypes.c_char_p),
        ("gender", ctypes.c_ubyte),
        ("age", ctypes.c_ubyte),
        ("variant", ctypes.c_ubyte),
        ("xx1", ctypes.c_ubyte),
        ("score", ctypes.c_int),
        ("spare", ctypes.c_void_p),
    )


@dataclass
class _Native:
    lib: ctypes.CDLL
    sample_rate_hz: int
    version: str
    callback: object  # kept referenced: ctypes callbacks die with their Python object


LOCK = threading.RLock()
_native: _Native | None = None
_chunks: list[np.ndarray] = []


@_SynthCallback
def _collect(wav: ctypes._Pointer[ctypes.c_short], count: int, events: int | None) -> int:
    if wav and count > 0:
        _chunks.append(np.ctypeslib.as_array(wav, shape=(count,)).copy())
    return 0  # 0: carry on synthesising


def _load() -> _Native:
    """Load and initialise the library once per process; callers hold LOCK."""
    global _native
    if _native is not None:
        return _native
    try:
        data_path = espeakng_loader.get_data_path()
        lib = ctypes.CDLL(espeakng_loader.get_library_path(), mode=ctypes.RTLD_LOCAL)
    except (OSError, RuntimeError) as exc:
        raise EngineError(f"cannot load espeak-ng from espeakng-loader: {exc}") from exc
    lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
    lib.espeak_Initialize.restype = ctypes.c_int
    lib.espeak_SetSynthCallback.argtypes = [_SynthCallback]
    lib.espeak_SetSynthCallback.restype = None
    lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
    lib.espeak_SetVoiceByName.restype = ctypes.c_int
    lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
    lib.espeak_SetParameter.restype = ctypes.c_int
    lib.espeak_Synth.argtypes = [
        ctypes.c_char_p,
        ctypes.c_size_t,
        ctypes.c_uint,
        ctypes.c_int,
        ctypes.c_uint,
        ctypes.c_uint,
        ctypes.c_void_p,
        ctypes.c_void_p,
    ]
    lib.espeak_Synth.restype = ctypes.c_int
    lib.espeak_ListVoices.argtypes = [ctypes.c_void_p]
    lib.espeak_ListVoices.restype = ctypes.POINTER(ctypes.POINTER(_Voice))
    lib.espeak_Info.argtypes = [ctypes.c_void_p]
    lib.espeak_Info.restype = ctypes.c_char_p
    # Without an explicit data path the library looks in its build-time
    # prefix, fails, and calls exit(1), taking Python down with it.
    rate = lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, os.fsencode(data_path), 0)
    if rate <= 0:
        raise EngineError(f"espeak-ng failed to initialise (data at {data_path})")
    lib.espeak_SetSynthCallback(_collect)
    version = (lib.espeak_Info(None) or b"unknown").decode("ascii", "replace")
    _native = _Native(lib=lib, sample_rate_hz=rate, version=version, callback=_collect)
    return _native


def _parse_languages(address: int | None) -> list[tuple[int, str]]:
    """(priority, lowercase tag) pairs, best (lowest priority number) first."""
    # Repeated (priority byte, NUL-terminated tag), ended by a 0 priority byte.
    pairs: list[tuple[int, str]] = []
    while address and (priority := ctypes.string_at(address, 1)[0]) != 0:
        raw = ctypes.string_at(address + 1)
        pairs.append((priority, raw.decode("utf-8", "replace").lower()))
        address += len(raw) + 2
    return sorted(pairs, key=lambda pair: pair[0])


@dataclass(frozen=True)
class _ListedVoice:
    info: VoiceInfo
    priorities: dict[str, int]  # language tag -> espeak priority (lower is better)


def _list_voices(native: _Native) -> list[_ListedVoice]:
    voices: list[_ListedVoice] = []
    array = native.lib.espeak_ListVoices(None)
    index = 0
    while array[index]:
        voice = array[index].contents
        pairs = _parse_languages(voice.languages)
        info = VoiceInfo(
            id=(voice.identifier or b"").decode("utf-8", "replace"),
            name=(voice.name or b"").decode("utf-8", "replace"),
            languages=[tag for _, tag in pairs],
        )
        priorities: dict[str, int] = {}
        for priority, tag in pairs:
            priorities.setdefault(tag, priority)
        voices.append(_ListedVoice(info=info, priorities=priorities))
        index += 1
    return voices


def list_voices() -> list[VoiceInfo]:
    with LOCK:
        return [voice.info for voice in _list_voices(_load())]


def _resolve(native: _Native, language: str, voice_name: str | None) -> str:
    """The string to hand to espeak_SetVoiceByName for this voice or language."""
    voices = _list_voices(native)
    if voice_name is not None:
        wanted = voice_name.strip().lower()
        for voice in voices:
            if wanted in (voice.info.id.lower(), voice.info.name.lower()):
                return voice.info.id
        # Not listed, but espeak may still take it (a variant like "en-us+f3").
        return voice_name
    tag = language.strip().lower().replace("_", "-")
    tag = _LANGUAGE_DEFAULTS.get(tag, tag)
    # espeak_SetVoiceByName does not match every language tag ("en-gb" lives
    # in the file "gmw/en"), so look the tag up in the voices' own lists.
    ranked = [(v.priorities[tag], i, v) for i, v in enumerate(voices) if tag in v.priorities]
    if ranked:
        return min(ranked, key=lambda item: item[:2])[2].info.id
    return tag


def _valid_ids(native: _Native, language: str) -> str:
    """The voice ids to choose from, in a line: those for ``language`` if any."""
    voices = _list_voices(native)
    tag = language.strip().lower().replace("_", "-").split("-")[0]
    fitting = [v.info.id for v in voices if any(t.split("-")[0] == tag for t in v.priorities)]
    if fitting:
        return f"its voices for '{language}': {', '.join(fitting)} (all {len(voices)}: {_HINT})"
    return f"its voices: {', '.join(v.info.id for v in voices)}"


def _select(native: _Native, voice: str, rate_wpm: int, gap: int) -> None:
    status = native.lib.espeak_SetVoiceByName(voice.encode("utf-8"))
    if status != 0:
        raise EngineError(f"espeak has no voice '{voice}'; {_HINT}")
    settings = ((_RATE, rate_wpm), (_PITCH, PITCH), (_RANGE, PITCH_RANGE), (_WORDGAP, gap))
    for parameter, value in settings:
        status = native.lib.espeak_SetParameter(parameter, value, 0)
        if status != 0:
            raise EngineError(f"espeak refused parameter {parameter}={value} (error {status})")


def _loader_version() -> str:
    try:
        return metadata.version("espeakng-loader")
    except metadata.PackageNotFoundError:
        return "unknown"


class EspeakEngine:
    """One espeak voice at one rate; cheap to create, shares the one library."""

    def __init__(self, *, language: str, voice_name: str | None, rate_wpm: int) -> None:
        if not RATE_MIN_WPM <= rate_wpm <= RATE_MAX_WPM:
            raise EngineError(
                f"espeak speaks at {RATE_MIN_WPM} to {RATE_MAX_WPM} words per minute, "
                f"not {rate_wpm}"
            )
        gap = word_gap(language)
        with LOCK:
            native = _load()
            voice = _resolve(native, language, voice_name)
            # Fail now, on the script's voice, rather than on its first phrase.
            try:
                _select(native, voice, rate_wpm, gap)
            except EngineError:
                if voice_name is None:
                    raise EngineError(
                        f"espeak has no voice for language '{language}'; {_HINT}"
                    ) from None
                raise UnknownVoiceError(
                    f"espeak has no voice '{voice_name}'; {_valid_ids(native, language)}"
                ) from None
        self.voice = voice
        self.voice_id = voice
        self.rate_wpm = rate_wpm
        self.word_gap = gap
        self.sample_rate_hz = native.sample_rate_hz
        self.id = (
            f"espeak-ng/{native.version}/loader-{_loader_version()}"
            f"/voice={voice}/rate={rate_wpm}/pitch={PITCH}/range={PITCH_RANGE}/gap={gap}"
        )

    def synthesize(self, text: str) -> tuple[np.ndarray, int]:
        data = text.encode("utf-8")
        with LOCK:
            native = _load()
            _select(native, self.voice, self.rate_wpm, self.word_gap)
            # Cheap insurance against anyone else who shares this library copy.
            native.lib.espeak_SetSynthCallback(_collect)
            _chunks.clear()
            try:
                status = native.lib.espeak_Synth(
                    data, len(data) + 1, 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None
                )
                pieces = list(_chunks)
            finally:
                _chunks.clear()
        if status != 0:
            raise EngineError(f"espeak failed (error {status}) on: '{text}'")
        pcm = np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.int16)
        return (pcm.astype(np.float32) / 32768.0), self.sample_rate_hz


def open_engine(*, language: str, voice_name: str | None, rate_wpm: int) -> EspeakEngine:
    return EspeakEngine(language=language, voice_name=voice_name, rate_wpm=rate_wpm)


def availability() -> str | None:
    """None when the engine can run here, else why not."""
    try:
        with LOCK:
            _load()
    except EngineError as exc:
        return exc.message
    return None


def engine_info() -> EngineInfo:
    reason = availability()
    if reason is not None:
        return EngineInfo(name="espeak", available=False, reason=reason, voices=[])
    return EngineInfo(name="espeak", available=True, reason=None, voices=list_voices())
