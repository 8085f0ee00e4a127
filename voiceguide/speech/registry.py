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

from voiceguide.errors import EngineError
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
        raise EngineError(f"unknown speech engine '{name}'; known engines: {known}")
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
