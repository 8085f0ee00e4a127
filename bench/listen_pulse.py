"""Spoken commands through real PulseAudio, as issue 14's Done-when asks:
`voiceguide play --listen` on a private server, its output a null sink, its
microphone the monitor of a second null sink, into which the room's noise, the
commands and the session's own output (module-loopback) all play.

- ``commands``: 100 commands, two voices (piper en_US-joe-medium and espeak-ng
  en-us+m7, rate and pitch varied), at -20 dBFS over a continuous bed at three
  signal-to-noise ratios (25 dB pink, 15 dB babble with ventilation hum, 8 dB
  brown), into a session in a long hold. Each is said once the session has been
  quiet for 1.2 s (as a person waits for the voice to stop). A command counts
  when `play` takes it for the right command and its acknowledgement tone
  starts at the sink within 700 ms of the end of the command's audio at the
  microphone. Both ends are placed on one monotonic clock from parec's chunks
  (tests/pulse_server.py: Recording.clock_s; about 10 ms, on the late side);
  the command's end is found in the microphone's recording by correlation.
- ``noise``: 10 minutes of unrelated speech (the bundled English scripts'
  sentences, both voices) over the three beds, into a session in a long hold:
  any command taken is false.
- ``loopback``: whole bundled English sessions played with the room's 25 dB
  pink bed in the microphone and their own output looped into it: any command
  taken is false.

Usage (needs Debian's pulseaudio, pulseaudio-utils, espeak-ng, and the listen
extra; real time: about 13, 11 and 41 minutes)::

    .venv/bin/python bench/listen_pulse.py commands --seed 2
    .venv/bin/python bench/listen_pulse.py noise --seed 2
    .venv/bin/python bench/listen_pulse.py loopback

The last line printed is JSON.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import soundfile
from scipy.signal import resample_poly

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(HERE))

import listen_clips as clips  # noqa: E402
from played import PtyPlay  # noqa: E402
from pulse_server import (  # noqa: E402
    MIC,
    RATE_HZ,
    SINK,
    PulseServer,
    Recording,
    missing,
    pulse_server,
)

from voiceguide.live import listen  # noqa: E402

SPEECH_RMS = 0.1  # -20 dBFS while sounding
LEVELS = ((25, "pink"), (15, "babble"), (8, "brown"))
VOICES = ("piper", "espeak")
COMMANDS = 100
BUDGET_S = 0.7
QUIET_BEFORE_S = 1.2
HEARD_WITHIN_S = 3.0
AUDIBLE = 0.003
NOISE_S = 600.0
ENGLISH = ("back-spasm-relief", "breathing-calm", "core-strength", "gentle-yoga")
# A session that stays quiet: long holds, and steps enough for "next".
HOLDS = "title: Listening\nsteps:\n" + "".join(
    f"  - exercise: Stretch {n}\n    say: Stretch {n}.\n    hold: 10m\n" for n in range(1, 21)
)
CACHE = tempfile.mkdtemp(prefix="vg-listen-cache-")  # piper's renders, shared across restarts
HEARD = re.compile(r'(heard|not taken \(the session was sounding\)): "([^"]+)"')


@contextlib.contextmanager
def room() -> Iterator[PulseServer]:
    """The server: output sink, microphone sink, the output looped into the microphone."""
    with pulse_server() as server:
        server.add_microphone()
        yield server


def wav(folder: Path, name: str, samples: np.ndarray) -> Path:
    path = folder / f"{name}.wav"
    soundfile.write(str(path), np.clip(samples, -1, 1).astype(np.float32), clips.RATE_HZ)
    return path


@contextlib.contextmanager
def bed(server: PulseServer, path: Path) -> Iterator[None]:
    """``path`` played into the microphone over and over until the block ends."""
    stopping = threading.Event()
    current: list[subprocess.Popen[bytes]] = []

    def loop() -> None:
        while not stopping.is_set():
            process = subprocess.Popen(["paplay", "-d", MIC, str(path)], env=server.env)
            current[:] = [process]
            if stopping.is_set():  # stopped while it started: the finally missed it
                process.terminate()
            process.wait()

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stopping.set()
        for process in current:
            process.terminate()
        thread.join(timeout=10)


def record(server: PulseServer, source: str) -> Recording:
    recording = server.record(source)
    recording.wait_until_flowing()
    return recording


def wait_quiet(output: Recording, quiet_s: float, timeout_s: float = 60.0) -> None:
    """Until the sink has played nothing audible for ``quiet_s``."""
    deadline = time.monotonic() + timeout_s
    window = int(quiet_s * RATE_HZ)
    while time.monotonic() < deadline:
        samples = output.samples()
        if len(samples) >= window and np.max(np.abs(samples[-window:])) < AUDIBLE:
            return
        time.sleep(0.05)
    raise RuntimeError(f"the session never fell quiet for {quiet_s:g} s")


def bed_noise(kind: str, snr_db: float, seconds: float, rng: np.random.Generator) -> np.ndarray:
    voices = [clips.said(VOICES[i % 2], line, rng) for i, line in enumerate(sentences()[:8])]
    made = clips.noise(kind, int(seconds * clips.RATE_HZ), rng, voices)
    return SPEECH_RMS * 10 ** (-snr_db / 20) * made


def levelled(speech: np.ndarray) -> np.ndarray:
    return speech / clips.active_rms(speech) * SPEECH_RMS


def sentences() -> list[str]:
    import listen as offline  # bench/listen.py

    return offline.sentences()


@dataclass
class Said:
    text: str
    samples: np.ndarray  # 16 kHz, what was played into the microphone
    began: float  # monotonic, paplay started
    ended: float  # monotonic, paplay returned (drained)
    heard: list[tuple[str, str]]  # (kind, phrase) shown within HEARD_WITHIN_S


class Session:
    """`play --listen` on the quiet script, started again after "stop"."""

    def __init__(self, env: dict[str, str], folder: Path) -> None:
        self.env, self.folder = env, folder
        self.script = folder / "holds.yaml"
        self.script.write_text(HOLDS, encoding="utf-8")
        self.player: PtyPlay | None = None
        self.seen = 0
        self.extra: list[tuple[str, str]] = []

    def ready(self) -> PtyPlay:
        if self.player is not None and self.player.process.poll() is None:
            return self.player
        if self.player is not None:
            self.extra += self.shown()
            self.player.close()
        self.player = PtyPlay([str(self.script), "--listen"], self.env)
        self.seen = 0
        self.player.wait_for(r"hold \d+:\d\d", timeout_s=120)
        return self.player

    def shown(self) -> list[tuple[str, str]]:
        assert self.player is not None
        matches = list(HEARD.finditer(self.player.output, self.seen))
        if matches:
            self.seen = matches[-1].end()
        return [(m[1], m[2]) for m in matches]

    def close(self) -> None:
        if self.player is not None:
            self.extra += self.shown()
            self.player.close()


def say(server: PulseServer, path: Path) -> tuple[float, float]:
    """``path`` played into the microphone; when paplay began and returned (drained)."""
    timeout_s = soundfile.info(str(path)).duration + 30
    began = time.monotonic()
    subprocess.run(["paplay", "-d", MIC, str(path)], env=server.env, check=True, timeout=timeout_s)
    return began, time.monotonic()


def end_in(mic: Recording, said: Said) -> float | None:
    """The monotonic time the command's audio ended at the microphone: where its
    waveform fits best in the microphone's recording."""
    clock = mic.clock_s(said.ended)
    samples = mic.samples()
    pattern = resample_poly(said.samples, RATE_HZ, clips.RATE_HZ).astype(np.float32)
    start = max(0, int((said.began - clock - 0.5) * RATE_HZ))
    stop = min(len(samples), int((said.ended - clock + 0.5) * RATE_HZ))
    window = samples[start:stop]
    if len(window) < len(pattern):
        return None
    fit = np.correlate(window, pattern, mode="valid")
    at = start + int(np.argmax(fit)) + len(pattern)
    return clock + at / RATE_HZ


