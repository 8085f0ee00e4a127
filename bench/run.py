"""voiceguide's speed and memory benchmarks; writes docs/benchmarks.md.

Usage (``make bench`` runs the first)::

    .venv/bin/python bench/run.py --write docs/benchmarks.md
    .venv/bin/python bench/run.py --only a,b        # some figures, printed only
    .venv/bin/python bench/run.py --quick           # one run per timing

Figures, with the goals from the issue:

a. a warm-cache export of a 30-minute session takes at most 1.5x the time
   the MP3 encoder alone takes on the same PCM;
b. a cold export (empty phrase cache) of scripts/back-spasm-relief.yaml
   takes at most 5 s;
c. the peak RSS of exporting a 2-hour session is at most 200 MB;
d. a cold export of the 30-minute session is at least 10x faster than the
   straightforward pyttsx3 + pydub pipeline (bench/baseline_pyttsx3_pydub.py).

Every measured command runs in a fresh process (``sys.executable``), through
bench/rusage_child.py for its wall time and peak RSS, so interpreter start-up
and imports count. The machine may be shared and noisy: each timing is taken
several times (best and median reported; goals judged on the best), and the
ratios compare commands run interleaved in the same invocation.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from measure import (
    BENCH,
    ROOT,
    MeasureError,
    Run,
    Stats,
    baseline_missing,
    load_average,
    machine_facts,
    measured,
    seconds_list,
)
from sessions import write_sessions

BACK_SCRIPT = ROOT / "scripts" / "back-spasm-relief.yaml"
FIGURES = ("a", "b", "c", "d")
GOAL_ENCODER_RATIO = 1.5
GOAL_COLD_S = 5.0
GOAL_RSS_MB = 200.0
GOAL_SPEEDUP = 10.0
# Figures (a)-(d) are the core issue's, whose default engine is espeak-ng;
# with piper installed `auto` would pick it (its cold figure is bench/neural_cold.py).
ENGINE = ("--engine", "espeak")
OTHER_FIGURES = "<!-- figures measured by other scripts: kept by bench/run.py -->"
# A baseline run longer than this is timed once, not --repeat times.
BASELINE_ONCE_AFTER_S = 60.0


@dataclass
class Result:
    """One figure: a row of the summary table and a section of details."""

    key: str
    figure: str
    goal: str
    measured: str
    verdict: str  # "pass", "fail", "not measured" or "error"
    details: list[str] = field(default_factory=list)


@dataclass
class ScriptInfo:
    path: Path
    duration_s: float
    events: int
    phrases: int
    notes: int


class Bench:
    """The shared state of one harness run: temp folder, scripts, repeats."""

    def __init__(self, work: Path, repeat: int) -> None:
        self.work = work
        self.repeat = repeat
        self.scripts = write_sessions(work / "scripts")
        self.warm_cache = work / "cache-warm"
        self.infos: dict[str, ScriptInfo] = {}
        self._fresh = 0

    def env(self, cache: Path) -> dict[str, str]:
        env = dict(os.environ)
        env["XDG_CACHE_HOME"] = str(cache)
        return env

    def fresh_cache(self) -> Path:
        """An empty cache folder of its own: a cold run."""
        self._fresh += 1
        path = self.work / f"cache-cold-{self._fresh}"
        path.mkdir()
        return path

    def log(self, name: str) -> Path:
        return self.work / "logs" / f"{name}.log"

    def info(self, name: str) -> ScriptInfo:
        """The script's planned timeline from `voiceguide check --json` (warms the cache)."""
        if name not in self.infos:
            path = BACK_SCRIPT if name == "back-spasm-relief" else self.scripts[name]
            done = subprocess.run(
                [sys.executable, "-m", "voiceguide", "check", "--json", str(path), *ENGINE],
                env=self.env(self.warm_cache),
                cwd=ROOT,
                capture_output=True,
                text=True,
                check=False,
            )
            if done.returncode != 0:
                raise MeasureError(f"voiceguide check {path} failed:\n{done.stderr.strip()}")
            plan = json.loads(done.stdout)
            phrases = {e["text"] for e in plan["events"] if e["kind"] == "speech"}
            self.infos[name] = ScriptInfo(
                path=path,
                duration_s=float(plan["duration"]),
                events=len(plan["events"]),
                phrases=len(phrases),
                notes=len(plan.get("notes", [])),
            )
        return self.infos[name]

    def export(self, name: str) -> list[str]:
        """The `voiceguide export` command for one script (its cache comes from the env)."""
        path = self.info(name).path
        out = self.work / "out" / f"{name}.mp3"
        out.parent.mkdir(exist_ok=True)
        return [
            sys.executable,
            "-m",
            "voiceguide",
            "export",
            str(path),
            "-o",
            str(out),
            "-q",
            *ENGINE,
        ]

    def stats(self, label: str, make: Callable[[int], tuple[list[str], dict[str, str]]]) -> Stats:
        """Runs ``make(i)`` ``repeat`` times (used for single commands)."""
        runs = []
        for i in range(self.repeat):
            command, env = make(i)
            runs.append(measured(command, self.log(f"{label}-{i}"), env))
        return Stats(tuple(runs))


