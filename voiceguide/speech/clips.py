"""From engine output to clips ready to place on the timeline.

A prepared clip is float32 at the output rate, starts at its first audible
sample and ends at its last, and fades in and out over a few milliseconds so
that placing it against silence never clicks.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Generator, Iterable, Iterator
from contextlib import contextmanager
from math import gcd

import numpy as np

from voiceguide.core.dsp import resample_poly
from voiceguide.core.plural import counted
from voiceguide.errors import EngineError
from voiceguide.speech.base import Engine
from voiceguide.speech.cache import PhraseCache, phrase_key

OUTPUT_RATE_HZ = 44100
SILENCE_DBFS = -50.0
SILENCE_THRESHOLD = 10 ** (SILENCE_DBFS / 20)
FADE_S = 0.004
MEMO_BYTES = 16 << 20

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
        # The phrases used last, for a caller that asks again (play prepares its
        # openings one after the other); bounded, so a long script's speech is
        # not all held here.
        self._memo: OrderedDict[str, np.ndarray] = OrderedDict()
        self._memo_bytes = 0

    def clip(self, text: str) -> np.ndarray:
        return self.clips([text])[text]

    def clips(
        self, texts: Iterable[str], progress: Progress | None = None
    ) -> dict[str, np.ndarray]:
        """Every distinct text's clip; ``progress(done, total)`` after each one.

        Clips are read-only: they are shared between callers through the memo.
        """
        return dict(self.each(texts, progress))

    def each(
        self, texts: Iterable[str], progress: Progress | None = None
    ) -> Iterator[tuple[str, np.ndarray]]:
        """``(text, clip)`` for every distinct text, in the order given, as each is ready.

        Phrases missing from the cache are all handed to the engine at once
        (piper speaks one per core, running ahead of the caller), so whoever
        consumes the clips works while the engine speaks the next ones.
        """
        wanted = list(dict.fromkeys(texts))
        total = len(wanted)
        # Only whether each is cached: a long script's clips are read one at a
        # time, as they are consumed, not all held here at once.
        missing = [text for text in wanted if not self._known(text)]
        unknown = set(missing)
        spoken = self._spoken(missing)
        try:
            for done, text in enumerate(wanted, start=1):
                # The engine's phrases come in the order asked for: each one
                # missing at the start is taken from it, even if another
                # process has cached that phrase meanwhile.
                if text in unknown:
                    pcm, rate_hz = next(spoken)
                    clip = self._prepared(text, pcm, rate_hz)
                else:
                    found = self._lookup(text)
                    if found is None:  # unreadable since it was found: spoken on its own
                        pcm, rate_hz = next(self._spoken([text]))
                        found = self._prepared(text, pcm, rate_hz)
                    clip = found
                if progress is not None:
                    progress(done, total)
                yield text, clip
        finally:
            spoken.close()
            if self.cache is not None and self.cache.added:
                self.cache.trim()
                self.cache.added = 0

    def _key(self, text: str) -> str:
        return phrase_key(self.engine.id, self.output_rate_hz, self.respell(text))

    def _known(self, text: str) -> bool:
        if text in self._memo or not text.strip():
            return True
        return self.cache is not None and self.cache.path(self._key(text)).is_file()

    def _lookup(self, text: str) -> np.ndarray | None:
        if text in self._memo:
            self._memo.move_to_end(text)
            return self._memo[text]
        if not text.strip():
            return self._remember(text, np.zeros(0, dtype=np.float32))
        if self.cache is None:
            return None
        found = self.cache.get(self._key(text))
        return None if found is None else self._remember(text, found)

    def _spoken(self, texts: list[str]) -> Generator[tuple[np.ndarray, int]]:
        # An engine that can speak several phrases at once (piper: one per
        # core) gets them all; the others one by one.
        many = getattr(self.engine, "synthesize_many", None)
        if many is not None and len(texts) > 1:
            # synthesize_many is lazy: its failures surface while iterating.
            more = counted(len(texts) - 1, "more phrase")
            with self._engine_failure(f"'{texts[0]}' and {more}"):
                yield from many([self.respell(text) for text in texts])
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
        # No sound (nothing the voice can pronounce) is a length of 0: the
        # planner leaves the phrase out and says so, the export goes on.
        if self.cache is not None:
            self.cache.put(self._key(text), clip)
        return self._remember(text, clip)

    def _remember(self, text: str, clip: np.ndarray) -> np.ndarray:
        clip.flags.writeable = False
        if text not in self._memo:
            self._memo[text] = clip
            self._memo_bytes += clip.nbytes
        while self._memo_bytes > MEMO_BYTES and len(self._memo) > 1:
            _, old = self._memo.popitem(last=False)
            self._memo_bytes -= old.nbytes
        return clip