def sound_after(output: Recording, from_s: float, within_s: float) -> float | None:
    """The monotonic time the sink first played something audible after ``from_s``."""
    clock = output.clock_s(from_s)
    samples = output.samples()
    start = max(0, int((from_s - clock) * RATE_HZ))
    part = np.abs(samples[start : start + int(within_s * RATE_HZ)])
    loud = np.flatnonzero(part >= AUDIBLE)
    return None if len(loud) == 0 else clock + (start + int(loud[0])) / RATE_HZ


def commands(seed: int, total: int = COMMANDS) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    phrases = list(listen.PHRASES)
    conditions = [(v, snr, kind) for v in VOICES for snr, kind in LEVELS]
    rows, latencies, false = [], [], []
    for index, (voice, snr, kind) in enumerate(conditions):
        count = total // len(conditions) + (index < total % len(conditions))
        texts = [phrases[int(i)] for i in rng.permutation(np.arange(count) % len(phrases))]
        with tempfile.TemporaryDirectory() as name, room() as server:
            folder = Path(name)
            env = {**server.env, "XDG_CACHE_HOME": CACHE}
            noise = wav(folder, "bed", bed_noise(kind, snr, 120, rng))
            output, mic = record(server, f"{SINK}.monitor"), record(server, f"{MIC}.monitor")
            session = Session(env, folder)
            done: list[Said] = []
            with bed(server, noise):
                try:
                    for n, text in enumerate(texts):
                        session.ready()
                        wait_quiet(output, QUIET_BEFORE_S)
                        samples = levelled(clips.said(voice, text, rng))
                        began, ended = say(server, wav(folder, f"c{n}", samples))
                        said = Said(text, samples, began, ended, [])
                        deadline = ended + HEARD_WITHIN_S
                        while time.monotonic() < deadline and not said.heard:
                            said.heard = session.shown()
                            time.sleep(0.02)
                        done.append(said)
                        if listen.PHRASES[text] == "quit" and session.player is not None:
                            with contextlib.suppress(subprocess.TimeoutExpired):
                                session.player.finish(timeout_s=30)
                        time.sleep(0.3)
                finally:
                    session.close()
            output.stop()
            mic.stop()
        right = 0
        for said in done:
            taken = [p for k, p in said.heard if k == "heard"]
            good = bool(taken) and listen.PHRASES[taken[0]] == listen.PHRASES[said.text]
            false += [p for p in taken[1:]] + ([] if good or not taken else taken[:1])
            end = end_in(mic, said)
            ack = sound_after(output, said.began, said.ended - said.began + HEARD_WITHIN_S)
            latency = None if end is None or ack is None else ack - end
            if good and latency is not None:
                latencies.append(latency)
                right += latency <= BUDGET_S
            shown = "-" if latency is None else f"{latency * 1000:.0f} ms"
            print(f"  {said.text!r}: {said.heard or 'nothing'} {shown}", flush=True)
        false += [p for k, p in session.extra if k == "heard"]
        rows.append({"voice": voice, "snr_db": snr, "noise": kind, "said": count, "right": right})
        print(f"{voice:7} {snr:>3} dB {kind:7} {right:>3} of {count}", flush=True)
    return {
        "seed": seed,
        "rows": rows,
        "right": sum(r["right"] for r in rows),
        "said": sum(r["said"] for r in rows),
        "false": false,
        "latency_median_s": float(np.median(latencies)) if latencies else None,
        "latency_max_s": float(np.max(latencies)) if latencies else None,
    }


