"""The straightforward pipeline voiceguide is compared with: pyttsx3 + pydub.

``python bench/baseline_pyttsx3_pydub.py SCRIPT OUT.mp3`` does what a typical
user would write by hand to turn the same script into the same session:

1. parse the script and list its phrases with voiceguide's own parser and
   planner (``voiceguide.core.script.parse_script``, ``voiceguide.core.plan``), so the
   session has the same structure and timing rules;
2. synthesise each distinct phrase with pyttsx3, one ``save_to_file`` +
   ``runAndWait`` per phrase, and load it with ``AudioSegment.from_wav``
   (converted to 44.1 kHz mono and trimmed of leading and trailing silence,
   as voiceguide's clips are);
3. plan the timeline from those clip lengths;
4. build the session by ``+`` concatenation: the phrase segments,
   ``AudioSegment.silent`` for the gaps and ``pydub.generators.Sine`` tones
   for the cues;
5. ``export(format="mp3", bitrate="128k")`` (pydub runs ffmpeg).

Distinct phrases are synthesised once each (a dict), which is kind to the
baseline. It never imports ``voiceguide.speech``: pyttsx3's espeak driver
and voiceguide's espeak-ng cannot share one process. Prints a JSON line of
phase timings to stdout at the end.
"""

from __future__ import annotations

import json
import struct
import sys
import tempfile
import time
from pathlib import Path

import pyttsx3
from pydub import AudioSegment
from pydub.generators import Sine
from pydub.silence import detect_leading_silence

from voiceguide.core.cues import CUE_NAMES, cue_length_samples
from voiceguide.core.plan import plan, spoken_phrases
from voiceguide.core.script import parse_script

RATE_HZ = 44100
WAV_TIMEOUT_S = 30.0
# A pitch per cue, so the cues are told apart as in voiceguide.
TONE_HZ = {
    "inhale": 523.0,
    "exhale": 392.0,
    "hold": 440.0,
    "end_of_hold": 660.0,
    "switch_sides": 587.0,
    "chime": 880.0,
    "bell": 698.0,
    "tick": 1200.0,
}


def wav_complete(path: Path) -> bool:
    """Whether ``path`` is a whole RIFF file (pyttsx3 may return before it is)."""
    try:
        head = path.read_bytes()
    except FileNotFoundError:
        return False
    return (
        len(head) >= 44
        and head[:4] == b"RIFF"
        and struct.unpack_from("<I", head, 4)[0] + 8 == len(head)
    )


def synthesise(engine: pyttsx3.Engine, text: str, path: Path) -> AudioSegment:
    engine.save_to_file(text, str(path))
    engine.runAndWait()
    deadline = time.monotonic() + WAV_TIMEOUT_S
    while not wav_complete(path):
        if time.monotonic() > deadline:
            raise RuntimeError(f"pyttsx3 wrote no complete WAV for {text!r}")
        time.sleep(0.01)
    segment = AudioSegment.from_wav(str(path)).set_channels(1).set_frame_rate(RATE_HZ)
    start = detect_leading_silence(segment)
    end = len(segment) - detect_leading_silence(segment.reverse())
    return segment[start:end] if end > start else segment[:0]


def main(argv: list[str]) -> None:
    if len(argv) != 2:
        sys.exit("usage: baseline_pyttsx3_pydub.py SCRIPT OUT.mp3")
    script, out = Path(argv[0]), Path(argv[1])
    times: dict[str, float] = {}
    t0 = time.perf_counter()
    session = parse_script(script.read_bytes(), str(script))
    phrases = spoken_phrases(session)

    engine = pyttsx3.init()
    engine.setProperty("rate", session.voice.rate_wpm)
    clips: dict[str, AudioSegment] = {}
    with tempfile.TemporaryDirectory(prefix="baseline-") as folder:
        for number, text in enumerate(phrases):
            clips[text] = synthesise(engine, text, Path(folder) / f"{number}.wav")
    t1 = time.perf_counter()
    times["synthesis_s"] = t1 - t0

    speech_samples = {text: int(clip.frame_count()) for text, clip in clips.items()}
    tone_samples = {name: cue_length_samples(name, RATE_HZ) for name in CUE_NAMES}
    timeline = plan(session, speech_samples, tone_samples, RATE_HZ)
    t2 = time.perf_counter()
    times["plan_s"] = t2 - t1

    audio = AudioSegment.silent(duration=0, frame_rate=RATE_HZ)
    cursor = 0
    for event in sorted(timeline.sounds(), key=lambda e: e.start_sample):
        if event.start_sample > cursor:
            gap_ms = (event.start_sample - cursor) * 1000 / RATE_HZ
            audio += AudioSegment.silent(duration=gap_ms, frame_rate=RATE_HZ)
        if event.kind == "speech" and event.text is not None:
            audio += clips[event.text]
        else:
            tone_ms = event.length_samples * 1000 / RATE_HZ
            tone = Sine(TONE_HZ.get(event.cue or "", 440.0), sample_rate=RATE_HZ)
            audio += tone.to_audio_segment(duration=tone_ms, volume=-12.0).fade_out(20)
        cursor = event.end_sample
    if timeline.duration_samples > cursor:
        tail_ms = (timeline.duration_samples - cursor) * 1000 / RATE_HZ
        audio += AudioSegment.silent(duration=tail_ms, frame_rate=RATE_HZ)
    t3 = time.perf_counter()
    times["concatenate_s"] = t3 - t2

    audio.export(str(out), format="mp3", bitrate="128k")
    times["export_s"] = time.perf_counter() - t3
    result = {
        "phrases": len(phrases),
        "events": len(timeline.sounds()),
        "planned_s": timeline.duration_s,
        "built_s": len(audio) / 1000,
        **times,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1:])
