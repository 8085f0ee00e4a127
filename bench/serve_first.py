"""The first request to a fresh `voiceguide serve`: the library page and the session list.

For each run and each path (``/`` and ``/sessions.json``) it starts
``python -m voiceguide serve SOURCES --host 127.0.0.1 --port 0`` with a new,
empty ``--cache-dir`` and an empty phrase cache (``XDG_CACHE_HOME``), waits
for the address it prints, and times that path as the server's very first
request (urllib, a new connection), then stops the server. A server serves
one path only, so neither request finds the other's work done. Goal: at
most 300 ms each.

Usage::

    .venv/bin/python bench/serve_first.py --engine piper --runs 3   # SOURCES: scripts/

The last line printed is JSON, for bench/run.py.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PATHS = ("/", "/sessions.json")
READY_TIMEOUT_S = 30.0
REQUEST_TIMEOUT_S = 180.0
# A first request slower than this is not repeated: one run says enough.
ONCE_AFTER_S = 20.0


def first_request(sources: list[str], engine: str | None, path: str) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="voiceguide-serve-") as folder:
        command = [sys.executable, "-m", "voiceguide", "serve", *sources]
        command += ["--host", "127.0.0.1", "--port", "0", "--cache-dir", f"{folder}/served"]
        command += ["--engine", engine] if engine else []
        log = Path(folder) / "serve.log"
        started = time.monotonic()
        with log.open("wb") as out:
            server = subprocess.Popen(
                command,
                cwd=ROOT,
                env={
                    **os.environ,
                    "XDG_CACHE_HOME": f"{folder}/cache",
                    "XDG_DATA_HOME": f"{folder}/data",
                },
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        try:
            url = None
            while url is None:
                found = re.search(r"Serving on (http://\S+/)", log.read_text("utf-8", "replace"))
                if found:
                    url = found.group(1)
                elif server.poll() is not None or time.monotonic() - started > READY_TIMEOUT_S:
                    raise RuntimeError(f"serve did not start: {log.read_text()[-600:]}")
                else:
                    time.sleep(0.01)
            ready_s = time.monotonic() - started
            before = time.perf_counter()
            with urllib.request.urlopen(url + path.lstrip("/"), timeout=REQUEST_TIMEOUT_S) as r:
                size = len(r.read())
                status = r.status
            seconds = time.perf_counter() - before
        finally:
            server.send_signal(signal.SIGINT)
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
    return {"path": path, "seconds": seconds, "status": status, "bytes": size, "ready_s": ready_s}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sources", nargs="*", default=["scripts"], help="default: scripts/")
    parser.add_argument("--engine", help="passed to `voiceguide serve --engine`")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    summary: dict[str, object] = {"engine": args.engine or "scripts'", "sources": args.sources}
    for path in PATHS:
        runs = []
        for _ in range(args.runs):  # the paths one after the other, each on a fresh server
            runs.append(first_request(args.sources, args.engine, path))
            if runs[0]["seconds"] > ONCE_AFTER_S:  # type: ignore[operator]
                break
        times = [float(r["seconds"]) for r in runs]  # type: ignore[arg-type]
        summary[path] = {
            "runs_s": [round(t, 4) for t in times],
            "best_s": round(min(times), 4),
            "median_s": round(statistics.median(times), 4),
            "status": sorted({r["status"] for r in runs}),  # type: ignore[type-var]
            "bytes": runs[-1]["bytes"],
            "ready_s": round(min(float(r["ready_s"]) for r in runs), 3),  # type: ignore[arg-type]
        }
        print(
            f"first GET {path} on a fresh `voiceguide serve`: best {min(times) * 1000:.0f} ms, "
            f"median {statistics.median(times) * 1000:.0f} ms over {len(times)} runs",
            flush=True,
        )
    print(json.dumps(summary), flush=True)


if __name__ == "__main__":
    main()
