"""From engine output to clips ready to place on the timeline.

A prepared clip is float32 at the output rate, starts at its first audible
sample and ends at its last, and fades in and out over a few milliseconds so
that placing it against silence never clicks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from math import gcd

import numpy as np

from voiceguide.core.dsp import resample_poly
from voiceguide.errors import EngineError
from voiceguide.speech.base import Engine
from voiceguide.speech.cache import PhraseCache, phrase_key

OUTPUT_RATE_HZ = 44100
SILENCE_DBFS = -50.0
SILENCE_THRESHOLD = 10 ** (SILENCE_DBFS / 20)
FADE_S = 0.004

Progress = Callable[[int, int], None]


def _resample(pcm: np.ndarray, rate_hz: int, output_rate_hz: int) -> np.ndarray:
    if rate_hz == output_rate_hz or pcm.size == 0:
        return pcm
    common = gcd(rate_hz, output_rate_hz)
    return resample_poly(pcm, output_rate_hz // common, rate_hz // common)


def trim_bounds(samples: np.ndarray, threshold: float = SILENCE_THRESHOLD) -> tuple[int, int]:
    """``(start, stop)`` from the first to just past the last sample at or above
    ``threshold`` in magnitude; ``(0, 0)`` when there is none.

    Sample by sample rather than by windowed level: engines emit digital
    silence, so any sample over -50 dBFS is speech (or the resampler's ringing
    around it, which belongs to it), and a soft onset like "h" is kept whole.
    """
    loud = np.flatnonzero(np.abs(samples) >= threshold)
    if loud.size == 0:
        return 0, 0
    return int(loud[0]), int(loud[-1]) + 1


def _fade(clip: np.ndarray, fade_samples: int) -> None:
    length = min(fade_samples, clip.size // 2)
    if length == 0:
        return
    # Raised cosine from exactly 0, so a clip starts and ends at silence.
    ramp = 0.5 * (1 - np.cos(np.pi * np.arange(length) / length))
    clip[:length] *= ramp
    clip[clip.size - length :] *= ramp[::-1]


def prepare_clip(pcm: np.ndarray, rate_hz: int, output_rate_hz: int) -> np.ndarray:
    """Resample, trim leading and trailing silence, fade the ends; float32.

    All silence gives an empty array: whether that is an error is the caller's
    call.
    """
    samples = np.asarray(pcm, dtype=np.float64)
    if samples.ndim != 1:
        raise ValueError(f"expected mono PCM, got shape {samples.shape}")
    if rate_hz <= 0 or output_rate_hz <= 0:
        raise ValueError(f"sample rates must be positive: {rate_hz}, {output_rate_hz}")
    # Resample first, then trim: trimming first would cut the waveform hard
    # and the resampler would smear that edge back out past the cut.
    resampled = _resample(samples, rate_hz, output_rate_hz)
    start, stop = trim_bounds(resampled)
    clip = resampled[start:stop].copy()
    _fade(clip, round(FADE_S * output_rate_hz))
    return clip.astype(np.float32)


class ClipSource:
    """Prepared clips for phrases: from the cache when it has them, else spoken."""

    def __init__(
        self,
        engine: Engine,
        cache: PhraseCache | None,
        output_rate_hz: int = OUTPUT_RATE_HZ,
        respell: Callable[[str], str] | None = None,
    ) -> None:
        self.engine = engine
        self.cache = cache
        self.output_rate_hz = output_rate_hz
        # What the engine is given for a phrase (a script's pronounce: mapping);
        # clips are cached by the words spoken, not by the words written.
        self.respell = respell or (lambda text: text)
        self._memo: dict[str, np.ndarray] = {}

    def clip(self, text: str) -> np.ndarray:
        return self.clips([text])[text]

    def clips(
        self, texts: Iterable[str], progress: Progress | None = None
    ) -> dict[str, np.ndarray]:
        """Every distinct text's clip; ``progress(done, total)`` after each one.

        Clips are read-only: they are shared between callers through the memo.
        """
        wanted = list(dict.fromkeys(texts))
        total = len(wanted)
        result: dict[str, np.ndarray] = {}
        missing: list[str] = []
        # Cache hits first: they are fast, so progress moves at once and the
        # remaining count is the real work left.
        for text in wanted:
            found = self._lookup(text)
            if found is None:
                missing.append(text)
                continue
            result[text] = found
            if progress is not None:
                progress(len(result), total)
        for text, (pcm, rate_hz) in zip(missing, self._spoken(missing), strict=True):
            result[text] = self._prepared(text, pcm, rate_hz)
            if progress is not None:
                progress(len(result), total)
        if self.cache is not None and self.cache.added:
            self.cache.trim()
            self.cache.added = 0
        return {text: result[text] for text in wanted}

    def _key(self, text: str) -> str:
        return phrase_key(self.engine.id, self.output_rate_hz, self.respell(text))

    def _lookup(self, text: str) -> np.ndarray | None:
        if text in self._memo:
            return self._memo[text]
        if not text.strip():
            return self._remember(text, np.zeros(0, dtype=np.float32))
        if self.cache is None:
            return None
        found = self.cache.get(self._key(text))
        return None if found is None else self._remember(text, found)

    def _spoken(self, texts: list[str]) -> Iterator[tuple[np.ndarray, int]]:
        # An engine that can speak several phrases at once (piper: one per
        # core) gets them all; the others one by one.
        many = getattr(self.engine, "synthesize_many", None)
        if many is not None and len(texts) > 1:
            with self._engine_failure(f"'{texts[0]}' and {len(texts) - 1} more phrases"):
                results = many([self.respell(text) for text in texts])
            yield from results
            return
        for text in texts:
            with self._engine_failure(f"'{text}'"):
                result = self.engine.synthesize(self.respell(text))
            yield result

    @contextmanager
    def _engine_failure(self, phrases: str) -> Iterator[None]:
        try:
            yield
        except EngineError:
            raise
        except Exception as exc:
            # An engine is a foreign library: its failure is reported as the
            # engine's, on the phrase, not as voiceguide's own bug.
            name = self._engine_name
            raise EngineError(f"the {name} engine failed ({exc!r}) on: {phrases}") from exc

    @property
    def _engine_name(self) -> str:
        return self.engine.id.split("/", 1)[0]

    def _prepared(self, text: str, pcm: np.ndarray, rate_hz: int) -> np.ndarray:
        clip = prepare_clip(pcm, rate_hz, self.output_rate_hz)
        if clip.size == 0:
            name = self._engine_name
            raise EngineError(f"the {name} engine produced no sound for: '{text}'")
        if self.cache is not None:
            self.cache.put(self._key(text), clip)
        return self._remember(text, clip)

    def _remember(self, text: str, clip: np.ndarray) -> np.ndarray:
        clip.flags.writeable = False
        self._memo[text] = clip
        return clip
