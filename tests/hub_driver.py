"""The hub in a process of its own, for tests that run it inside a network namespace.

``python hub_driver.py DATABASE BUSY_CHECK_S TIMEOUT_S``: runs voiceguide's
real `Hub` (the task `serve` runs) with a short busy-speaker check, until the
first due time has an outcome or the timeout passes; prints the outcomes as
JSON lines.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from voiceguide.pipeline import VoiceOptions
from voiceguide.server.hub import Hub


async def main(database: Path, busy_check_s: float, timeout_s: float) -> None:
    hub = Hub(
        VoiceOptions(engine="test", use_cache=False),
        db_path=database,
        busy_check_s=busy_check_s,
        poll_s=0.5,
    )
    task = asyncio.create_task(hub.run())
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while loop.time() < deadline and not hub.schedules.runs():
        await asyncio.sleep(0.2)
    for row in hub.schedules.runs():
        print(json.dumps({"outcome": row.outcome, "reason": row.reason, "run": row.run_id}))
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])))
