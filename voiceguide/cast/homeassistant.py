"""Play through Home Assistant's REST API: ``--to ha:media_player.NAME``.

HASS_SERVER (e.g. http://homeassistant.local:8123) and HASS_TOKEN (a
long-lived access token), as Home Assistant's own command line names them,
come from the environment, so the token is never typed on a command line that
other users can see. The names voiceguide used first, HA_URL and HA_TOKEN,
are read where those are not set.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import re
from typing import Any
from urllib.parse import urlsplit

from voiceguide.cast.base import CastError, Found, Metadata, Speaker, State, Status, reason
from voiceguide.cast.chromecast import media_metadata
from voiceguide.errors import UsageError

KIND = "homeassistant"
LIBRARY = "aiohttp"
REQUEST_TIMEOUT_S = 10.0
_ENTITY = re.compile(r"^media_player\.[a-z0-9_]+$")
# Each setting's names, the one Home Assistant's CLI reads first.
SERVER_NAMES = ("HASS_SERVER", "HA_URL")
TOKEN_NAMES = ("HASS_TOKEN", "HA_TOKEN")
_STATES = {
    "playing": State.PLAYING,
    "paused": State.PAUSED,
    "buffering": State.LOADING,
    "idle": State.STOPPED,
    "off": State.STOPPED,
    "on": State.STOPPED,
    "standby": State.STOPPED,
}


def found_for(entity_id: str) -> Found:
    if not _ENTITY.match(entity_id):
        raise UsageError(
            f"'{entity_id}' is not a Home Assistant media player; write ha:media_player.NAME"
        )
    server_name, base_url = _from_environment(SERVER_NAMES)
    token_name, token = _from_environment(TOKEN_NAMES)
    base_url = base_url.rstrip("/")
    if not base_url or not token:
        raise UsageError(
            "playing through Home Assistant needs HASS_SERVER (e.g. "
            "http://homeassistant.local:8123) and HASS_TOKEN (a long-lived access token) "
            "in the environment"
        )
    host = urlsplit(base_url).hostname
    if not host:
        raise UsageError(
            f"{server_name} '{base_url}' is not a URL like http://homeassistant.local:8123"
        )
    # The media player, not Home Assistant, fetches the audio. When Home
    # Assistant runs on this machine its address says nothing about the
    # speaker's network, so the address facing the LAN is used instead.
    try:
        local = ipaddress.ip_address(host).is_loopback
    except ValueError:
        local = host == "localhost"

    async def connect() -> Speaker:
        return HomeAssistantSpeaker(base_url, token, entity_id, token_name)

    return Found(entity_id, KIND, None if local else host, f"ha:{entity_id}", connect=connect)


def _from_environment(names: tuple[str, ...]) -> tuple[str, str]:
    """The first of ``names`` set in the environment, and its value."""
    for name in names:
        value = os.environ.get(name, "")
        if value:
            return name, value
    return names[0], ""


def play_media_body(entity_id: str, url: str, metadata: Metadata) -> dict[str, Any]:
    return {
        "entity_id": entity_id,
        "media_content_id": url,
        "media_content_type": "music",
        # Integrations read what they know: dlna_dmr the title, cast the metadata.
        "extra": {"title": metadata.title, "metadata": media_metadata(metadata)},
    }


class HomeAssistantSpeaker:
    def __init__(
        self, base_url: str, token: str, entity_id: str, token_name: str = "HASS_TOKEN"
    ) -> None:
        self.base_url = base_url
        self.token = token
        self.token_name = token_name  # named when Home Assistant refuses it
        self.entity_id = entity_id
        self.name = entity_id

    async def _request(self, method: str, path: str, body: Any = None) -> Any:
        import aiohttp

        headers = {"Authorization": f"Bearer {self.token}"}
        timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S)
        try:
            async with (
                aiohttp.ClientSession(timeout=timeout) as client,
                client.request(method, self.base_url + path, json=body, headers=headers) as reply,
            ):
                if reply.status == 401:
                    raise CastError(f"Home Assistant refused the token in {self.token_name} (401)")
                if reply.status == 404 and path.startswith("/api/states/"):
                    raise CastError(f"Home Assistant has no entity {self.entity_id}")
                if reply.status >= 400:
                    text = (await reply.text())[:200].strip()
                    raise CastError(f"Home Assistant answered {reply.status} to {path}: {text}")
                return await reply.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError) as exc:
            where = f"Home Assistant at {self.base_url}"
            raise CastError(f"cannot reach {where}: {reason(exc)}") from None

    async def play(self, url: str, metadata: Metadata) -> None:
        body = play_media_body(self.entity_id, url, metadata)
        await self._request("POST", "/api/services/media_player/play_media", body)

    async def status(self) -> Status:
        state = await self._request("GET", f"/api/states/{self.entity_id}")
        attributes = state.get("attributes", {})
        kind = _STATES.get(state.get("state", ""), State.LOADING)
        position = attributes.get("media_position")
        if position is not None and kind == State.PLAYING:
            # Home Assistant reports where it was at media_position_updated_at.
            updated = attributes.get("media_position_updated_at")
            if updated:
                since = dt.datetime.now(dt.UTC) - dt.datetime.fromisoformat(updated)
                position += max(0.0, since.total_seconds())
        return Status(kind, position, attributes.get("media_duration"))

    async def stop(self) -> None:
        body = {"entity_id": self.entity_id}
        await self._request("POST", "/api/services/media_player/media_stop", body)

    async def close(self) -> None:
        return None
