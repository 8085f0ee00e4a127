"""Who may see the session log: loopback, or devices signed in with a secret.

Pain ratings and notes are health data. Every route under ``PRIVATE_PREFIXES``
(the History page, the log's API, and anything another part adds under
/api/) is answered only to a client on this machine, unless ``serve`` has a
passphrase or a token: then other devices sign in at /signin (a random
session id in an HttpOnly, SameSite=Strict cookie, kept in memory and
expiring) or send ``Authorization: Bearer TOKEN``. Failed tries are limited
per client address; secrets are compared in constant time.

Two browser tricks are refused even on loopback: a form or beacon posted from
another site (its Origin is not this server), and DNS rebinding (a page whose
name resolves to 127.0.0.1 reads the API as its own origin): a loopback client
is trusted only when it names the server by an address or ``localhost``.
"""

from __future__ import annotations

import hmac
import ipaddress
import secrets
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from html import escape
from urllib.parse import urlsplit

from aiohttp import web
from aiohttp.typedefs import Handler

from ..core.phrases import Phrases

PRIVATE_PREFIXES = ("/history", "/api/")
COOKIE = "voiceguide_session"
SESSION_LIFETIME_S = 7 * 24 * 3600
FAILED_TRIES = 5
FAILED_WINDOW_S = 60.0
MAX_CLIENTS_REMEMBERED = 10_000
NOT_ALLOWED = (
    "The session log is served only to this computer: start serve with --passphrase "
    "or --token (or VOICEGUIDE_PASSPHRASE) to let other devices sign in.\n"
)


@dataclass
class Access:
    """The secrets `serve` was given, and the sign-ins made with them."""

    passphrase: str | None = None
    token: str | None = None
    clock: Callable[[], float] = time.monotonic
    sessions: dict[str, float] = field(default_factory=dict)  # id -> expiry
    failures: dict[str, deque[float]] = field(default_factory=dict)

    @property
    def secured(self) -> bool:
        return bool(self.passphrase or self.token)

    def matches(self, given: str) -> bool:
        """Whether ``given`` is the passphrase or the token, in constant time."""
        found = False
        for secret in (self.passphrase, self.token):
            if secret:
                # Both compared every time: how long it takes says nothing of which.
                found |= hmac.compare_digest(given.encode(), secret.encode())
        return found

    def sign_in(self) -> str:
        now = self.clock()
        self.sessions = {k: v for k, v in self.sessions.items() if v > now}
        ident = secrets.token_urlsafe(32)
        self.sessions[ident] = now + SESSION_LIFETIME_S
        return ident

    def signed_in(self, ident: str | None) -> bool:
        if not ident:
            return False
        expiry = next((v for k, v in self.sessions.items() if hmac.compare_digest(k, ident)), None)
        return expiry is not None and expiry > self.clock()

    def retry_after_s(self, client: str) -> float | None:
        """How long ``client`` must wait before trying again, or None."""
        tries = self.failures.get(client)
        if tries is None:
            return None
        now = self.clock()
        while tries and tries[0] <= now - FAILED_WINDOW_S:
            tries.popleft()
        if len(tries) < FAILED_TRIES:
            return None
        return max(1.0, tries[0] + FAILED_WINDOW_S - now)

    def failed(self, client: str) -> None:
        now = self.clock()
        if len(self.failures) > MAX_CLIENTS_REMEMBERED:
            # Many addresses guessing: forget those whose minute is over, so the
            # table stays bounded however many there are.
            self.failures = {
                k: v for k, v in self.failures.items() if v and v[-1] > now - FAILED_WINDOW_S
            }
        self.failures.setdefault(client, deque()).append(now)


ACCESS: web.AppKey[Access] = web.AppKey("access", Access)


def is_private(path: str) -> bool:
    return path == "/history" or path.startswith(PRIVATE_PREFIXES)


def loopback(address: str | None) -> bool:
    try:
        return address is not None and ipaddress.ip_address(address.split("%")[0]).is_loopback
    except ValueError:
        return False


def _named_by_address(request: web.BaseRequest) -> bool:
    """The Host is an IP address or localhost: no DNS name that could be rebound."""
    host = urlsplit("//" + request.headers.get("Host", "")).hostname or ""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _cross_site(request: web.BaseRequest) -> bool:
    origin = request.headers.get("Origin")
    if origin is None or request.method in ("GET", "HEAD"):
        return False
    return urlsplit(origin).netloc.lower() != request.headers.get("Host", "").lower()


def _client(request: web.BaseRequest) -> str:
    return request.remote or "?"


