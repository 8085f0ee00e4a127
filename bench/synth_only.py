"""Speech synthesis alone: what a cold export's speaking stage does, and nothing else.

``python bench/synth_only.py SCRIPT --engine NAME`` reads the script, loads
the same engine an export of it loads (``pipeline.with_voice_options`` +
``pipeline.clip_source``) and makes the clip of every distinct phrase the
planner may ask for (``pipeline.distinct_phrases``), through the same ``ClipSource``
an export uses: the same threads (a phrase per core for piper), the same
resampling, trimming and fades, and the same phrase cache (the caller gives
it an empty ``XDG_CACHE_HOME``, as for a cold export). No planning, no
mastering, no encoding. It imports ``voiceguide.pipeline`` as the export
does, so interpreter start-up and imports count alike on both sides.

Prints one JSON line at the end: phrases, audio seconds made, and the
seconds spent loading the engine and synthesising, measured inside.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from voiceguide import pipeline

OUTPUT_RATE_HZ = 44100


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("script", type=Path)
    parser.add_argument("--engine", "-e", help="as `voiceguide export --engine`")
    args = parser.parse_args()
    options = pipeline.VoiceOptions(engine=args.engine)
    session = pipeline.with_voice_options(pipeline.load_session(args.script), options)
    started = time.perf_counter()
    source = pipeline.clip_source(session, options)
    loaded = time.perf_counter()
    clips = source.clips(pipeline.distinct_phrases(session))
    done = time.perf_counter()
    report = {
        "engine": source.engine.id,
        "phrases": len(clips),
        "audio_s": round(sum(len(c) for c in clips.values()) / OUTPUT_RATE_HZ, 2),
        "load_s": round(loaded - started, 3),
        "synthesis_s": round(done - loaded, 3),
    }
    print(json.dumps(report))


if __name__ == "__main__":
    main()
