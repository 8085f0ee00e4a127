"""Engines by name, imported only when asked for.

Each engine module offers ``open_engine(language=, voice_name=, rate_wpm=)``
(piper also takes ``model_path=``),
``availability() -> str | None`` (None: usable; else why not) and
``engine_info() -> EngineInfo``.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from voiceguide.errors import EngineChoiceError, EngineError, UnknownVoiceError
from voiceguide.speech.base import Engine, EngineInfo

ENGINE_NAMES = ("espeak", "piper", "pyttsx3", "test")
# "auto" takes the first available engine here, best first: the natural
# voice when it is installed and speaks the script's language.
AUTO_PREFERENCE = ("piper", "espeak")


@dataclass(frozen=True)
class _Spec:
    module: str
    install: str  # what to run when the module's library is missing


_SPECS = {
    "espeak": _Spec(
        "voiceguide.speech.espeak", "pip install espeakng-loader (a voiceguide dependency)"
    ),
    "piper": _Spec("voiceguide.speech.piper_engine", "pip install 'voiceguide[neural]'"),
    "pyttsx3": _Spec("voiceguide.speech.pyttsx3_engine", "pip install 'voiceguide[system-voices]'"),
    "test": _Spec("voiceguide.speech.testengine", "nothing: it is built in"),
}


def _module(name: str) -> ModuleType:
    spec = _SPECS.get(name)
    if spec is None:
        known = ", ".join(("auto", *ENGINE_NAMES))
        raise EngineChoiceError(f"unknown speech engine '{name}'; known engines: {known}")
    try:
        return importlib.import_module(spec.module)
    except ImportError as exc:
        missing = exc.name or "a library"
        raise EngineError(f"the {name} engine needs {missing}: {spec.install}") from exc


def get_engine(
    name: str,
    *,
    language: str,
    voice_name: str | None,
    rate_wpm: int,
    model_path: Path | None = None,
) -> Engine:
    """The engine ``name`` ("auto" or one of ENGINE_NAMES) set up for one voice.

    ``model_path`` is a Piper voice file: it makes "auto" mean piper, and
    no other engine takes it.
    """
    if name == "auto" and voice_name is not None and model_path is None:
        return _auto_with_voice(language, voice_name, rate_wpm)
    if name == "auto":
        name = "piper" if model_path is not None else _auto(language)
    if model_path is not None and name != "piper":
        raise EngineError(f"--voice-model is a Piper voice; the {name} engine cannot use it")
    extra = {"model_path": model_path} if name == "piper" else {}
    engine: Engine = _module(name).open_engine(
        language=language, voice_name=voice_name, rate_wpm=rate_wpm, **extra
    )
    return engine


def _auto(language: str) -> str:
    reasons = []
    for name in AUTO_PREFERENCE:
        try:
            module = _module(name)
            # piper is only "available" with a voice for the script's language.
            reason = module.availability(language) if name == "piper" else module.availability()
        except EngineError as exc:
            reason = exc.message
        if reason is None:
            return name
        reasons.append(f"{name}: {reason}")
    raise EngineError("no speech engine is available (" + "; ".join(reasons) + ")")


def _auto_with_voice(language: str, voice_name: str, rate_wpm: int) -> Engine:
    """The first engine, best first, that has the voice ``voice_name``."""
    refusals = []
    for name in AUTO_PREFERENCE:
        try:
            return get_engine(name, language=language, voice_name=voice_name, rate_wpm=rate_wpm)
        except UnknownVoiceError as exc:
            refusals.append(exc.message.split("; ", 1)[-1].replace("its ", f"{name}'s ", 1))
        except EngineError:
            continue  # not installed, or no voice for the language: says nothing of this id
    if not refusals:
        name = _auto(language)
        return get_engine(name, language=language, voice_name=voice_name, rate_wpm=rate_wpm)
    raise UnknownVoiceError(f"no voice '{voice_name}': " + "; ".join(refusals))


def describe(engine: Engine, language: str, *, chosen_by_auto: bool = False) -> str:
    """One line naming the voice and engine that speak, e.g. "en_US-joe-medium (piper)".

    When "auto" chose the engine and could not take the natural voice, it
    says why and how to get one.
    """
    name = engine.id.split("/", 1)[0].removesuffix("-ng")
    voice = getattr(engine, "voice_id", None) or "default"
    if not chosen_by_auto or name in AUTO_PREFERENCE[:1]:
        return f"{voice} ({name})"
    return f"{voice} ({name}; {natural_voice_hint(language)})"


def natural_voice_hint(language: str) -> str:
    """Why the natural voice (piper) does not speak ``language`` here, and how to get one."""
    try:
        reason = _module("piper").availability(language)
    except EngineError as exc:
        reason = exc.message
    install = _SPECS["piper"].install
    # Installed, with a voice for another language: only a voice is missing.
    installed = reason is not None and "piper voice speaks" in reason
    steps = [] if installed or install in (reason or "") else [install]
    if language.lower().split("-")[0] != "en":
        steps.append(
            f"--voice-model PATH with a Piper voice for '{language}' (.onnx and .onnx.json)"
        )
    how = f"; to get one: {', then '.join(steps)}" if steps else ""
    return f"no natural voice for '{language}' here: {reason}{how}"


def default_voice(language: str) -> tuple[str, str] | None:
    """(engine, voice id) that "auto" speaks ``language`` with, or None if none can."""
    try:
        engine = get_engine("auto", language=language, voice_name=None, rate_wpm=150)
    except EngineError:
        return None
    voice = getattr(engine, "voice_id", None)
    return engine.id.split("/", 1)[0].removesuffix("-ng"), voice or "default"


# pyttsx3 is probed before espeak: on Linux it must load its espeak-ng before
# ours is loaded, or it refuses to start (see pyttsx3_engine).
_PROBE_ORDER = ("pyttsx3", "espeak", "piper", "test")


def list_engines() -> list[EngineInfo]:
    """Every engine, in ENGINE_NAMES order: available or not, why, its voices."""
    found: dict[str, EngineInfo] = {}
    for name in _PROBE_ORDER:
        try:
            found[name] = _module(name).engine_info()
        except EngineError as exc:
            found[name] = EngineInfo(name=name, available=False, reason=exc.message, voices=[])
    return [found[name] for name in ENGINE_NAMES]
