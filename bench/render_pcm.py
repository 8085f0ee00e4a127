"""Renders a script's mastered session PCM to a float32 ``.npy`` file, and its
silent spans (where an export joins MP3 parts) to ``OUT.silences.npy``.

Used once, untimed, to give the "encoder alone" measurement the very samples
an export encodes. Runs in a process of its own (it holds the whole session
in memory): ``python bench/render_pcm.py SCRIPT OUT.npy [ENGINE]`` (default espeak).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from voiceguide import pipeline
from voiceguide.core import render


def main(argv: list[str]) -> None:
    if len(argv) not in (2, 3):
        sys.exit("usage: render_pcm.py SCRIPT OUT.npy [ENGINE]")
    script, out = Path(argv[0]), Path(argv[1])
    engine = argv[2] if len(argv) == 3 else "espeak"
    prepared = pipeline.prepare(script, pipeline.VoiceOptions(engine=engine))
    pcm = render.render_all(prepared.timeline, pipeline.mastered(prepared))
    np.save(out, np.asarray(pcm, dtype=np.float32))
    spans = render.silent_spans(prepared.timeline)
    np.save(out.with_suffix(".silences.npy"), np.asarray(spans, dtype=np.int64).reshape(-1, 2))
    print(f"{len(pcm)} samples at {prepared.timeline.sample_rate_hz} Hz")


if __name__ == "__main__":
    main(sys.argv[1:])
