"""How well `play --listen` hears its commands, offline: 100 spoken commands
and the negative runs, fed to voiceguide.live.listen.Recogniser in 50 ms chunks
as the microphone would deliver them.

Commands: said by two voices (piper's installed en_US-joe-medium and espeak-ng
en-us+m7, rate and pitch varied per take), at a speech level of -20 dBFS, over a
continuous room bed at three signal-to-noise ratios (25 dB pink, 15 dB babble
with ventilation hum, 8 dB brown), 1.5 to 3 s apart. A command counts when the
recogniser takes it for the right action; its latency is from the end of the
command's audio to the decision, in audio time, plus the wall time the decision
took to compute.

Negative runs: (1) ten minutes of the bundled English scripts' own sentences
said by both command voices with 0.3 to 1.5 s between them, over the same
beds; (2) a bundled session's own exported audio (what the microphone hears of
the session through the room), with the 15 dB bed. Any command taken is false.

Usage (needs espeak-ng, ffmpeg and the listen extra)::

    .venv/bin/python bench/listen.py --seed 2          # the reported takes
    .venv/bin/python bench/listen.py --seed 1 --json   # the tuning takes

--seed picks the takes (voices' rates and pitches, the order, the noise).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import yaml

sys.path.insert(0, str(Path(__file__).parent))

import listen_clips as clips

from voiceguide.live import listen

ROOT = Path(__file__).parent.parent
SPEECH_RMS = 0.1  # -20 dBFS while sounding
CHUNK = 800  # samples: 50 ms, as the microphone delivers them
LEVELS = ((25, "pink"), (15, "babble"), (8, "brown"))
VOICES = ("piper", "espeak")
COMMANDS = 100
SCRIPTS = ("back-spasm-relief", "breathing-calm", "core-strength", "gentle-yoga")
SESSION = "back-spasm-relief"
NEGATIVE_S = 600.0
DUMP: list[listen.Found] = []
GOOD: set[int] = set()


def sentences() -> list[str]:
    """The bundled English scripts' own spoken lines."""
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)
        elif (
            isinstance(node, str)
            and len(node.split()) >= 2
            and not node.endswith((".yaml", ".wav"))
        ):
            found.append(node)

    for name in SCRIPTS:
        walk(yaml.safe_load((ROOT / "scripts" / f"{name}.yaml").read_text(encoding="utf-8")))
    return sorted(set(found))


def levelled(speech: np.ndarray) -> np.ndarray:
    return speech / clips.active_rms(speech) * SPEECH_RMS


def stream(
    parts: Sequence[tuple[np.ndarray, str | None]],
    snr_db: float,
    kind: str,
    rng: np.random.Generator,
    gap_s: tuple[float, float],
) -> tuple[np.ndarray, list[tuple[str, float, float]]]:
    """The parts one after another over a bed; where each command ended."""
    pieces, marks, at = [np.zeros(int(1.5 * clips.RATE_HZ))], [], int(1.5 * clips.RATE_HZ)
    for speech, text in parts:
        if text is not None:
            marks.append((text, at / clips.RATE_HZ, (at + len(speech)) / clips.RATE_HZ))
        gap = np.zeros(int(rng.uniform(*gap_s) * clips.RATE_HZ))
        pieces += [speech, gap]
        at += len(speech) + len(gap)
    signal = np.concatenate(pieces)
    voices = [p for p, _ in parts[:8]]
    signal += SPEECH_RMS * 10 ** (-snr_db / 20) * clips.noise(kind, len(signal), rng, voices)
    return signal, marks


def run(signal: np.ndarray) -> tuple[list[tuple[listen.Found, float]], float]:
    """What the recogniser took, each with the wall time of its decision; the CPU share."""
    recogniser = listen.Recogniser()
    pcm = clips.pcm(signal)
    taken, busy_s = [], 0.0
    for at in range(0, len(pcm), CHUNK * 2):
        began = time.perf_counter()
        found = recogniser.feed(pcm[at : at + CHUNK * 2])
        spent = time.perf_counter() - began
        busy_s += spent
        taken += [(f, spent) for f in found if f.accepted]
        DUMP.extend(found)
    return taken, busy_s / (len(signal) / clips.RATE_HZ)


