"""The MP3 encoder alone: a ``.npy`` of float32 PCM → MP3, as an export writes it.

``python bench/encode_only.py PCM.npy OUT.mp3`` memory-maps the samples and
feeds them to voiceguide's ``AudioWriter`` (pedalboard's LAME, 128 kbit/s
CBR, 44.1 kHz mono) in 65536-sample chunks, the export's chunk size. Nothing
else of voiceguide is imported, so the process's wall time is interpreter
start-up, numpy and pedalboard import, and encoding.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from voiceguide.outputs.encode import AudioWriter

CHUNK_SAMPLES = 65536
SAMPLE_RATE_HZ = 44100
BITRATE_KBPS = 128


def main(argv: list[str]) -> None:
    if len(argv) != 2:
        sys.exit("usage: encode_only.py PCM.npy OUT.mp3")
    pcm = np.load(argv[0], mmap_mode="r")
    with AudioWriter(Path(argv[1]), SAMPLE_RATE_HZ, bitrate_kbps=BITRATE_KBPS) as writer:
        for start in range(0, len(pcm), CHUNK_SAMPLES):
            writer.write(pcm[start : start + CHUNK_SAMPLES])


if __name__ == "__main__":
    main(sys.argv[1:])
