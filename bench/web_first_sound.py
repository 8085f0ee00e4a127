"""Seconds from tapping play in the web player to sound, on a session never rendered.

Each run starts a fresh `voiceguide serve` (its own empty phrase cache and render
cache), opens the player page of the bundled back-spasm-relief session in
Debian's chromium (headless, through Playwright), clicks play as soon as the
button is there (the page's HTML parsed, as a person taps at once), and times
the click until the audio element's currentTime passes 0. Opening the page
already starts the render (the audio element asks for the stream), so each
run also prints the seconds from opening the page to sound.

Usage:

    python bench/web_first_sound.py --runs 5 --engine piper
    python bench/web_first_sound.py --runs 3 --engine espeak --session gentle-yoga
    python bench/web_first_sound.py --runs 5 --settle 5   # the page opened 5 s after start

The last line printed is

    web first sound: best X.XX s, median Y.YY s
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--autoplay-policy=no-user-gesture-required",
]
# Clicks play and resolves with the seconds until the media clock moves (or
# with -1 after two minutes); polled every few milliseconds, not per frame, as
# a headless page may draw few frames.
CLICK_TO_SOUND_JS = """() => new Promise((resolve) => {
  const audio = document.querySelector('#audio');
  const t0 = performance.now();
  document.querySelector('#play').click();
  const check = () => {
    const seconds = (performance.now() - t0) / 1000;
    if (audio.currentTime > 0) resolve(seconds);
    else if (seconds > 120) resolve(-1);
    else setTimeout(check, 2);
  };
  check();
})"""


def start_server(engine: str, folder: Path) -> tuple[subprocess.Popen[str], str]:
    env = {
        **os.environ,
        "XDG_CACHE_HOME": str(folder / "xdg"),
        "XDG_DATA_HOME": str(folder / "xdg"),
    }
    command = [sys.executable, "-m", "voiceguide", "serve", str(ROOT / "scripts")]
    command += ["--port", "0", "--cache-dir", str(folder / "served"), "--engine", engine]
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)
    assert process.stderr is not None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        found = re.search(r"Serving on (http://\S+/)", line)
        if found:
            return process, found.group(1)
        if not line:
            break
    process.kill()
    raise SystemExit("voiceguide serve did not print its address within 60 s")


def _children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def stop_server(process: subprocess.Popen[str]) -> None:
    """Stops serve and its render workers: a worker left finishing a render would
    take the processor from the next run."""
    workers = _children(process.pid)
    process.send_signal(signal.SIGINT)
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    for pid in workers:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            continue
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and Path(f"/proc/{pid}").exists():
            time.sleep(0.05)


def one_run(browser: object, engine: str, session: str, settle_s: float) -> float:
    with tempfile.TemporaryDirectory(
        prefix="vg-first-sound-", ignore_cleanup_errors=True
    ) as folder:
        process, url = start_server(engine, Path(folder))
        time.sleep(settle_s)
        try:
            context = browser.new_context()  # type: ignore[attr-defined]
            page = context.new_page()
            opened = time.monotonic()
            page.goto(f"{url}play/{session}", wait_until="domcontentloaded")
            seconds = float(page.evaluate(CLICK_TO_SOUND_JS))
            from_open_s = time.monotonic() - opened
            context.close()
        finally:
            stop_server(process)
    if seconds < 0:
        raise SystemExit("no sound within 120 s")
    print(f"  page opened to sound: {from_open_s:.2f} s", flush=True)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--engine", choices=["piper", "espeak"], default="piper")
    parser.add_argument("--session", default="back-spasm-relief")
    parser.add_argument(
        "--settle",
        type=float,
        default=0.0,
        metavar="S",
        help="seconds between serve listening and opening the page (default 0: at once)",
    )
    args = parser.parse_args()
    if not os.path.exists(CHROMIUM):
        raise SystemExit("Debian's chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    times = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            for run in range(args.runs):
                seconds = one_run(browser, args.engine, args.session, args.settle)
                times.append(seconds)
                print(f"run {run + 1}: {seconds:.2f} s", flush=True)
        finally:
            browser.close()
    print(f"web first sound: best {min(times):.2f} s, median {statistics.median(times):.2f} s")


if __name__ == "__main__":
    main()