def clock(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def runs_table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


# ------------------------------------------------------------------- the figures


def figure_a(bench: Bench) -> Result:
    name = "session-30min"
    info = bench.info(name)
    env = bench.env(bench.warm_cache)
    export = bench.export(name)
    pcm = bench.work / "session-30min.npy"
    # Untimed: the PCM the encoder-alone runs encode, and a warm-up of each command.
    render = [sys.executable, str(BENCH / "render_pcm.py"), str(info.path), str(pcm)]
    measured(render, bench.log("a-render-pcm"), env)
    encode = [sys.executable, str(BENCH / "encode_only.py"), str(pcm), str(bench.work / "enc.mp3")]
    one_stream = [*encode, "--one-stream"]
    startup = [sys.executable, "-c", "import voiceguide.pipeline"]
    measured(export, bench.log("a-warmup-export"), env)
    measured(encode, bench.log("a-warmup-encode"), env)

    exports: list[Run] = []
    encodes: list[Run] = []
    singles: list[Run] = []
    startups: list[Run] = []
    for i in range(bench.repeat):  # interleaved, so noise hits them all alike
        exports.append(measured(export, bench.log(f"a-export-{i}"), env))
        encodes.append(measured(encode, bench.log(f"a-encode-{i}"), env))
        singles.append(measured(one_stream, bench.log(f"a-one-stream-{i}"), env))
        startups.append(measured(startup, bench.log(f"a-startup-{i}"), env))
    ex, en, st = Stats(tuple(exports)), Stats(tuple(encodes)), Stats(tuple(startups))
    one = Stats(tuple(singles))
    ratio = ex.best / en.best
    ratio_median = ex.median / en.median
    net = (ex.best - st.best) / max(1e-9, en.best - st.best)
    verdict = "pass" if ratio <= GOAL_ENCODER_RATIO else "fail"
    details = [
        f"Session: {info.path.name}, {clock(info.duration_s)} planned; phrase cache filled by "
        "`voiceguide check` and a warm-up export before the timed runs.",
        "",
        *runs_table(
            ["process", "wall times (s)", "best", "median", "peak RSS"],
            [
                [
                    "`voiceguide export` (warm cache)",
                    seconds_list(ex),
                    f"{ex.best:.2f}",
                    f"{ex.median:.2f}",
                    f"{ex.peak_rss_mb:.0f} MB",
                ],
                [
                    "encoder alone (`bench/encode_only.py`)",
                    seconds_list(en),
                    f"{en.best:.2f}",
                    f"{en.median:.2f}",
                    f"{en.peak_rss_mb:.0f} MB",
                ],
                [
                    "for information: one LAME stream on one core (`encode_only.py --one-stream`)",
                    seconds_list(one),
                    f"{one.best:.2f}",
                    f"{one.median:.2f}",
                    f"{one.peak_rss_mb:.0f} MB",
                ],
                [
                    "`python -c 'import voiceguide.pipeline'`",
                    seconds_list(st),
                    f"{st.best:.2f}",
                    f"{st.median:.2f}",
                    f"{st.peak_rss_mb:.0f} MB",
                ],
            ],
        ),
        "",
        f"- ratio, best / best: **{ratio:.2f}×**; median / median: {ratio_median:.2f}×.",
        f"- for information, both minus the import start-up ({st.best:.2f} s): "
        f"{ex.best - st.best:.2f} s / {en.best - st.best:.2f} s = {net:.2f}×.",
        "- The encoder alone memory-maps the float32 PCM (rendered once beforehand with "
        "`pipeline.prepare` + `render.render_all`) and encodes it as the export does: "
        "`voiceguide.outputs.encode.write_audio_files`, LAME at 128 kbit/s in parts joined "
        "in the session's silences, one thread per core, 65536-sample chunks. Its RSS "
        "counts the mapped file pages.",
        f"- for information, the export against one LAME stream on one core: "
        f"{ex.best / one.best:.2f}× ({ex.best:.2f} s / {one.best:.2f} s).",
    ]
    return Result(
        "a",
        "(a) warm-cache export of the 30-minute session ÷ MP3 encoder alone on the same PCM",
        f"≤ {GOAL_ENCODER_RATIO}×",
        f"{ratio:.2f}× ({ex.best:.2f} s / {en.best:.2f} s; median {ratio_median:.2f}×)",
        verdict,
        details,
    )


def figure_b(bench: Bench) -> Result:
    info = bench.info("back-spasm-relief")

    def make(_: int) -> tuple[list[str], dict[str, str]]:
        cache = bench.fresh_cache()
        return bench.export("back-spasm-relief"), bench.env(cache)

    st = bench.stats("b-export-cold", make)
    verdict = "pass" if st.best <= GOAL_COLD_S else "fail"
    details = [
        f"Script: scripts/{info.path.name}, {clock(info.duration_s)} planned, "
        f"{info.phrases} distinct phrases. Each run has a new, empty `XDG_CACHE_HOME`.",
        "",
        f"- wall times: {seconds_list(st)} s; best {st.best:.2f} s, median {st.median:.2f} s.",
        f"- peak RSS: {st.peak_rss_mb:.0f} MB.",
    ]
    return Result(
        "b",
        "(b) cold export of scripts/back-spasm-relief.yaml (empty cache)",
        f"≤ {GOAL_COLD_S:g} s",
        st.describe(),
        verdict,
        details,
    )


def figure_c(bench: Bench) -> Result:
    name = "session-2h"
    info = bench.info(name)
    runs = []
    kinds = []
    for i in range(max(2, bench.repeat)):
        cold = i == 0
        cache = bench.fresh_cache() if cold else bench.warm_cache
        kinds.append("cold" if cold else "warm")
        runs.append(measured(bench.export(name), bench.log(f"c-export-{i}"), bench.env(cache)))
    st = Stats(tuple(runs))
    peak = st.peak_rss_mb
    verdict = "pass" if peak <= GOAL_RSS_MB else "fail"
    rows = [
        [str(i + 1), kind, f"{r.wall_s:.2f}", f"{r.maxrss_mb:.0f} MB ({r.maxrss_mib:.0f} MiB)"]
        for i, (kind, r) in enumerate(zip(kinds, runs, strict=True))
    ]
    details = [
        f"Session: {info.path.name}, {clock(info.duration_s)} planned, {info.events} events, "
        f"{info.phrases} distinct phrases. The first run has an empty phrase cache, the others "
        "a warm one; the figure is the largest peak of all runs.",
        "",
        *runs_table(["run", "cache", "wall (s)", "peak RSS"], rows),
    ]
    return Result(
        "c",
        "(c) peak RSS exporting the 2-hour session",
        f"≤ {GOAL_RSS_MB:g} MB",
        f"{peak:.0f} MB ({max(r.maxrss_mib for r in runs):.0f} MiB), max of {len(runs)} runs",
        verdict,
        details,
    )


def figure_d(bench: Bench) -> Result:
    name = "session-30min"
    figure = "(d) cold 30-minute export vs pyttsx3 + pydub (`bench/baseline_pyttsx3_pydub.py`)"
    goal = f"≥ {GOAL_SPEEDUP:g}× faster"
    missing = baseline_missing()
    if missing:
        details = ["The baseline cannot run here; it needs:", ""]
        details += [f"- {m}" for m in missing]
        return Result("d", figure, goal, "not measured", "not measured", details)
    info = bench.info(name)
    baseline_out = bench.work / "out" / "baseline.mp3"
    baseline_out.parent.mkdir(exist_ok=True)
    baseline = [
        sys.executable,
        str(BENCH / "baseline_pyttsx3_pydub.py"),
        str(info.path),
        str(baseline_out),
    ]
    base_runs: list[Run] = []
    vg_runs: list[Run] = []
    phases: list[dict[str, float]] = []
    for i in range(bench.repeat):
        if i == 0 or base_runs[0].wall_s < BASELINE_ONCE_AFTER_S:
            run = measured(baseline, bench.log(f"d-baseline-{i}"), bench.env(bench.warm_cache))
            base_runs.append(run)
            phases.append(json.loads(run.log.read_text().strip().splitlines()[-1]))
        cache = bench.fresh_cache()
        vg_runs.append(measured(bench.export(name), bench.log(f"d-export-{i}"), bench.env(cache)))
    base, vg = Stats(tuple(base_runs)), Stats(tuple(vg_runs))
    speedup = base.best / vg.best
    speedup_median = base.median / vg.median
    verdict = "pass" if speedup >= GOAL_SPEEDUP else "fail"
    once = " (ran once: it is slow)" if len(base_runs) == 1 and bench.repeat > 1 else ""
    last = phases[-1]
    details = [
        f"Session: {info.path.name}, {clock(info.duration_s)} planned. voiceguide runs cold "
        "(new, empty `XDG_CACHE_HOME` each time), since pyttsx3 has no cache; the baseline "
        "synthesises its phrases in every run.",
        "",
        *runs_table(
            ["process", "wall times (s)", "best", "median", "peak RSS"],
            [
                [
                    "baseline: pyttsx3 + pydub" + once,
                    seconds_list(base),
                    f"{base.best:.2f}",
                    f"{base.median:.2f}",
                    f"{base.peak_rss_mb:.0f} MB",
                ],
                [
                    "`voiceguide export` (cold cache)",
                    seconds_list(vg),
                    f"{vg.best:.2f}",
                    f"{vg.median:.2f}",
                    f"{vg.peak_rss_mb:.0f} MB",
                ],
            ],
        ),
        "",
        f"- speed-up, best / best: **{speedup:.1f}×**; median / median: {speedup_median:.1f}×.",
        f"- the baseline's last run: {last['phrases']} phrases synthesised in "
        f"{last['synthesis_s']:.2f} s, {last['events']} sounds concatenated in "
        f"{last['concatenate_s']:.2f} s, MP3 export (ffmpeg) {last['export_s']:.2f} s; "
        f"its session is {clock(last['built_s'])} long.",
    ]
    return Result(
        "d",
        figure,
        goal,
        f"{speedup:.1f}× ({base.best:.2f} s / {vg.best:.2f} s; median {speedup_median:.1f}×)",
        verdict,
        details,
    )


RUNNERS: dict[str, Callable[[Bench], Result]] = {
    "a": figure_a,
    "b": figure_b,
    "c": figure_c,
    "d": figure_d,
}


# ------------------------------------------------------------------- the report


def command_line(argv: list[str]) -> str:
    """The command as run, paths inside the checkout relative to it."""

    def shown(path: str) -> str:
        absolute = Path(path).absolute()  # not resolved: the venv's python is a symlink
        return str(absolute.relative_to(ROOT)) if absolute.is_relative_to(ROOT) else path

    return shlex.join([shown(sys.executable), shown(sys.argv[0]), *argv])


def report(
    results: list[Result],
    bench: Bench,
    argv: list[str],
    started: datetime,
    elapsed_s: float,
    facts: dict[str, str],
    loads: tuple[str, str],
) -> str:
    lines = [
        "# Benchmarks",
        "",
        "Written by `bench/run.py` (`make bench`); do not edit by hand.",
        "",
        f"- date: {started.strftime('%Y-%m-%d %H:%M UTC')}",
        f"- command: `{command_line(argv)}`",
        f"- runs per timing: {bench.repeat}; the harness took {clock(elapsed_s)}",
        "",
        "## Results",
        "",
        "| figure | goal | measured | result |",
        "| --- | --- | --- | --- |",
    ]
    for r in results:
        verdict = f"**{r.verdict}**" if r.verdict != "pass" else r.verdict
        lines.append(f"| {r.figure} | {r.goal} | {r.measured} | {verdict} |")
    lines += [
        "",
        "Times are wall-clock seconds of whole processes (interpreter start-up and imports "
        "included), each started afresh with `sys.executable`; goals are judged on the best "
        "run, as the machine is shared. MB are 10^6 bytes.",
        "",
        "## Sessions",
        "",
        "Generated by `bench/sessions.py` into a temporary folder: an introduction, a "
        "stretching circuit (exercises with both sides, reps, holds with breathing patterns, "
        "`breathe` steps, spoken instructions and pauses) repeated in a `repeat` block, and a "
        "cool-down; engine espeak (the core default). Lengths are from `voiceguide check --json`.",
        "",
    ]
    rows = [
        [
            f"`{i.path.name}`",
            clock(i.duration_s),
            f"{i.duration_s:.1f}",
            str(i.events),
            str(i.phrases),
            str(i.notes),
        ]
        for i in bench.infos.values()
    ]
    lines += runs_table(
        ["script", "planned length", "seconds", "events", "distinct phrases", "check notes"], rows
    )
    for r in results:
        lines += ["", f"## {r.figure}", "", *r.details]
    lines += ["", "## Machine", ""]
    lines += [f"- {key}: {value}" for key, value in facts.items()]
    lines += [f"- load average (1/5/15 min) at start: {loads[0]}; at end: {loads[1]}", ""]
    return "\n".join(lines)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--write", type=Path, metavar="PATH", help="Also write the report here.")
    parser.add_argument(
        "--only", metavar="LIST", help="Comma-separated figures to measure: a,b,c,d (default all)."
    )
    parser.add_argument("--quick", action="store_true", help="One run per timing.")
    parser.add_argument("--repeat", type=int, default=3, help="Runs per timing (default 3).")
    parser.add_argument("--keep", action="store_true", help="Keep the temporary folder.")
    args = parser.parse_args(argv)
    keys = [k.strip() for k in args.only.split(",") if k.strip()] if args.only else list(FIGURES)
    unknown = [k for k in keys if k not in FIGURES]
    if unknown or not keys:
        parser.error(f"--only takes a comma-separated list of {', '.join(FIGURES)}")
    args.keys = keys
    if args.quick:
        args.repeat = 1
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    return args


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    started = datetime.now(UTC)
    t0 = time.perf_counter()
    load_start = load_average()
    work = Path(tempfile.mkdtemp(prefix="voiceguide-bench-"))
    results: list[Result] = []
    failed = False
    try:
        bench = Bench(work, args.repeat)
        for key in args.keys:
            print(f"bench: figure ({key}) ...", file=sys.stderr, flush=True)
            try:
                result = RUNNERS[key](bench)
            except (MeasureError, subprocess.SubprocessError, OSError, ValueError) as exc:
                failed = True
                result = Result(key, f"({key})", "", "error", "error", ["```", str(exc), "```"])
            print(f"bench: ({key}) {result.measured}: {result.verdict}", file=sys.stderr)
            results.append(result)
        text = report(
            results,
            bench,
            argv,
            started,
            time.perf_counter() - t0,
            machine_facts(),
            (load_start, load_average()),
        )
    finally:
        if args.keep:
            print(f"bench: kept {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)
    print(text)
    if args.write is not None:
        args.write.parent.mkdir(parents=True, exist_ok=True)
        # Figures other scripts measure (play, the neural voice) follow a
        # marker; this harness rewrites only what comes before it.
        if args.write.exists():
            old = args.write.read_text(encoding="utf-8")
            if OTHER_FIGURES in old:
                text = text.rstrip("\n") + "\n\n" + old[old.index(OTHER_FIGURES) :]
        args.write.write_text(text, encoding="utf-8")
        print(f"bench: wrote {args.write}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
