"""How surely Whisper base hears each countdown digit on its own, per voice and rate.

``python bench/digit_robustness.py`` synthesises "3", "2" and "1" with espeak
(145, 120, 100 words a minute) and piper (145, 115, 95) and recognises each in
16 surroundings: 0.05, 0.15, 0.25 and 0.5 s of silence either side, at full
level and at 0.3, with and without faint noise (a fixed seed). Prints how
many of 16 were heard as the digit, and what else was heard. The table in
docs/benchmarks.md ("Single words") comes from it. Needs piper (`make demo`)
and ``pip install -e '.[bench]'``.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from intelligibility import Recogniser, words

from voiceguide.speech.registry import get_engine

RATES_WPM = {"espeak": (145, 120, 100), "piper": (145, 115, 95)}
DIGITS = {"3": "three", "2": "two", "1": "one"}


def surroundings(clip: np.ndarray, rate_hz: int, rng: np.random.Generator) -> Iterator[np.ndarray]:
    for pad_s in (0.05, 0.15, 0.25, 0.5):
        for gain in (1.0, 0.3):
            for noise in (0.0, 0.003):
                pad = np.zeros(round(pad_s * rate_hz), np.float32)
                x = np.concatenate([pad, clip * gain, pad])
                yield x + noise * rng.standard_normal(len(x)).astype(np.float32)


def main() -> int:
    recognise = Recogniser()
    rng = np.random.default_rng(7)
    for engine_name, rates in RATES_WPM.items():
        for rate_wpm in rates:
            engine = get_engine(
                engine_name, language="en", voice_name=None, rate_wpm=rate_wpm, model_path=None
            )
            for digit, word in DIGITS.items():
                pcm, rate_hz = engine.synthesize(digit)
                heard = [recognise(x, rate_hz) for x in surroundings(pcm, rate_hz, rng)]
                right = sum(words(h) == [word] for h in heard)
                wrong = sorted({h for h in heard if words(h) != [word]})
                print(f"{engine_name} {rate_wpm} wpm '{digit}': {right} of 16 {wrong}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