def commands(rng: np.random.Generator) -> dict[str, Any]:
    phrases = list(listen.PHRASES)
    rows, latencies, cpu, false = [], [], [], 0
    conditions = [(v, snr, kind) for v in VOICES for snr, kind in LEVELS]
    for index, (voice, snr, kind) in enumerate(conditions):
        count = COMMANDS // len(conditions) + (index < COMMANDS % len(conditions))
        texts = [phrases[int(i)] for i in rng.permutation(np.arange(count) % len(phrases))]
        parts = [(levelled(clips.said(voice, t, rng)), t) for t in texts]
        signal, marks = stream(parts, snr, kind, rng, (1.5, 3.0))
        taken, share = run(signal)
        cpu.append(share)
        right = 0
        used = set()
        for text, start_s, end_s in marks:
            match = [
                (f, s)
                for f, s in taken
                if id(f) not in used
                and start_s <= f.end_s <= end_s + 0.6
                and listen.PHRASES[f.phrase or ""] == listen.PHRASES[text]
            ]
            for f in DUMP:
                if (
                    start_s <= f.end_s <= end_s + 0.6
                    and f.phrase
                    and listen.PHRASES[f.phrase] == listen.PHRASES[text]
                ):
                    GOOD.add(id(f))
            if match:
                found, spent = match[0]
                used.add(id(found))
                latency = found.decided_s - end_s + spent
                latencies.append(latency)
                right += latency <= 0.5
        false += len(taken) - len(used)
        rows.append(
            {"voice": voice, "snr_db": snr, "noise": kind, "commands": count, "right": right}
        )
    return {
        "rows": rows,
        "right": sum(r["right"] for r in rows),
        "commands": sum(r["commands"] for r in rows),
        "false": false,
        "latency_median_s": float(np.median(latencies)) if latencies else None,
        "latency_max_s": float(np.max(latencies)) if latencies else None,
        "cpu_share": float(max(cpu)),
    }


def unrelated(rng: np.random.Generator) -> dict[str, Any]:
    lines = sentences()
    said_s, false, heard = 0.0, 0, []
    per_level = NEGATIVE_S / len(LEVELS)
    for snr, kind in LEVELS:
        parts, total = [], 0.0
        while total < per_level:
            text = lines[int(rng.integers(len(lines)))]
            speech = levelled(clips.said(VOICES[int(rng.integers(2))], text, rng))
            parts.append((speech, None))
            total += len(speech) / clips.RATE_HZ + 0.9
        signal, _ = stream(parts, snr, kind, rng, (0.3, 1.5))
        taken, _ = run(signal)
        said_s += len(signal) / clips.RATE_HZ
        false += len(taken)
        heard += [f.phrase for f, _ in taken]
    return {"seconds": round(said_s), "false": false, "heard": heard}


def session(rng: np.random.Generator) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        mp3 = Path(folder) / "session.mp3"
        subprocess.run(
            [
                sys.executable,
                "-m",
                "voiceguide",
                "export",
                str(ROOT / "scripts" / f"{SESSION}.yaml"),
                "-o",
                str(mp3),
            ],
            check=True,
            capture_output=True,
        )
        raw = subprocess.run(
            [
                "ffmpeg",
                "-v",
                "error",
                "-i",
                str(mp3),
                "-ac",
                "1",
                "-ar",
                str(clips.RATE_HZ),
                "-f",
                "f32le",
                "-",
            ],
            check=True,
            capture_output=True,
        ).stdout
    audio = np.frombuffer(raw, dtype="<f4").astype(np.float64)
    signal = audio / np.max(np.abs(audio)) * 0.3
    signal += (
        SPEECH_RMS * 10 ** (-15 / 20) * clips.noise("babble", len(signal), rng, [signal[:160000]])
    )
    taken, _ = run(signal)
    return {
        "seconds": round(len(signal) / clips.RATE_HZ),
        "false": len(taken),
        "heard": [f.phrase for f, _ in taken],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=2)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--dump", help="write every utterance's features here (for tuning)")
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    if args.dump:
        DUMP.clear()
    result = {
        "seed": args.seed,
        "commands": commands(rng),
        "unrelated": unrelated(rng),
        "session": session(rng),
    }
    if args.dump:
        rows = [
            [f.phrase, f.said_s, f.confidence, f.span_s, id(f) in GOOD] for f in DUMP if f.phrase
        ]
        Path(args.dump).write_text(json.dumps(rows))
    if args.json:
        print(json.dumps(result))
        return
    c = result["commands"]
    print(f"{'voice':8} {'SNR':>4} {'noise':7} {'right':>5}/{'said':<4}")
    for row in c["rows"]:
        heard = f"{row['right']:>5}/{row['commands']:<4}"
        print(f"{row['voice']:8} {row['snr_db']:>4} {row['noise']:7} {heard}")
    print(f"commands right within 0.5 s: {c['right']} of {c['commands']}")
    print(f"wrong or extra commands: {c['false']}")
    print(f"latency median {c['latency_median_s']:.2f} s, max {c['latency_max_s']:.2f} s")
    print(f"decoding's share of one core: {c['cpu_share']:.1%}")
    u, s = result["unrelated"], result["session"]
    print(f"unrelated speech and noise: {u['false']} false in {u['seconds']} s {u['heard']}")
    print(
        f"the session's own audio ({SESSION}): {s['false']} false in {s['seconds']} s {s['heard']}"
    )


if __name__ == "__main__":
    main()
