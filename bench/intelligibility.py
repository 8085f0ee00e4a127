"""How well an independent recogniser understands every phrase of an exported session.

Usage::

    .venv/bin/python bench/intelligibility.py scripts/back-spasm-relief.yaml --engine espeak
    .venv/bin/python bench/intelligibility.py --engine espeak,piper --json  # bundled English

Each script is exported with each engine (a real MP3, decoded again), every
distinct phrase is cut out of the decoded audio where the plan puts it, and
pocketsphinx recognises it on its own. pocketsphinx's wheel carries its
English acoustic model, language model and dictionary, so nothing is
downloaded; it has no model for other languages, so only English scripts
are measured. The word error rate is (substitutions + deletions +
insertions) / reference words, after lower-casing, dropping punctuation and
writing digits as words ("3" and "three" are the same word). The last line
with ``--json`` is one JSON object: per engine the WER, the words, the errors,
and every misheard phrase, and the share of countdown numbers, side
announcements and breathing cues heard exactly.

pocketsphinx's general English model is far weaker than the Whisper model
the issue measured with (it mishears natural speech too), so its figures are
for comparing engines and settings with each other, not absolute goals.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from voiceguide import pipeline  # noqa: E402
from voiceguide.core.phrases import ENGLISH  # noqa: E402
from voiceguide.outputs.session_files import ExportRequest  # noqa: E402

RECOGNISER_RATE_HZ = 16000
DEFAULT_SCRIPTS = ("back-spasm-relief.yaml", "breathing-calm.yaml")
ENGINES = ("espeak", "piper")
_NUMBERS = {
    "0": "zero",
    "1": "one",
    "2": "two",
    "3": "three",
    "4": "four",
    "5": "five",
    "6": "six",
    "7": "seven",
    "8": "eight",
    "9": "nine",
    "10": "ten",
}
# Phrases whose every word must be heard: the cues a listener acts on.
CATEGORIES = {
    "countdown": {ENGLISH[f"count_{n}"] for n in range(1, 11)},
    "sides": {ENGLISH[k] for k in ("side_left", "side_right", "switch_sides")},
    "breathing": {ENGLISH[k] for k in ("inhale", "exhale", "hold_in", "hold_out")},
}


def words(text: str) -> list[str]:
    found = re.findall(r"[a-z0-9']+", text.lower().replace("-", " "))
    return [_NUMBERS.get(w, w) for w in found]


def edit_distance(ref: list[str], hyp: list[str]) -> int:
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        diagonal, row[0] = row[0], i
        for j, h in enumerate(hyp, 1):
            diagonal, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, diagonal + (r != h))
    return row[-1]


class Recogniser:
    """pocketsphinx with the English model its wheel carries."""

    def __init__(self) -> None:
        from pocketsphinx import Decoder

        self.decoder = Decoder(samprate=RECOGNISER_RATE_HZ, logfn="/dev/null")

    def __call__(self, pcm: np.ndarray, rate_hz: int) -> str:
        from scipy.signal import resample_poly

        x = resample_poly(np.asarray(pcm, dtype=np.float64), RECOGNISER_RATE_HZ, rate_hz)
        # A quarter second of silence either side: the decoder's start and end
        # of speech detection needs some.
        pad = np.zeros(RECOGNISER_RATE_HZ // 4)
        peak = float(np.max(np.abs(x))) or 1.0
        x = np.concatenate([pad, 0.7 * x / peak, pad])
        self.decoder.start_utt()
        self.decoder.process_raw((x * 32767).astype(np.int16).tobytes(), full_utt=True)
        self.decoder.end_utt()
        hyp = self.decoder.hyp()
        return hyp.hypstr if hyp is not None else ""


@dataclass
class EngineScore:
    engine: str
    words: int = 0
    errors: int = 0
    phrases: int = 0
    misheard: list[tuple[str, str, str]] = field(default_factory=list)  # script, said, heard
    category_total: dict[str, int] = field(default_factory=dict)
    category_right: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def wer(self) -> float:
        return self.errors / self.words if self.words else 0.0

    def as_json(self) -> dict[str, object]:
        return {
            "engine": self.engine,
            "wer": round(self.wer, 4),
            "words": self.words,
            "errors": self.errors,
            "phrases": self.phrases,
            "misheard": [
                {"script": s, "said": said, "heard": heard} for s, said, heard in self.misheard
            ],
            "categories": {
                name: {"heard": self.category_right.get(name, 0), "of": total}
                for name, total in self.category_total.items()
            },
            "seconds": round(self.seconds, 1),
        }


def exported_phrases(script: Path, engine: str, work: Path) -> list[tuple[str, np.ndarray, int]]:
    """(text, decoded audio, rate) of each distinct phrase, cut from the exported MP3."""
    import miniaudio

    options = pipeline.VoiceOptions(engine=engine, cache_dir=work / "cache")
    prepared = pipeline.prepare(script, options)
    dest = work / f"{script.stem}.{engine}.mp3"
    pipeline.export_prepared(script, prepared, ExportRequest(dest))
    rate = prepared.timeline.sample_rate_hz
    decoded = miniaudio.decode_file(
        str(dest), output_format=miniaudio.SampleFormat.FLOAT32, nchannels=1, sample_rate=rate
    )
    samples = np.frombuffer(decoded.samples, dtype=np.float32)
    found: dict[str, np.ndarray] = {}
    for event in prepared.timeline.sounds():
        if event.kind == "speech" and event.text and event.text not in found:
            found[event.text] = samples[event.start_sample : event.end_sample]
    return [(text, clip, rate) for text, clip in found.items()]


def measure(scripts: list[Path], engines: list[str]) -> tuple[list[EngineScore], list[str]]:
    recognise = Recogniser()
    scores: list[EngineScore] = []
    skipped: list[str] = []
    with tempfile.TemporaryDirectory(prefix="voiceguide-intelligibility-") as folder:
        work = Path(folder)
        for engine in engines:
            score = EngineScore(engine)
            t0 = time.perf_counter()
            for script in scripts:
                language = pipeline.load_session(script).language
                if language.split("-")[0].lower() != "en":
                    skipped.append(f"{script.name}: pocketsphinx has no {language} model")
                    continue
                for text, clip, rate in exported_phrases(script, engine, work):
                    heard = recognise(clip, rate)
                    ref = words(text)
                    errors = edit_distance(ref, words(heard))
                    score.words += len(ref)
                    score.errors += errors
                    score.phrases += 1
                    if errors:
                        score.misheard.append((script.name, text, heard))
                    for name, members in CATEGORIES.items():
                        if text in members:
                            score.category_total[name] = score.category_total.get(name, 0) + 1
                            if not errors:
                                score.category_right[name] = score.category_right.get(name, 0) + 1
            score.seconds = time.perf_counter() - t0
            scores.append(score)
    return scores, sorted(set(skipped))


def report(scores: list[EngineScore], skipped: list[str]) -> str:
    lines = []
    for s in scores:
        lines.append(
            f"{s.engine}: WER {100 * s.wer:.1f} % ({s.errors} errors in {s.words} words, "
            f"{s.phrases} phrases, {s.seconds:.0f} s)"
        )
        for name, total in s.category_total.items():
            lines.append(f"  {name}: {s.category_right.get(name, 0)} of {total} heard exactly")
        for script, said, heard in s.misheard:
            lines.append(f"  misheard ({script}): {said!r} -> {heard!r}")
    lines += [f"not measured: {why}" for why in skipped]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("scripts", nargs="*", type=Path, help="default: the bundled English ones")
    parser.add_argument("--engine", default="espeak,piper", help="comma-separated: espeak,piper")
    parser.add_argument("--json", action="store_true", help="end with one line of JSON")
    args = parser.parse_args(argv)
    engines = [e.strip() for e in args.engine.split(",") if e.strip()]
    if not engines or any(e not in ENGINES for e in engines):
        parser.error(f"--engine takes a comma-separated list of {', '.join(ENGINES)}")
    scripts = args.scripts or [ROOT / "scripts" / name for name in DEFAULT_SCRIPTS]
    try:
        import pocketsphinx  # noqa: F401
    except ImportError:
        print("bench: pocketsphinx is not installed (pip install '.[bench]')", file=sys.stderr)
        return 2
    scores, skipped = measure(scripts, engines)
    print(report(scores, skipped))
    if args.json:
        print(json.dumps({"engines": [s.as_json() for s in scores], "skipped": skipped}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
