"""Cold render time of the seed routine with the neural (piper) voice.

Cold: a fresh process and an empty phrase cache, so every phrase is
synthesised. Prints one line per run and the best; run it with
``.venv/bin/python bench/neural_cold.py [RUNS]``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "scripts/back-spasm-relief.yaml"


def cold_render_s(folder: Path) -> float:
    env = {**os.environ, "XDG_CACHE_HOME": str(folder / "cache")}
    command = [
        sys.executable, "-m", "voiceguide", "export", str(SEED),
        "-o", str(folder / "seed.mp3"), "--engine", "piper", "--quiet",
    ]  # fmt: skip
    start = time.perf_counter()
    subprocess.run(command, env=env, check=True)
    return time.perf_counter() - start


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    times = []
    for run in range(runs):
        with tempfile.TemporaryDirectory(prefix="voiceguide-bench-") as folder:
            seconds = cold_render_s(Path(folder))
        times.append(seconds)
        print(f"run {run + 1}: {seconds:.2f} s")
    print(f"seed routine, neural voice, cold render: best {min(times):.2f} s of {runs}")


if __name__ == "__main__":
    main()
