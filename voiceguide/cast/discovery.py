"""Find speakers of every kind at once, and pick the one a person named."""

from __future__ import annotations

import asyncio
import importlib
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from voiceguide.cast.base import CastError, Found, reason
from voiceguide.errors import UsageError

# Module per kind, in the order they are listed.
KINDS = ("upnp", "chromecast", "sonos")
INSTALL_HINT = "pip install 'voiceguide[cast]'"


@dataclass
class Discovery:
    found: list[Found] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # one line per kind that failed


async def _discover_kind(kind: str, timeout_s: float) -> list[Found] | str:
    module = importlib.import_module(f"voiceguide.cast.{kind}")
    try:
        # The backends bound themselves by timeout_s; this is the backstop.
        found: list[Found] = await asyncio.wait_for(module.discover(timeout_s), timeout_s + 10)
        return found
    except ModuleNotFoundError as exc:
        return f"{kind}: needs {module.LIBRARY} ({INSTALL_HINT}; missing module {exc.name})"
    except TimeoutError:
        return f"{kind}: discovery did not finish within {timeout_s + 10:.0f} s"
    except Exception as exc:
        return f"{kind}: discovery failed: {reason(exc)}"


async def discover_all(timeout_s: float, kinds: tuple[str, ...] = KINDS) -> Discovery:
    results = await asyncio.gather(*(_discover_kind(kind, timeout_s) for kind in kinds))
    discovery = Discovery()
    for result in results:
        if isinstance(result, str):
            discovery.problems.append(result)
        else:
            discovery.found.extend(result)
    # A Sonos player is also a UPnP renderer: list it once, as the richer kind.
    sonos_hosts = {f.host for f in discovery.found if f.kind == "sonos"}
    discovery.found = [
        f for f in discovery.found if not (f.kind == "upnp" and f.host in sonos_hosts)
    ]
    discovery.found.sort(key=lambda f: (f.name.casefold(), f.kind))
    return discovery


def pick(name: str, discovery: Discovery) -> Found:
    """The speaker called ``name``: exact name first, then a unique partial match."""
    wanted = name.casefold()
    for matches in (
        [f for f in discovery.found if f.name.casefold() == wanted],
        [f for f in discovery.found if wanted in f.name.casefold()],
    ):
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            names = ", ".join(f"'{f.name}' ({f.kind}, {f.host})" for f in matches)
            raise CastError(f"'{name}' matches several speakers: {names}; give its URL")
    if discovery.found:
        names = ", ".join(f"'{f.name}'" for f in discovery.found)
        raise CastError(f"no speaker called '{name}'; found {names}")
    hint = f" ({'; '.join(discovery.problems)})" if discovery.problems else ""
    raise CastError(f"no speaker called '{name}': no speakers found on the network{hint}")


async def resolve(target: str, timeout_s: float) -> Found:
    """``--to``: a speaker name, a UPnP description URL, or ha:media_player.NAME."""
    if target.startswith("ha:"):
        from voiceguide.cast import homeassistant

        return homeassistant.found_for(target.removeprefix("ha:"))
    if target.startswith(("http://", "https://")):
        from voiceguide.cast import upnp

        try:
            if not urlsplit(target).hostname:
                raise ValueError("it names no host")
            urlsplit(target).port  # noqa: B018 (reading it checks it)
        except ValueError as exc:
            reason_ = str(exc).lower()
            raise UsageError(f"--to {target}: not a URL a speaker answers at: {reason_}") from None

        try:
            return await upnp.found_at(target, timeout_s)
        except ModuleNotFoundError as exc:
            raise CastError(f"UPnP needs async-upnp-client ({INSTALL_HINT}); {exc}") from None
    require_network(f"the speaker '{target}'")
    return pick(target, await discover_all(timeout_s))


def require_network(wanted: str) -> None:
    """With no address besides loopback, each kind's search would fail in its
    library's words or hear nothing: one line says why instead."""
    from voiceguide.lan import on_a_network

    if not on_a_network():
        raise CastError(
            f"no network to search for {wanted}: this machine has no address besides loopback"
        )
