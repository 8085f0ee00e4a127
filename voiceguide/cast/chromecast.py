"""Google Cast devices, found over mDNS and driven through pychromecast.

pychromecast is threaded and blocking, so every call runs in a worker thread.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from voiceguide.cast.base import CastError, Found, Metadata, Speaker, State, Status, in_thread

KIND = "chromecast"
LIBRARY = "pychromecast"
CONNECT_TIMEOUT_S = 10.0
START_TIMEOUT_S = 20.0
# Cast's MusicTrackMediaMetadata: shown as a track with artist and album.
METADATA_MUSIC_TRACK = 3
_STATES = {
    "PLAYING": State.PLAYING,
    "BUFFERING": State.LOADING,
    "PAUSED": State.PAUSED,
    "IDLE": State.STOPPED,
}


async def discover(timeout_s: float) -> list[Found]:
    return await asyncio.to_thread(_discover, timeout_s)


def _discover(timeout_s: float) -> list[Found]:
    import zeroconf
    from pychromecast.discovery import CastBrowser, SimpleCastListener

    browser = CastBrowser(SimpleCastListener(), zeroconf.Zeroconf())
    browser.start_discovery()
    try:
        time.sleep(timeout_s)
    finally:
        browser.stop_discovery()
    return [found_from(info) for info in list(browser.devices.values())]


def found_from(info: Any) -> Found:
    name = info.friendly_name or str(info.uuid)
    return Found(
        name,
        KIND,
        info.host,
        f"{info.host}:{info.port}",
        connect=lambda: connect(info),
        details={"model": info.model_name},
    )


async def connect(info: Any) -> Speaker:
    return await asyncio.to_thread(_connect, info)


def _connect(info: Any) -> Speaker:
    import pychromecast
    from pychromecast.models import CastInfo, HostServiceInfo

    # Reach it at the host and port found, so no mDNS instance has to stay open.
    direct = CastInfo(
        {HostServiceInfo(info.host, info.port)},
        info.uuid,
        info.model_name,
        info.friendly_name,
        info.host,
        info.port,
        info.cast_type,
        info.manufacturer,
    )
    device = pychromecast.get_chromecast_from_cast_info(
        direct, None, tries=2, timeout=CONNECT_TIMEOUT_S
    )
    device.wait(timeout=CONNECT_TIMEOUT_S)
    if not device.socket_client.is_connected:
        device.disconnect(timeout=CONNECT_TIMEOUT_S)
        raise CastError(f"cannot connect to {direct.friendly_name} at {info.host}:{info.port}")
    return ChromecastSpeaker(device)


def media_metadata(metadata: Metadata) -> dict[str, Any]:
    fields: dict[str, Any] = {"metadataType": METADATA_MUSIC_TRACK, "title": metadata.title}
    if metadata.artist:
        fields["artist"] = metadata.artist
    if metadata.album:
        fields["albumName"] = metadata.album
    return fields


class ChromecastSpeaker:
    def __init__(self, device: Any) -> None:
        self.device = device
        self.name: str = device.cast_info.friendly_name or str(device.uuid)

    async def _run(self, what: str, call: Any, *args: Any, **kwargs: Any) -> Any:
        return await in_thread(self.name, what, call, *args, **kwargs)

    async def play(self, url: str, metadata: Metadata) -> None:
        controller = self.device.media_controller
        await self._run(
            "play",
            controller.play_media,
            url,
            metadata.mime_type,
            title=metadata.title,
            stream_type="BUFFERED",
            metadata=media_metadata(metadata),
            media_info={"duration": metadata.duration_s},
        )
        await self._run("starting", controller.block_until_active, timeout=START_TIMEOUT_S)

    async def status(self) -> Status:
        status = self.device.media_controller.status
        return Status(
            _STATES.get(status.player_state, State.LOADING),
            status.adjusted_current_time,
            status.duration,
        )

    async def stop(self) -> None:
        await self._run("stop", self.device.media_controller.stop, timeout=5.0)

    async def close(self) -> None:
        await self._run("disconnect", self.device.disconnect, timeout=5.0)
