"""Runs one command and reports its wall time and peak memory as JSON.

``python bench/rusage_child.py LOG -- COMMAND...`` starts COMMAND with its
output going to LOG, waits for it and prints one JSON line: wall time
(measured here, around the child alone, so this wrapper's own start-up is
not counted), the exit status, and from ``getrusage(RUSAGE_CHILDREN)`` the
child's peak resident set size and CPU times.

The wrapper exists for the memory figure: a child's ``ru_maxrss`` starts at
the resident size of the process that spawned it, so the spawning process
has to be this small one, not the benchmark harness. It imports nothing
beyond the standard library.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time


def main(argv: list[str]) -> int:
    if len(argv) < 3 or argv[1] != "--":
        print("usage: rusage_child.py LOG -- COMMAND...", file=sys.stderr)
        return 2
    log, command = argv[0], argv[2:]
    with open(log, "ab") as out:
        start = time.perf_counter()
        status = subprocess.call(command, stdout=out, stderr=subprocess.STDOUT)
        wall_s = time.perf_counter() - start
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = {
        "returncode": status,
        "wall_s": wall_s,
        # Linux reports ru_maxrss in KiB.
        "maxrss_kib": usage.ru_maxrss,
        "user_s": usage.ru_utime,
        "sys_s": usage.ru_stime,
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
