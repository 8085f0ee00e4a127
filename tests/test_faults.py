"""Faults injected into real `voiceguide export` processes: kill -9, a file-size limit, a full disk.

Each run is a separate process, so what is checked is what a person finds on
disk afterwards, not what an in-process mock pretends.
"""

from __future__ import annotations

import os
import resource
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from voiceguide.outputs.atomic import _STALE_AFTER_S

# Long enough (about 12 minutes of audio) that the export is still encoding
# when it is killed, short to plan: the test engine makes the phrases.
LONG_SCRIPT = """\
title: Long enough to kill
steps:
  - say: Settle in.
  - repeat: 12
    steps:
      - exercise: Knee hug
        say: Hug your knee.
        hold: 50s
        release: Let go.
"""


def export_command(script: Path, dest: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "voiceguide",
        "export",
        str(script),
        "-o",
        str(dest),
        "--engine",
        "test",
        "--no-cache",
        "--split",
        "--subtitles",
    ]


def temps_of(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob(".*.tmp-*"))


@pytest.fixture
def long_script(tmp_path: Path) -> Path:
    path = tmp_path / "long.yaml"
    path.write_text(LONG_SCRIPT, encoding="utf-8")
    return path


@pytest.mark.slow
def test_kill_9_during_export_leaves_the_old_file_and_the_next_export_cleans_up(
    tmp_path: Path, long_script: Path
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    dest = out / "long.mp3"
    dest.write_bytes(b"the old, complete file")
    process = subprocess.Popen(export_command(long_script, dest), stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    # Kill it once the main temporary has audio in it: mid-encoding.
    while time.monotonic() < deadline and process.poll() is None:
        written = [p for p in temps_of(out) if p.suffix == ".mp3" and p.stat().st_size > 50_000]
        if written:
            break
        time.sleep(0.02)
    assert process.poll() is None, "the export finished before it could be killed"
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    assert dest.read_bytes() == b"the old, complete file"
    assert not (out / "long.vtt").exists() and not (out / "long.m3u").exists()
    left = temps_of(out)
    assert left, "a killed process cannot remove its temporaries"

    # The temporaries are stale once their age passes the threshold and no
    # live process holds their lock; the next export of that file removes them.
    old = time.time() - _STALE_AFTER_S - 1
    for temp in left:
        os.utime(temp, (old, old))
    done = subprocess.run(export_command(long_script, dest), capture_output=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert dest.read_bytes()[:3] in (b"ID3", b"\xff\xfb")
    assert temps_of(out) == []


def test_a_live_exports_temporary_is_never_removed(tmp_path: Path) -> None:
    from voiceguide.outputs.atomic import AtomicFiles

    dest = tmp_path / "x.mp3"
    with AtomicFiles() as first:
        temp = first.temp_for(dest)
        temp.write_bytes(b"in progress")
        old = time.time() - _STALE_AFTER_S - 1
        os.utime(temp, (old, old))
        with AtomicFiles() as second:  # another export of the same file, meanwhile
            other = second.temp_for(dest)
            other.write_bytes(b"second")
        assert temp.read_bytes() == b"in progress"
    assert dest.read_bytes() == b"in progress"  # the last one to finish wins, whole


def _limit_file_size(limit_bytes: int) -> None:
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit_bytes, limit_bytes))


def test_a_file_size_limit_gives_one_line_and_no_partial_file(
    tmp_path: Path, long_script: Path
) -> None:
    dest = tmp_path / "out" / "long.mp3"
    done = subprocess.run(
        export_command(long_script, dest),
        capture_output=True,
        text=True,
        timeout=300,
        preexec_fn=lambda: _limit_file_size(2_000_000),
    )
    assert done.returncode == 1, done.stderr
    lines = done.stderr.strip().splitlines()
    assert lines == [f"voiceguide: cannot write {dest}: file too large"], done.stderr
    assert not dest.exists()
    assert temps_of(tmp_path) == []


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 3 MB tmpfs: a disk that really fills up."""
    mount = shutil.which("mount")
    where = tmp_path / "small"
    where.mkdir()
    if mount is None or os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root and mount(8)")
    made = subprocess.run(
        [mount, "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(where)], capture_output=True
    )
    if made.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {made.stderr.decode().strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", str(where)], check=False)


def test_a_full_disk_gives_one_line_and_leaves_the_old_file(
    small_disk: Path, long_script: Path
) -> None:
    dest = small_disk / "long.mp3"
    dest.write_bytes(b"old")
    done = subprocess.run(
        export_command(long_script, dest), capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 1, done.stderr
    (line,) = done.stderr.strip().splitlines()
    # Whichever of the session's files (main, tracks) hits the limit first is named.
    assert line.startswith(f"voiceguide: cannot write {small_disk}/"), line
    assert line.endswith(": the disk is full"), line
    assert dest.read_bytes() == b"old"
    assert sorted(p.name for p in small_disk.iterdir()) == ["long.mp3"]
