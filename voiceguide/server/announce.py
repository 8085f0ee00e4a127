"""What `serve` prints once it listens: addresses a phone can open, and a QR code.

Bound to every address (``--host 0.0.0.0``), the server is reached on each
of the machine's network addresses; those are printed, the one facing the
default route first. The QR code of that first address goes to stderr, like
the rest of what `serve` says, and only when stderr is a terminal (piped
into a log it would be a block of unreadable characters) and the address is
not loopback (a phone cannot open that).
"""

from __future__ import annotations

import io
import ipaddress
from urllib.parse import urlsplit

from ..lan import reachable_addresses, url_host

WILDCARDS = ("", "0.0.0.0", "::")


def urls(host: str, port: int) -> list[str]:
    """The URLs the server bound to ``host`` and ``port`` is opened on, best first."""
    return [f"http://{url_host(a)}:{port}/" for a in reachable_addresses(host)]


def announcement(host: str, shown: list[str], *, qr: bool) -> str:
    """The lines printed when the server listens on ``shown`` (from ``urls``)."""
    first, *others = shown
    note = ""
    if host in WILDCARDS and _loopback(first):
        note = "; this machine has no network address besides loopback, only it can open this"
    lines = [f"Serving on {first}  (Ctrl-C stops{note})"]
    lines += [f"       and {url}" for url in others]
    text = "\n".join(lines) + "\n"
    if qr and not _loopback(first):
        # A phone cannot open this machine's loopback: no code for it.
        text += qr_code(first)
    return text


def _loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def qr_code(url: str) -> str:
    """``url`` as a QR code in text: two rows of modules per line of half blocks."""
    import segno

    out = io.StringIO()
    segno.make(url, micro=False).terminal(out=out, compact=True, border=2)
    return out.getvalue()
