"""UPnP/DLNA MediaRenderers, found by SSDP and driven through async-upnp-client."""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit

from voiceguide.cast.base import (
    CastError,
    Found,
    Metadata,
    Speaker,
    State,
    Status,
    parse_clock,
    reason,
)
from voiceguide.cast.didl import didl_metadata

KIND = "upnp"
LIBRARY = "async-upnp-client"
RENDERER = "urn:schemas-upnp-org:device:MediaRenderer:1"
_STATES = {
    "PLAYING": State.PLAYING,
    "PAUSED_PLAYBACK": State.PAUSED,
    "PAUSED_RECORDING": State.PAUSED,
    "TRANSITIONING": State.LOADING,
    "STOPPED": State.STOPPED,
    "NO_MEDIA_PRESENT": State.STOPPED,
}
T = TypeVar("T")
# Play refused: asked again after these pauses before the refusal is told.
PLAY_RETRY_DELAYS_S = (0.5, 1.0)


async def discover(timeout_s: float) -> list[Found]:
    """Every MediaRenderer that answers an SSDP search within ``timeout_s``."""
    from async_upnp_client.search import async_search

    locations: dict[str, str] = {}

    async def on_response(headers: Any) -> None:
        location = headers.get("location")
        if location:
            locations.setdefault(headers.get("_udn") or location, location)

    # SSDP's MX: renderers answer after a random delay of up to this many seconds.
    await async_search(on_response, timeout=max(1, math.floor(timeout_s)), search_target=RENDERER)
    described = await asyncio.gather(
        *(_describe(location, timeout_s) for location in locations.values()),
        return_exceptions=True,
    )
    return [found for found in described if isinstance(found, Found)]


async def _describe(location: str, timeout_s: float) -> Found:
    dmr = await _open(location, timeout_s)
    return _found(location, dmr.name)


def _found(location: str, name: str) -> Found:
    host = urlsplit(location).hostname or location
    return Found(name, KIND, host, location, connect=lambda: connect(location))


async def found_at(location: str, timeout_s: float = 5.0) -> Found:
    """The renderer whose device description is at ``location``."""
    try:
        return await _describe(location, timeout_s)
    except (CastError, ModuleNotFoundError):
        raise
    except Exception as exc:
        raise CastError(f"no UPnP renderer answers at {location}: {reason(exc)}") from None


async def _open(location: str, timeout_s: float) -> Any:
    from async_upnp_client.aiohttp import AiohttpRequester
    from async_upnp_client.client_factory import UpnpFactory
    from async_upnp_client.profiles.dlna import DmrDevice

    requester = AiohttpRequester(timeout=max(1, math.ceil(timeout_s)))
    device = await UpnpFactory(requester, non_strict=True).async_create_device(location)
    if not any(t in DmrDevice.DEVICE_TYPES for t in _device_types(device)):
        raise CastError(f"{location} is a UPnP device but not a media renderer")
    return DmrDevice(device, event_handler=None)


def _device_types(device: Any) -> list[str]:
    types = [device.device_type]
    for embedded in device.embedded_devices.values():
        types.extend(_device_types(embedded))
    return types


async def connect(location: str) -> Speaker:
    try:
        dmr = await _open(location, 5.0)
    except (CastError, ModuleNotFoundError):
        raise
    except Exception as exc:
        raise CastError(f"cannot reach the UPnP renderer at {location}: {reason(exc)}") from None
    return UpnpSpeaker(dmr)


class UpnpSpeaker:
    def __init__(self, dmr: Any) -> None:
        self.dmr = dmr
        self.name: str = dmr.name
        self._transport = next(
            s for s in dmr.profile_device.all_services if "AVTransport" in s.service_type
        )

    async def _call(self, what: str, call: Callable[[], Awaitable[T]]) -> T:
        try:
            return await call()
        except Exception as exc:
            raise CastError(f"{self.name}: {what} failed: {reason(exc)}") from None

    async def _action(self, name: str, **arguments: Any) -> dict[str, Any]:
        action = self._transport.action(name)
        return await self._call(name, lambda: action.async_call(InstanceID=0, **arguments))

    async def play(self, url: str, metadata: Metadata) -> None:
        didl = didl_metadata(url, metadata)
        await self._call(
            "SetAVTransportURI",
            lambda: self.dmr.async_set_transport_uri(url, metadata.title, didl),
        )
        # Some renderers only accept Play once they have loaded the URI.
        await self._call("loading", lambda: self.dmr.async_wait_for_can_play(10))
        # "Can play" may still be the previous track's (gmediarender answers
        # 500 to a Play sent just as another programme ended): asked again a
        # moment later, it plays.
        for delay_s in PLAY_RETRY_DELAYS_S:
            with contextlib.suppress(CastError):
                await self._action("Play", Speed="1")
                return
            await asyncio.sleep(delay_s)
        await self._action("Play", Speed="1")

    async def status(self) -> Status:
        transport = await self._action("GetTransportInfo")
        position = await self._action("GetPositionInfo")
        state = str(transport.get("CurrentTransportState", "")).upper()
        return Status(
            _STATES.get(state, State.LOADING),
            parse_clock(position.get("RelTime")),
            parse_clock(position.get("TrackDuration")),
        )

    async def stop(self) -> None:
        await self._action("Stop")

    async def close(self) -> None:
        return None
