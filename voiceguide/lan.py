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


def _adapters() -> list[list[Address]]:
    """The addresses of each configured interface, loopback's included."""
    import ifaddr

    adapters = []
    for adapter in ifaddr.get_adapters():
        addresses: list[Address] = []
        for ip in adapter.ips:
            # ifaddr gives IPv6 as (address, flowinfo, scope id).
            text = ip.ip[0] if isinstance(ip.ip, tuple) else ip.ip
            try:
                addresses.append(ipaddress.ip_address(text.split("%")[0]))
            except ValueError:
                continue
        adapters.append(addresses)
    return adapters


def interface_addresses() -> list[Address]:
    """Every address of every interface that is configured, loopback included."""
    found: list[Address] = []
    for addresses in _adapters():
        found.extend(a for a in addresses if a not in found)
    return found


_LOOPBACK = (ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1"))


def on_a_network() -> bool:
    """Whether any interface besides loopback has an address.

    The loopback interface is the one holding 127.0.0.1 or ::1 and nothing
    else but loopback addresses: another interface given an address of the
    127/8 range (a test's private network) is a network all the same.
    """
    return any(
        addresses
        and not (all(a.is_loopback for a in addresses) and any(a in _LOOPBACK for a in addresses))
        for addresses in _adapters()
    )


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
