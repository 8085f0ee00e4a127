"""What `serve` prints once it listens: addresses a phone can open, and a QR code of one.

Each case runs `voiceguide serve` in a network namespace of its own (`unshare
-n`, as root), with interfaces and addresses the test chose: documentation
addresses (RFC 5737) on a veth pair, so nothing of the real network is used
and the expected addresses are known. The QR code is read back with a real
decoder (zxing-cpp) from the characters printed on the terminal.
"""

from __future__ import annotations

import os
import pty
import re
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from server_helpers import TINY

pytestmark = pytest.mark.network

LOOPBACK_ONLY = "ip link set lo up"
# Two networks: the default route leaves from the first address.
TWO_NETWORKS = (
    "ip link set lo up"
    " && ip link add vga type veth peer name vgb && ip link add vgc type veth peer name vgd"
    " && ip addr add 192.0.2.10/24 dev vga && ip addr add 198.51.100.7/24 dev vgc"
    " && for d in vga vgb vgc vgd; do ip link set $d up; done"
    " && ip route add default via 192.0.2.1"
)


def _namespaces_work() -> str | None:
    if os.geteuid() != 0:
        return "needs root to make a network namespace (unshare -n)"
    probe = subprocess.run(
        ["unshare", "-n", "sh", "-c", TWO_NETWORKS], capture_output=True, text=True
    )
    if probe.returncode != 0:
        return f"cannot make a network namespace with veth links: {probe.stderr.strip()}"
    return None


@pytest.fixture(scope="module")
def netns() -> None:
    reason = _namespaces_work()
    if reason is not None:
        pytest.skip(reason)


def serve_in_namespace(tmp_path: Path, setup: str, host: str, *, terminal: bool) -> tuple[str, int]:
    """What serve prints on stderr until it has said where it listens; then it is stopped."""
    scripts = tmp_path / "scripts"
    scripts.mkdir(exist_ok=True)
    (scripts / "tiny.yaml").write_text(TINY)
    command = [
        sys.executable, "-m", "voiceguide", "serve", str(scripts), "--host", host,
        "--port", "0", "--engine", "test", "--cache-dir", str(tmp_path / "cache"),
    ]  # fmt: skip
    shell = f'{setup} && exec "$@"'
    reader, writer = pty.openpty() if terminal else os.pipe()
    process = subprocess.Popen(
        ["unshare", "-n", "sh", "-c", shell, "sh", *command],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=writer,
        env={**os.environ, "XDG_CACHE_HOME": str(tmp_path / "xdg")},
    )
    os.close(writer)
    text = ""
    try:
        deadline = time.monotonic() + 60
        # The announcement is written at once: done at the blank line that
        # ends a QR code, or a little after the first line when there is none.
        quiet_since: float | None = None
        while time.monotonic() < deadline:
            ready, _, _ = select.select([reader], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(reader, 65536)
                except OSError:
                    chunk = b""
                if not chunk:
                    break
                text += chunk.decode("utf-8", "replace")
                quiet_since = None
            elif "Serving on" in text:
                quiet_since = quiet_since or time.monotonic()
                if time.monotonic() - quiet_since > 1.0:
                    break
        assert "Serving on" in text, text
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(30)
        os.close(reader)
    return text.replace("\r\n", "\n"), process.returncode


def decoded_qr(text: str) -> list[str]:
    """What a QR decoder reads in the half-block characters of ``text``."""
    import zxingcpp

    art = [line for line in text.splitlines() if line and set(line) <= set("█▀▄ ")]
    if not art:
        return []
    width = max(len(line) for line in art)
    rows: list[list[bool]] = []
    for line in art:
        line = line.ljust(width)
        rows.append([c in "█▀" for c in line])  # the upper half of each character
        rows.append([c in "█▄" for c in line])  # the lower half
    # A printed block is light on a dark terminal: light modules are white.
    image = np.where(np.array(rows), 255, 0).astype(np.uint8)
    image = np.pad(np.kron(image, np.ones((6, 6), dtype=np.uint8)), 24, constant_values=255)
    return [result.text for result in zxingcpp.read_barcodes(image)]


def test_every_address_is_printed_and_the_qr_code_opens_the_first(
    netns: None, tmp_path: Path
) -> None:
    pytest.importorskip("zxingcpp", reason="needs zxing-cpp (pip install -e '.[dev]')")
    text, code = serve_in_namespace(tmp_path, TWO_NETWORKS, "0.0.0.0", terminal=True)
    found = re.search(r"Serving on http://192\.0\.2\.10:(\d+)/  \(Ctrl-C stops\)\n", text)
    assert found, text
    port = found.group(1)
    assert f"       and http://198.51.100.7:{port}/\n" in text
    assert "0.0.0.0" not in text and "127.0.0.1" not in text
    assert decoded_qr(text) == [f"http://192.0.2.10:{port}/"]
    assert code == 0


def test_no_qr_code_when_stderr_is_not_a_terminal(netns: None, tmp_path: Path) -> None:
    text, _ = serve_in_namespace(tmp_path, TWO_NETWORKS, "0.0.0.0", terminal=False)
    assert re.search(r"Serving on http://192\.0\.2\.10:\d+/", text), text
    assert not set(text) & set("█▀▄")


def test_with_only_loopback_it_says_so_and_prints_no_code(netns: None, tmp_path: Path) -> None:
    text, _ = serve_in_namespace(tmp_path, LOOPBACK_ONLY, "0.0.0.0", terminal=True)
    first = text.split("Serving on ", 1)[1].splitlines()[0]
    assert re.fullmatch(
        r"http://127\.0\.0\.1:\d+/  \(Ctrl-C stops; this machine has no network address "
        r"besides loopback, only it can open this\)",
        first,
    ), text
    assert not set(text) & set("█▀▄")


def test_bound_to_loopback_it_prints_loopback(netns: None, tmp_path: Path) -> None:
    text, _ = serve_in_namespace(tmp_path, TWO_NETWORKS, "127.0.0.1", terminal=True)
    assert re.search(r"Serving on http://127\.0\.0\.1:\d+/  \(Ctrl-C stops\)\n", text), text
    assert "192.0.2.10" not in text and not set(text) & set("█▀▄")


def test_bound_to_one_address_it_prints_that_address(netns: None, tmp_path: Path) -> None:
    text, _ = serve_in_namespace(tmp_path, TWO_NETWORKS, "198.51.100.7", terminal=False)
    assert re.search(r"Serving on http://198\.51\.100\.7:\d+/  \(Ctrl-C stops\)\n", text), text
    assert "192.0.2.10" not in text
