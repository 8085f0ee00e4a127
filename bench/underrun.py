"""`voiceguide play` never starves: a whole session, recorded at the sink, the other core busy.

Plays a script (default: the 30-minute benchmark session of bench/sessions.py)
through a private PulseAudio null sink with an empty phrase cache, while a
CPU hog (``stress-ng --cpu 1``, else a Python busy loop) keeps one core busy,
records the sink's monitor to a file with ``parec``, and then compares the
recording with the plan:

- the sound and silence of every 10 ms bin against the session as an export
  renders it (``pipeline.prepare`` + ``pipeline.pcm_chunks``, from the phrase
  cache the player filled), aligned on the first sound: a bin where the plan
  sounds (above -40 dBFS in it and both its neighbours) and nothing was heard
  (below -60 dBFS) is a drop-out; one where the plan is silent (exact zeros
  within 20 ms) and something was heard is an extra;
- where each sound that follows 100 ms of silence starts, against the plan
  (its first 50 ms matched by normalised cross-correlation within 250 ms of
  its place; within 0.5 ms of where the first one was heard): an underrun
  anywhere delays everything after it;
- the recording's span (first sound to last) against the plan's (within
  20 ms; whole runs only);
- ``starved_frames`` from ``voiceguide play --journal``: frames the device
  asked for that the player had not rendered in time.

Usage (needs Debian's pulseaudio and pulseaudio-utils; stress-ng is optional)::

    .venv/bin/python bench/underrun.py --engine piper            # ~30 min of real time
    .venv/bin/python bench/underrun.py --engine espeak --cut 120 # the first 2 minutes

``--cut S`` stops the player (SIGINT) S seconds after it was started and
compares what was played until then (no span check). The last line printed
is JSON, for bench/run.py.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests"))

from pulse_server import SINK, missing, pulse_server  # noqa: E402
from sessions import write_sessions  # noqa: E402

from voiceguide import pipeline  # noqa: E402

RATE = 44100
BIN = 441  # 10 ms
SOUND_LEVEL = 1e-3  # -60 dBFS: heard (the null sink gives exact zeros in silence)
LOUD_LEVEL = 1e-2  # -40 dBFS: clearly sounding in the plan
REACH_BINS = 2  # 20 ms either side: alignment and edge tolerance
SPAN_TOLERANCE_MS = 20.0
ONSET_GAP_BINS = 10  # an onset: sound after at least 100 ms of silence
ONSET_WINDOW = 250 * RATE // 1000  # where a planned onset is looked for, either side
ONSET_PATTERN = 50 * RATE // 1000  # how much of it is matched
ONSET_MATCH = 0.8  # normalised correlation: found
ONSET_TOLERANCE_MS = 0.5  # the null sink is sample-exact: 1 sample (0.02 ms) when clean
READY_TIMEOUT_S = 15.0
EXTRA_TIME_S = 300.0  # beyond the planned length, before giving up on the player


def envelope(samples: np.ndarray) -> np.ndarray:
    """Peak of each whole 10 ms bin, float."""
    usable = len(samples) // BIN * BIN
    return np.abs(samples[:usable].astype(np.float32)).reshape(-1, BIN).max(axis=1)


def recorded_envelope(samples: np.ndarray) -> np.ndarray:
    """``envelope`` of int16 samples, in blocks (the recording may be long)."""
    block = BIN * 10000
    parts = [envelope(samples[i : i + block]) / 32768 for i in range(0, len(samples), block)]
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32)


def reach(env: np.ndarray, bins: int = REACH_BINS) -> np.ndarray:
    """The largest value within ``bins`` of each bin."""
    padded = np.pad(env, bins, mode="edge")
    return sliding_window_view(padded, 2 * bins + 1).max(axis=1)


def first_last(samples: np.ndarray, level: float) -> tuple[int, int]:
    """First and one past the last sample at or above ``level`` (-1, -1 if none)."""
    block = 1 << 22
    first = last = -1
    for i in range(0, len(samples), block):
        loud = np.flatnonzero(np.abs(samples[i : i + block].astype(np.float32)) >= level)
        if loud.size:
            if first < 0:
                first = i + int(loud[0])
            last = i + int(loud[-1]) + 1
    return first, last


def onset_shifts(
    plan_env: np.ndarray, expected: np.ndarray, heard: np.ndarray
) -> list[tuple[float, float | None]]:
    """(planned time, ms it was heard late (+) or early (-), or None if not found) of
    every sound that starts after 100 ms of silence, in the bins compared.

    Each is found by normalised cross-correlation of its first 50 ms with the
    recording around its place, so a different level (the opening is levelled
    on its own before the whole session is mastered) moves nothing.
    """
    from scipy.signal import correlate

    loud = plan_env >= SOUND_LEVEL
    quiet_before = np.ones_like(loud)
    for k in range(1, ONSET_GAP_BINS + 1):
        quiet_before[k:] &= ~loud[:-k]
    found: list[tuple[float, float | None]] = []
    for b in np.flatnonzero(loud & quiet_before):
        first = b * BIN + int(np.argmax(np.abs(expected[b * BIN : (b + 1) * BIN]) >= SOUND_LEVEL))
        pattern = np.asarray(expected[first : first + ONSET_PATTERN], dtype=np.float64)
        lo = first - ONSET_WINDOW
        if lo < 0 or len(pattern) < ONSET_PATTERN:
            continue
        window = np.asarray(heard[lo : first + ONSET_WINDOW + ONSET_PATTERN], dtype=np.float64)
        if len(window) < 2 * ONSET_WINDOW + ONSET_PATTERN:
            found.append((first / RATE, None))
            continue
        energy = np.concatenate(([0.0], np.cumsum(window * window)))
        norms = np.sqrt(energy[ONSET_PATTERN:] - energy[:-ONSET_PATTERN]) * np.linalg.norm(pattern)
        score = correlate(window, pattern, mode="valid", method="fft")
        score = np.where(norms > 0, score / np.maximum(norms, 1e-12), 0.0)
        lag = int(np.argmax(score))
        shift = (lag - ONSET_WINDOW) * 1000 / RATE if score[lag] >= ONSET_MATCH else None
        found.append((first / RATE, shift))
    return found


def expected_pcm(script: Path, engine: str | None, cache: Path) -> tuple[np.ndarray, int]:
    """The session as an export renders it, and its planned length in samples."""
    options = pipeline.VoiceOptions(engine=engine, cache_dir=cache / "voiceguide")
    prepared = pipeline.prepare(script, options)
    chunks = list(pipeline.pcm_chunks(prepared, chunk_samples=BIN * 1000))
    return np.concatenate(chunks), prepared.timeline.duration_samples


def start_hog(kind: str, seconds: float) -> tuple[subprocess.Popen[bytes] | None, str]:
    if kind == "none":
        return None, "none"
    if kind in ("auto", "stress-ng") and shutil.which("stress-ng"):
        command = ["stress-ng", "--cpu", "1", "--timeout", f"{int(seconds)}s", "--quiet"]
        name = "stress-ng --cpu 1"
    else:
        command = [sys.executable, "-c", "while True: pass"]
        name = "a Python busy loop"
    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    return process, name


def stop_group(process: subprocess.Popen[bytes] | None) -> None:
    """Ends a process started in its own session, with the workers it forked."""
    if process is None or process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=10)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        process.kill()
        process.wait()


def record(env: dict[str, str], path: Path) -> subprocess.Popen[bytes]:
    with path.open("wb") as out:
        process = subprocess.Popen(
            [
                "parec",
                "-d",
                f"{SINK}.monitor",
                "--format=s16le",
                f"--rate={RATE}",
                "--channels=1",
                "--latency-msec=10",
                "--raw",
            ],
            env=env,
            stdout=out,
            stderr=subprocess.DEVNULL,
        )
    deadline = time.monotonic() + READY_TIMEOUT_S
    # The null sink's monitor delivers nothing for the first ~1.2 s.
    while path.stat().st_size < RATE // 5 * 2:
        if time.monotonic() > deadline or process.poll() is not None:
            raise RuntimeError("the null sink's monitor delivered no data")
        time.sleep(0.02)
    return process


def play_and_record(args: argparse.Namespace, script: Path, work: Path) -> dict[str, object]:
    cache, journal, raw = work / "cache", work / "journal.json", work / "sink.raw"
    cache.mkdir()
    planned_s = json.loads(
        subprocess.run(
            [sys.executable, "-m", "voiceguide", "check", "--json", str(script)]
            + (["--engine", args.engine] if args.engine else []),
            env={**os.environ, "XDG_CACHE_HOME": str(work / "check-cache")},
            capture_output=True,
            check=True,
        ).stdout
    )["duration"]
    limit_s = (args.cut or planned_s) + EXTRA_TIME_S
    with pulse_server() as server:
        parec = record(server.env, raw)
        hog, hog_name = start_hog(args.hog, limit_s + 60)
        try:
            time.sleep(1.0)  # let the hog get going
            command = [sys.executable, "-m", "voiceguide", "play", str(script)]
            command += ["--journal", str(journal)]
            command += ["--engine", args.engine] if args.engine else []
            start_byte = raw.stat().st_size // 2 * 2
            started = time.monotonic()
            with (work / "play.log").open("wb") as log:
                player = subprocess.Popen(
                    command,
                    env={**server.env, "XDG_CACHE_HOME": str(cache), "XDG_DATA_HOME": str(cache)},
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            try:
                if args.cut:
                    try:
                        player.wait(timeout=args.cut)
                    except subprocess.TimeoutExpired:
                        player.send_signal(signal.SIGINT)
                status = player.wait(timeout=limit_s - (time.monotonic() - started))
            finally:
                if player.poll() is None:
                    player.kill()
                    player.wait()
            played_s = time.monotonic() - started
            time.sleep(1.0)  # the last period reaches the monitor
        finally:
            stop_group(hog)
            parec.terminate()
            parec.wait(timeout=10)
    log_tail = (work / "play.log").read_text("utf-8", "replace").strip()[-800:]
    if not journal.exists():
        raise RuntimeError(f"voiceguide play wrote no journal (status {status}): {log_tail}")
    return {
        "planned_s": planned_s,
        "start_byte": start_byte,
        "played_s": played_s,
        "status": status,
        "hog": hog_name,
        "log_tail": log_tail,
    }


def compare(
    args: argparse.Namespace, script: Path, work: Path, run: dict[str, object]
) -> dict[str, object]:
    data = json.loads((work / "journal.json").read_text("utf-8"))
    raw = np.memmap(work / "sink.raw", dtype="<i2", mode="r")
    heard = raw[int(run["start_byte"]) // 2 :]  # type: ignore[call-overload]
    expected, planned_samples = expected_pcm(script, args.engine, work / "cache")
    heard_first, heard_last = first_last(heard, SOUND_LEVEL * 32768)
    plan_first, plan_last = first_last(expected, SOUND_LEVEL)
    result: dict[str, object] = {
        "engine": args.engine or "script's",
        "script": str(script),
        "planned_s": round(planned_samples / RATE, 2),
        "cut_s": args.cut,
        "hog": run["hog"],
        "status": run["status"],
        "finished": bool(data["finished"]),
        "starved_frames": int(data["starved_frames"]),
        "device_frames": int(data["device_frames"]),
        "journal_matches_plan": data["timeline"]["duration_samples"] == planned_samples,
        "recorded_s": round(len(heard) / RATE, 2),
    }
    if heard_first < 0:
        result.update(first_sound_s=None, compared_s=0.0, dropouts=None, extras=None)
        result["problem"] = "nothing was heard: " + str(run["log_tail"])
        return result
    offset = heard_first - plan_first
    result["first_sound_s"] = round(heard_first / RATE, 3)
    plan_env = envelope(expected)
    heard_env = recorded_envelope(heard[offset:]) if offset >= 0 else recorded_envelope(heard)
    bins = min(len(plan_env), len(heard_env))
    if args.cut:
        # Compare what was surely played: up to a second before the player was stopped.
        bins = min(bins, int((float(run["played_s"]) - heard_first / RATE - 1.0) * 100))
    bins = max(0, bins)
    plan_env, heard_env = plan_env[:bins], heard_env[:bins]
    # Sounding in the plan throughout a bin and both its neighbours, silent when heard.
    sounding = -reach(-plan_env, 1) >= LOUD_LEVEL
    dropouts = np.flatnonzero(sounding & (heard_env < SOUND_LEVEL))
    extras = np.flatnonzero((reach(plan_env) == 0) & (heard_env >= SOUND_LEVEL))
    aligned = heard[offset:] if offset >= 0 else heard
    shifts = onset_shifts(plan_env, expected[: bins * BIN], aligned)
    # Relative to the first onset found: the alignment on the first loud sample can be
    # a few samples off when the opening's level differs.
    base = next((ms for _, ms in shifts if ms is not None), 0.0)
    known = [(at, abs(ms - base)) for at, ms in shifts if ms is not None]
    worst = max(known, key=lambda pair: pair[1], default=(0.0, 0.0))
    result["onsets"] = len(shifts)
    result["onsets_not_heard"] = sum(1 for _, ms in shifts if ms is None)
    result["worst_onset_ms"] = round(worst[1], 2)
    result["worst_onset_at_s"] = round(worst[0], 2)
    result["compared_s"] = round(bins / 100, 2)
    result["dropouts"] = int(dropouts.size)
    result["extras"] = int(extras.size)
    result["first_problems_s"] = sorted(
        round(float(b) / 100, 2) for b in np.concatenate((dropouts[:5], extras[:5]))
    )
    if not args.cut:
        span_error = (heard_last - heard_first) - (plan_last - plan_first)
        result["span_s"] = round((heard_last - heard_first) / RATE, 3)
        result["plan_span_s"] = round((plan_last - plan_first) / RATE, 3)
        result["span_error_ms"] = round(span_error * 1000 / RATE, 1)
    return result


def verdict(result: dict[str, object]) -> bool:
    """No starved frame, no drop-out or extra, every onset heard within 0.5 ms of its
    place, and (whole runs) finished with the span within 20 ms."""
    whole = not result["cut_s"]
    return (
        result["starved_frames"] == 0
        and result.get("dropouts") == 0
        and result.get("extras") == 0
        and result.get("onsets_not_heard") == 0
        and float(result.get("worst_onset_ms", 1e9)) <= ONSET_TOLERANCE_MS  # type: ignore[arg-type]
        and (not whole or bool(result["finished"]))
        and (not whole or abs(float(result.get("span_error_ms", 1e9))) <= SPAN_TOLERANCE_MS)  # type: ignore[arg-type]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--engine", help="passed to `voiceguide play --engine`")
    parser.add_argument("--script", type=Path, help="default: the 30-minute benchmark session")
    parser.add_argument("--cut", type=float, help="stop the player after this many seconds")
    parser.add_argument(
        "--hog", choices=("auto", "stress-ng", "python", "none"), default="auto",
        help="what keeps the other core busy (default: stress-ng if installed)",
    )  # fmt: skip
    parser.add_argument("--keep", action="store_true", help="keep the recording and journal")
    args = parser.parse_args()
    reason = missing()
    if reason is not None:
        sys.exit(f"underrun: {reason}")
    work = Path(tempfile.mkdtemp(prefix="voiceguide-underrun-"))
    try:
        script = args.script or write_sessions(work / "scripts")["session-30min"]
        run = play_and_record(args, script, work)
        result = compare(args, script, work, run)
    finally:
        if args.keep:
            print(f"underrun: kept {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)
    result["pass"] = verdict(result)
    print(
        f"{'whole' if not args.cut else f'first {args.cut:g} s of'} {Path(str(script)).name}, "
        f"engine {result['engine']}, other core busy ({result['hog']}): "
        f"starved frames {result['starved_frames']}, drop-outs {result.get('dropouts')}, "
        f"extras {result.get('extras')}, worst onset {result.get('worst_onset_ms')} ms, "
        f"span error {result.get('span_error_ms', 'n/a')} ms"
    )
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
