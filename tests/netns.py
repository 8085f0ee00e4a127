"""Two private network namespaces joined by a veth pair, for real peers in tests.

The renderer side gets 127.0.0.2 and the client side 127.0.0.3: loopback-range
addresses on a real (non-loopback) interface, which needs route_localnet=1,
so every packet stays inside namespaces the test made and no address of any
real network is used. Each namespace keeps 127.0.0.1/32 on its own lo (some
peers, like libupnp, need a loopback) but not the rest of 127/8, so the other
side's address routes over the veth. IPv6 is off, so no duplicate-address
detection delays the links.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass

RENDERER_ADDRESS = "127.0.0.2"
CLIENT_ADDRESS = "127.0.0.3"


def unavailable() -> str | None:
    """Why namespaces cannot be made here, or None."""
    if shutil.which("ip") is None:
        return "needs iproute2's `ip` (apt-get install iproute2)"
    if os.geteuid() != 0:
        return "needs root to create network namespaces"
    probe = f"vgprobe{os.getpid()}"
    made = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)
    if made.returncode != 0:
        return f"cannot create a network namespace: {made.stderr.strip()}"
    subprocess.run(["ip", "netns", "del", probe], capture_output=True)
    return None


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True)


@dataclass
class Pair:
    renderer_ns: str
    client_ns: str

    def command(self, ns: str, args: Sequence[str]) -> list[str]:
        return ["ip", "netns", "exec", ns, *args]

    def close(self) -> None:
        for ns in (self.renderer_ns, self.client_ns):
            # Deleting a namespace deletes its end of the veth, and so the pair.
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)


def make_pair(tag: str) -> Pair:
    pair = Pair(f"vg{tag}r", f"vg{tag}c")
    try:
        for ns in (pair.renderer_ns, pair.client_ns):
            _ip("netns", "add", ns)
        _ip("link", "add", f"{pair.renderer_ns}0", "type", "veth", "peer", f"{pair.client_ns}0")
        for ns, address in ((pair.renderer_ns, RENDERER_ADDRESS), (pair.client_ns, CLIENT_ADDRESS)):
            dev = f"{ns}0"
            _ip("link", "set", dev, "netns", ns)
            ns_ip = ["-n", ns]
            for setting in (
                "net.ipv6.conf.all.disable_ipv6=1",
                "net.ipv6.conf.default.disable_ipv6=1",
                "net.ipv4.conf.all.route_localnet=1",
                f"net.ipv4.conf.{dev}.route_localnet=1",
            ):
                subprocess.run(
                    pair.command(ns, ["sysctl", "-qw", setting]), check=True, capture_output=True
                )
            _ip(*ns_ip, "link", "set", "lo", "up")
            _ip(*ns_ip, "addr", "del", "127.0.0.1/8", "dev", "lo")
            _ip(*ns_ip, "addr", "add", "127.0.0.1/32", "dev", "lo")
            _ip(*ns_ip, "addr", "add", f"{address}/8", "dev", dev)
            _ip(*ns_ip, "link", "set", dev, "up")
            # SSDP's multicast goes out over the veth too.
            _ip(*ns_ip, "route", "add", "224.0.0.0/4", "dev", dev)
    except BaseException:
        pair.close()
        raise
    return pair