def noise_run(seed: int) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    lines = sentences()
    heard: list[tuple[str, str]] = []
    played_s = 0.0
    for snr, kind in LEVELS:
        seconds = NOISE_S / len(LEVELS)
        talk, at = np.zeros(int(seconds * clips.RATE_HZ)), int(0.5 * clips.RATE_HZ)
        while True:
            line = lines[int(rng.integers(len(lines)))]
            speech = levelled(clips.said(VOICES[int(rng.integers(2))], line, rng))
            if at + len(speech) > len(talk):
                break
            talk[at : at + len(speech)] += speech
            at += len(speech) + int(rng.uniform(0.3, 1.5) * clips.RATE_HZ)
        signal = talk + bed_noise(kind, snr, seconds, rng)
        with tempfile.TemporaryDirectory() as name, room() as server:
            folder = Path(name)
            env = {**server.env, "XDG_CACHE_HOME": CACHE}
            path = wav(folder, "talk", signal)
            session = Session(env, folder)
            try:
                session.ready()
                say(server, path)
                time.sleep(1.0)
                heard += session.shown()
            finally:
                session.close()
            heard += session.extra
        played_s += seconds
        print(f"{snr:>3} dB {kind:7}: {heard}", flush=True)
    return {
        "seed": seed,
        "seconds": round(played_s),
        "false": [p for k, p in heard if k == "heard"],
        "not_taken": [p for k, p in heard if k != "heard"],
    }


def loopback_run(seed: int) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    found: dict[str, Any] = {}
    for script in ENGLISH:
        with tempfile.TemporaryDirectory() as name, room() as server:
            folder = Path(name)
            env = {**server.env, "XDG_CACHE_HOME": CACHE}
            noise = wav(folder, "bed", bed_noise("pink", 25, 120, rng))
            began = time.monotonic()
            with bed(server, noise):
                player = PtyPlay([str(ROOT / "scripts" / f"{script}.yaml"), "--listen"], env)
                try:
                    code = player.finish(timeout_s=3600)
                finally:
                    player.close()
            heard = [(m[1], m[2]) for m in HEARD.finditer(player.output)]
            found[script] = {
                "seconds": round(time.monotonic() - began),
                "exit": code,
                "false": [p for k, p in heard if k == "heard"],
                "not_taken": [p for k, p in heard if k != "heard"],
            }
            print(f"{script}: {found[script]}", flush=True)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run", choices=("commands", "noise", "loopback"))
    parser.add_argument("--seed", type=int, default=2)
    parser.add_argument("--commands", type=int, default=COMMANDS, help="how many (commands run)")
    args = parser.parse_args()
    reason = missing()
    if reason is not None:
        sys.exit(f"listen_pulse: {reason}")
    try:
        if args.run == "commands":
            found = commands(args.seed, args.commands)
        else:
            found = {"noise": noise_run, "loopback": loopback_run}[args.run](args.seed)
    finally:
        shutil.rmtree(CACHE, ignore_errors=True)
    print(json.dumps({"run": args.run, **found}))


if __name__ == "__main__":
    main()
