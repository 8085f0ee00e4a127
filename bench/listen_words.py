"""How well `play --listen` spots its commands, offline, on synthetic voices.

Each command and a few unrelated instructions are said by three espeak-ng
voices (en-us+f3, en-us+m7, en+f2), resampled to 16 kHz, normalised to a peak
of 0.3 with white noise at about -50 dBFS under them and half a second of it
either side, and fed to the recogniser exactly as `play --listen` sets it up
(voiceguide/live/listen.py: the same phrases, thresholds and dither). Counted:
commands found, commands missed, and false detections (a phrase found in an
unrelated instruction, or a different command found).

Usage (needs espeak-ng and `pip install -e '.[listen]'`)::

    .venv/bin/python bench/listen_words.py

The last line printed is JSON.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import soundfile
from scipy.signal import resample_poly

from voiceguide.live import listen

VOICES = ("en-us+f3", "en-us+m7", "en+f2")
COMMANDS = (
    "pause",
    "continue",
    "more time",
    "next",
    "go back",
    "stop",
    "how long",
    "where am I",
    "repeat",
    "resume",
)
UNRELATED = (
    "let your knees fall to one side",
    "breathe in slowly and hold it",
    "now relax your shoulders",
    "lie down on your back",
    "rest here for a moment",
)


def said(folder: Path, voice: str, text: str) -> bytes:
    path = folder / "said.wav"
    subprocess.run(["espeak-ng", "-v", voice, "-w", str(path), text], check=True)
    samples, rate = soundfile.read(str(path), dtype="float32")
    speech = resample_poly(samples, listen.RATE_HZ, rate)
    speech = speech / np.max(np.abs(speech)) * 0.3
    pad = np.zeros(listen.RATE_HZ)
    signal = np.concatenate([pad, speech, pad])
    signal += np.random.default_rng(0).normal(0, 0.003, len(signal))
    return (np.clip(signal, -1, 1) * 32767).astype("<i2").tobytes()


def found_in(decoder: Any, pcm: bytes) -> list[str]:
    noise = np.random.default_rng(1)
    found = []
    decoder.start_utt()
    for at in range(0, len(pcm), 960):
        decoder.process_raw(listen._dithered(pcm[at : at + 960], noise), False, False)
        hyp = decoder.hyp()
        if hyp is not None:
            found.append(hyp.hypstr.strip().split("  ")[-1].strip())
            decoder.end_utt()
            decoder.start_utt()
    decoder.end_utt()
    return found


def main() -> None:
    decoder = listen._decoder()
    found_ok = missed = false = 0
    notes = []
    with tempfile.TemporaryDirectory() as folder:
        for voice in VOICES:
            for text in COMMANDS + UNRELATED:
                found = found_in(decoder, said(Path(folder), voice, text))
                wanted = text.lower() if text in COMMANDS else None
                if wanted is not None:
                    if wanted in found:
                        found_ok += 1
                    else:
                        missed += 1
                        notes.append(f"{voice} {text!r}: missed {found}")
                wrong = [f for f in found if f != wanted]
                false += len(wrong)
                if wrong:
                    notes.append(f"{voice} {text!r}: false {wrong}")
    commands = len(VOICES) * len(COMMANDS)
    clips = len(VOICES) * (len(COMMANDS) + len(UNRELATED))
    print("\n".join(notes))
    print(f"found {found_ok} of {commands} commands; {false} false detections in {clips} clips")
    print(json.dumps({"commands": commands, "found": found_ok, "false": false, "clips": clips}))


if __name__ == "__main__":
    main()
