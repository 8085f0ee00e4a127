"""The MP3 encoder alone: a ``.npy`` of float32 PCM → MP3, as an export writes it.

``python bench/encode_only.py PCM.npy OUT.mp3`` memory-maps the samples and
encodes them with ``voiceguide.outputs.encode.write_audio_files`` exactly as
an export does: 128 kbit/s CBR, 44.1 kHz mono, 65536-sample chunks, in the
same parts (joined in the silences ``render_pcm.py`` saved beside the PCM)
on the same number of threads (one per core). ``--one-stream`` instead
feeds one LAME encoder chunk by chunk (``AudioWriter``), on one core. Only
numpy, lameenc and voiceguide's output modules are imported, so the wall
time is interpreter start-up, those imports and encoding.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np

from voiceguide.outputs.encode import AudioJob, AudioWriter, write_audio_files

CHUNK_SAMPLES = 65536
SAMPLE_RATE_HZ = 44100
BITRATE_KBPS = 128


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pcm", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--one-stream", action="store_true")
    args = parser.parse_args()
    pcm = np.load(args.pcm, mmap_mode="r")
    if args.one_stream:
        with AudioWriter(args.out, SAMPLE_RATE_HZ, bitrate_kbps=BITRATE_KBPS) as writer:
            for start in range(0, len(pcm), CHUNK_SAMPLES):
                writer.write(pcm[start : start + CHUNK_SAMPLES])
        return
    silences = [(int(a), int(b)) for a, b in np.load(args.pcm.with_suffix(".silences.npy"))]

    def render(start: int, stop: int) -> list[np.ndarray]:
        return [
            np.asarray(pcm[a : min(stop, a + CHUNK_SAMPLES)])
            for a in range(start, stop, CHUNK_SAMPLES)
        ]

    job = AudioJob(args.out, 0, len(pcm), render, silences)
    write_audio_files([job], SAMPLE_RATE_HZ, BITRATE_KBPS, len(os.sched_getaffinity(0)))


if __name__ == "__main__":
    main()
