"""Sonos players, found and driven through soco (blocking: run in worker threads)."""

from __future__ import annotations

import asyncio
import math
from typing import Any

from voiceguide.cast.base import (
    Found,
    Metadata,
    Speaker,
    State,
    Status,
    in_thread,
    parse_clock,
)
from voiceguide.cast.didl import didl_metadata

KIND = "sonos"
LIBRARY = "soco"
_STATES = {
    "PLAYING": State.PLAYING,
    "PAUSED_PLAYBACK": State.PAUSED,
    "TRANSITIONING": State.LOADING,
    "STOPPED": State.STOPPED,
}


async def discover(timeout_s: float) -> list[Found]:
    return await asyncio.to_thread(_discover, timeout_s)


def _discover(timeout_s: float) -> list[Found]:
    import soco.discovery

    zones = soco.discovery.discover(timeout=max(1, math.ceil(timeout_s))) or set()
    return [found_from(zone) for zone in zones]


def found_from(zone: Any) -> Found:
    name = zone.player_name
    return Found(name, KIND, zone.ip_address, zone.ip_address, connect=lambda: connect(zone))


async def connect(zone: Any) -> Speaker:
    return SonosSpeaker(zone, zone.player_name)


class SonosSpeaker:
    def __init__(self, zone: Any, name: str) -> None:
        self.zone = zone
        self.name = name

    async def _run(self, what: str, call: Any, *args: Any, **kwargs: Any) -> Any:
        return await in_thread(self.name, what, call, *args, **kwargs)

    async def play(self, url: str, metadata: Metadata) -> None:
        await self._run(
            "play", self.zone.play_uri, url, meta=didl_metadata(url, metadata), start=True
        )

    async def status(self) -> Status:
        transport = await self._run("status", self.zone.get_current_transport_info)
        track = await self._run("status", self.zone.get_current_track_info)
        return Status(
            _STATES.get(transport.get("current_transport_state", ""), State.LOADING),
            parse_clock(track.get("position")),
            parse_clock(track.get("duration")),
        )

    async def stop(self) -> None:
        await self._run("stop", self.zone.stop)

    async def close(self) -> None:
        return None
