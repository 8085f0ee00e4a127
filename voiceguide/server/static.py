"""The web player's own files, read from the package once and served from memory.

Only the names found in the package's ``static`` folder at start-up exist;
a request names one of them or gets 404, so no path is built from a URL.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib.resources import files

from aiohttp import web

_TYPES = {
    ".css": "text/css",
    ".js": "text/javascript",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".webmanifest": "application/manifest+json",
}


@dataclass(frozen=True)
class StaticFile:
    body: bytes
    content_type: str
    etag: str

    def response(self, request: web.Request) -> web.Response:
        headers = {"ETag": f'"{self.etag}"', "Cache-Control": "no-cache"}
        if self.etag in request.headers.get("If-None-Match", ""):
            return web.Response(status=304, headers=headers)
        charset = "utf-8" if self.content_type.startswith("text/") else None
        return web.Response(
            body=self.body, content_type=self.content_type, charset=charset, headers=headers
        )


class StaticFiles:
    def __init__(self, by_name: dict[str, StaticFile]) -> None:
        self._by_name = by_name

    @classmethod
    def load(cls) -> StaticFiles:
        by_name = {}
        for item in files("voiceguide.server").joinpath("static").iterdir():
            suffix = "." + item.name.rsplit(".", 1)[-1]
            if item.is_file() and suffix in _TYPES:
                body = item.read_bytes()
                etag = hashlib.sha256(body).hexdigest()[:16]
                by_name[item.name] = StaticFile(body, _TYPES[suffix], etag)
        return cls(by_name)

    def get(self, name: str) -> StaticFile | None:
        return self._by_name.get(name)

    def names(self) -> list[str]:
        return sorted(self._by_name)
