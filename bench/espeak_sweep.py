"""Word error rate of Debian's espeak-ng at several settings, on one script's phrases.

``python bench/espeak_sweep.py SCRIPT LANGUAGE VOICE RATE,PITCH,GAP[,VARIANT] ...``

Every distinct phrase of SCRIPT is spoken by the ``espeak-ng`` program (not
voiceguide's engine, so that its own defaults can be compared) with each
setting (``-s RATE -p PITCH -g GAP``, GAP in 10 ms units, ``-v VOICE+VARIANT``),
and recognised alone by Whisper base in LANGUAGE, with 0.25 s of silence
either side, as ``intelligibility.py`` does. Needs Debian's espeak-ng and
``pip install -e '.[bench]'``. Example (docs/benchmarks.md):

    .venv/bin/python bench/espeak_sweep.py scripts/nacken-entspannen.yaml de de \\
        140,50,0 140,50,3 120,50,3 140,60,3 140,50,3,m3 140,50,3,f2
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from intelligibility import CONTEXT_S, Recogniser, edit_distance, pipeline, words


def main(argv: list[str]) -> int:
    if len(argv) < 4:
        print(__doc__, file=sys.stderr)
        return 2
    import miniaudio

    script, language, voice, *settings = argv
    session = pipeline.load_session(Path(script))
    texts = [t for t in pipeline.distinct_phrases(session) if t.strip()]
    recognise = Recogniser()
    with tempfile.TemporaryDirectory(prefix="voiceguide-sweep-") as folder:
        for setting in settings:
            rate, pitch, gap, *variant = setting.split(",")
            name = voice + (f"+{variant[0]}" if variant and variant[0] else "")
            errors = total = 0
            for i, text in enumerate(texts):
                wav = Path(folder) / f"{i}.wav"
                command = ["espeak-ng", "-v", name, "-s", rate, "-p", pitch, "-g", gap]
                subprocess.run([*command, "-w", str(wav), text], check=True)
                as_float = miniaudio.SampleFormat.FLOAT32
                sound = miniaudio.decode_file(str(wav), output_format=as_float)
                pcm = np.frombuffer(sound.samples, dtype=np.float32)[:: sound.nchannels]
                pad = np.zeros(round(CONTEXT_S * sound.sample_rate), np.float32)
                heard = recognise(np.concatenate([pad, pcm, pad]), sound.sample_rate, language)
                errors += edit_distance(words(text, language), words(heard, language))
                total += len(words(text, language))
            wer = 100 * errors / total
            print(f"{language} -v {name} -s {rate} -p {pitch} -g {gap}: WER {wer:.1f} % "
                  f"({errors} of {total} words)", flush=True)  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
