"""Stopping the helper processes tests start (sound servers, renderers)."""

from __future__ import annotations

import subprocess


def stop(process: subprocess.Popen[bytes] | subprocess.Popen[str], grace_s: float) -> None:
    """Ask ``process`` to end; kill it if it has not within ``grace_s``."""
    process.terminate()
    try:
        process.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