def _bearer(request: web.BaseRequest) -> str | None:
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def _too_many(wait_s: float) -> web.Response:
    return web.Response(
        status=429,
        text="Too many failed sign-ins from this address; wait a minute and try again.\n",
        headers={"Retry-After": str(round(wait_s))},
    )


@web.middleware
async def private_routes(request: web.Request, handler: Handler) -> web.StreamResponse:
    if not is_private(request.path):
        return await handler(request)
    if _cross_site(request):
        raise web.HTTPForbidden(text="Refused: this request came from another site.\n")
    access = request.app[ACCESS]
    if loopback(request.remote) and _named_by_address(request):
        return await handler(request)
    if access.signed_in(request.cookies.get(COOKIE)):
        return await handler(request)
    if not access.secured:
        return _not_allowed(request)
    client = _client(request)
    token = _bearer(request)
    if token is not None:
        wait_s = access.retry_after_s(client)
        if wait_s is not None:
            return _too_many(wait_s)
        if access.matches(token):
            return await handler(request)
        access.failed(client)
    if request.method == "GET" and not request.path.startswith("/api/"):
        return _signin_page(request.path, status=401)
    return web.Response(
        status=401,
        text="Sign in at /signin, or send Authorization: Bearer TOKEN.\n",
        headers={"WWW-Authenticate": 'Bearer realm="voiceguide"'},
    )


async def signin_form(request: web.Request) -> web.Response:
    if not request.app[ACCESS].secured:
        return _not_allowed(request)
    return _signin_page(_next(request.query.get("next", "/history")))


async def signin(request: web.Request) -> web.Response:
    access = request.app[ACCESS]
    if not access.secured:
        raise web.HTTPForbidden(text=NOT_ALLOWED)
    if _cross_site(request):
        raise web.HTTPForbidden(text="Refused: this request came from another site.\n")
    client = _client(request)
    wait_s = access.retry_after_s(client)
    if wait_s is not None:
        return _too_many(wait_s)
    form = await request.post()
    given = form.get("passphrase")
    target = _next(str(form.get("next", "/history")))
    if not isinstance(given, str) or not access.matches(given):
        access.failed(client)
        return _signin_page(target, status=401, wrong=True)
    response = web.Response(status=303, headers={"Location": target})
    response.set_cookie(
        COOKIE,
        access.sign_in(),
        max_age=SESSION_LIFETIME_S,
        path="/",
        httponly=True,
        samesite="Strict",
    )
    return response


def _next(target: str) -> str:
    """Only a path on this server: a sign-in must not send anyone elsewhere."""
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/history"
    return target


def _signin_page(target: str, status: int = 200, wrong: bool = False) -> web.Response:
    words = _words()
    problem = '<p class="card-error" role="alert">That is not the passphrase.</p>' if wrong else ""
    return _page(
        words["signin"],
        f"{problem}"
        '<form method="post" action="/signin" class="signin">\n'
        f'<input type="hidden" name="next" value="{escape(target)}">\n'
        f'<p><label for="passphrase">{words["passphrase"]}</label>\n'
        '<input id="passphrase" name="passphrase" type="password" required '
        'autocomplete="current-password"></p>\n'
        f'<p><button type="submit" class="wide-button">{words["signin"]}</button></p>\n'
        "</form>\n",
        status,
    )


def _not_allowed(request: web.BaseRequest) -> web.Response:
    """The one sentence; as a page for a browser that opened /history or /signin
    (on a phone, a plain-text answer has no language, title or way back)."""
    if request.method not in ("GET", "HEAD") or request.path.startswith("/api/"):
        return web.Response(status=403, text=NOT_ALLOWED)
    words = _words()
    heading = words["signin"] if request.path == "/signin" else words["history"]
    return _page(
        heading,
        f"<p>{escape(NOT_ALLOWED.strip())}</p>\n",
        403,
        f'<nav class="back-nav" aria-label="{words["sessions"]}">'
        f'<a class="back" href="/">{words["all_sessions"]}</a></nav>\n',
    )


def _words() -> dict[str, str]:
    return {k: escape(v) for k, v in Phrases("en").page_labels().items()}


def _page(heading: str, content: str, status: int, nav: str = "") -> web.Response:
    body = (
        '<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="color-scheme" content="dark">\n'
        f"<title>{heading} · voiceguide</title>\n"
        '<link rel="stylesheet" href="/static/app.css">\n'
        '<link rel="icon" href="/static/icon.svg" type="image/svg+xml">\n</head>\n'
        f'<body class="page-signin">\n{nav}<main>\n<h1>{heading}</h1>\n{content}'
        "</main>\n</body>\n</html>\n"
    )
    return web.Response(status=status, text=body, content_type="text/html", charset="utf-8")
