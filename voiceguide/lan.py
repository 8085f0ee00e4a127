"""This machine's addresses on its networks: what a phone or a speaker can reach.

A server bound to 0.0.0.0 is reachable on each of them, but "0.0.0.0" is
no address a phone can open; `serve` prints these instead, and `speakers`
knows there is nothing to search when there are none.
"""

from __future__ import annotations

import ipaddress
import socket

Address = ipaddress.IPv4Address | ipaddress.IPv6Address

# A documentation address (RFC 5737): only used to ask the routing table which
# local address faces the network; a UDP connect() sends nothing.
_ANY_REMOTE_V4 = "192.0.2.1"


def interface_addresses() -> list[Address]:
    """Every address of every interface that is configured, loopback included."""
    import ifaddr

    found: list[Address] = []
    for adapter in ifaddr.get_adapters():
        for ip in adapter.ips:
            # ifaddr gives IPv6 as (address, flowinfo, scope id).
            text = ip.ip[0] if isinstance(ip.ip, tuple) else ip.ip
            try:
                address = ipaddress.ip_address(text.split("%")[0])
            except ValueError:
                continue
            if address not in found:
                found.append(address)
    return found


def on_a_network() -> bool:
    """Whether any interface has an address besides loopback."""
    return any(not a.is_loopback for a in interface_addresses())


def _route_source_v4() -> str | None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect((_ANY_REMOTE_V4, 9))
        except OSError:
            return None
        return str(probe.getsockname()[0])


def reachable_addresses(bound: str) -> list[str]:
    """The addresses others can open a server bound to ``bound`` on, best first.

    A wildcard ("0.0.0.0", "::" or "") means every address of its families
    except loopback and link-local ones (a phone cannot use those in a URL
    that it is given); the one the default route leaves from comes first.
    With no such address there is only loopback. Any other ``bound`` is
    itself the one address.
    """
    wildcard = {"": (4, 6), "0.0.0.0": (4,), "::": (4, 6)}.get(bound)
    if wildcard is None:
        return [bound]
    usable = [
        a
        for a in interface_addresses()
        if a.version in wildcard and not (a.is_loopback or a.is_link_local or a.is_multicast)
    ]
    usable.sort(key=lambda a: a.version)
    primary = _route_source_v4()
    usable.sort(key=lambda a: str(a) != primary)
    if not usable:
        return ["127.0.0.1"]
    return [str(a) for a in usable]


def url_host(address: str) -> str:
    """The host part of a URL for ``address``: IPv6 in brackets."""
    return f"[{address}]" if ":" in address else address
