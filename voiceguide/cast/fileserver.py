"""Serve one rendered file over HTTP to a speaker on the home network.

aiohttp's ``FileResponse`` answers HEAD, byte ranges (206), ``If-Range``,
``ETag`` and ``Last-Modified`` itself, which renderers rely on to seek. The
file sits under a random path segment so nothing else on the network can
guess it, and every request is reported once it is answered.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from voiceguide.core.plural import counted
from voiceguide.errors import OutputError

# DLNA renderers (TVs especially) refuse a stream without these: MP3 profile,
# byte seeking allowed (OP=01), streaming transfer mode.
DLNA_HEADERS = {
    "transferMode.dlna.org": "Streaming",
    "contentFeatures.dlna.org": "DLNA.ORG_PN=MP3;DLNA.ORG_OP=01;DLNA.ORG_CI=0;"
    "DLNA.ORG_FLAGS=01700000000000000000000000000000",
}
# A documentation address (RFC 5737): only used to ask the routing table
# which local address faces the network; UDP connect() sends nothing.
_ANY_REMOTE_V4 = "192.0.2.1"


@dataclass(frozen=True)
class ServedRequest:
    """One answered request, as the speaker made it."""

    remote: str
    method: str
    path: str
    range: str | None
    status: int
    bytes_sent: int

    def line(self) -> str:
        asked = f" Range: {self.range}" if self.range else ""
        return (
            f"{self.remote} {self.method} {self.path}{asked} -> {self.status} "
            f"({counted(self.bytes_sent, 'byte')})"
        )


def _is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return address == "localhost"


def _resolve(host: str) -> tuple[socket.AddressFamily, str]:
    try:
        info = socket.getaddrinfo(host, None, proto=socket.IPPROTO_UDP)
    except socket.gaierror as exc:
        # The host may be a speaker's or Home Assistant's: it is named, not guessed at.
        raise OutputError(f"cannot resolve the host name {host}: {exc.strerror}") from None
    family, _, _, _, sockaddr = info[0]
    return family, str(sockaddr[0])


def _route_source(family: socket.AddressFamily, address: str) -> str | None:
    with socket.socket(family, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect((address, 9))
        except OSError:
            return None
        return str(probe.getsockname()[0])


def address_facing(peer_host: str) -> str:
    """The local address the peer can reach us on: the one our route to it leaves from.

    A loopback address is only chosen for a peer that is itself on loopback;
    otherwise the speaker would be told to fetch from its own localhost.
    """
    family, peer = _resolve(peer_host)
    source = _route_source(family, peer)
    if source is None:
        raise OutputError(f"no network route to {peer_host}; is this machine on its network?")
    if _is_loopback(source) and not _is_loopback(peer):
        raise OutputError(f"the only route to {peer_host} is through loopback; give --host ADDRESS")
    return source


def lan_address() -> str:
    """The address facing the local network, for a speaker whose own address is unknown."""
    source = _route_source(socket.AF_INET, _ANY_REMOTE_V4)
    if source is None or _is_loopback(source):
        raise OutputError("cannot tell which address the speaker can reach; give --host ADDRESS")
    return source


class FileServer:
    """Serves ``path`` at ``url`` until closed; one listening socket on ``host``."""

    def __init__(
        self,
        path: Path,
        host: str,
        port: int = 0,
        on_request: Callable[[ServedRequest], None] | None = None,
    ) -> None:
        self.path = path
        self.host = host
        self.port = port
        self.on_request = on_request
        self.token = secrets.token_urlsafe(12)
        self.url_path = f"/{self.token}/{quote(path.name)}"
        self._runner: Any = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}{self.url_path}"

    async def start(self) -> str:
        try:
            from aiohttp import web
            from aiohttp.abc import AbstractAccessLogger
        except ModuleNotFoundError:
            raise OutputError(
                "serving audio to speakers needs aiohttp (pip install 'voiceguide[cast]')"
            ) from None

        served = self.path

        async def send_file(request: web.Request) -> web.StreamResponse:
            if request.match_info["name"] != served.name:
                raise web.HTTPNotFound()
            return web.FileResponse(served, headers=DLNA_HEADERS)

        report = self.on_request

        class Recorder(AbstractAccessLogger):
            def log(
                self, request: web.BaseRequest, response: web.StreamResponse, time: float
            ) -> None:
                if report is not None:
                    remote = request.remote or "?"
                    report(
                        ServedRequest(
                            remote,
                            request.method,
                            request.path,
                            request.headers.get("Range"),
                            response.status,
                            # What was promised; sendfile leaves body_length unset.
                            response.content_length or 0,
                        )
                    )

        app = web.Application()
        # The name as a placeholder: the router matches decoded paths, and a
        # file name may hold characters that are special in route patterns.
        app.router.add_get(f"/{self.token}/{{name}}", send_file)
        runner = web.AppRunner(app, access_log_class=Recorder, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port, reuse_address=True)
        try:
            await site.start()
        except OSError as exc:
            await runner.cleanup()
            reason = os.strerror(exc.errno) if exc.errno else str(exc)
            raise OutputError(
                f"cannot serve on {self.host}:{self.port}: {reason.lower()}"
            ) from None
        self._runner = runner
        self.port = int(runner.addresses[0][1])
        return self.url

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
