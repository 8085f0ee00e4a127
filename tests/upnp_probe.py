"""Ask a UPnP renderer about its transport, independently of voiceguide's own code.

Run inside the client's network namespace by tests/test_cast_gmediarender.py:
``python upnp_probe.py LOCATION [seek H:MM:SS]``; prints one JSON object with
the transport state, GetPositionInfo's answer and the wall-clock time at
which it was answered.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

from async_upnp_client.aiohttp import AiohttpRequester
from async_upnp_client.client_factory import UpnpFactory


async def probe(location: str, command: list[str]) -> dict[str, object]:
    device = await UpnpFactory(AiohttpRequester(timeout=5)).async_create_device(location)
    transport = next(s for s in device.all_services if "AVTransport" in s.service_type)
    if command[:1] == ["seek"]:
        await transport.action("Seek").async_call(InstanceID=0, Unit="REL_TIME", Target=command[1])
    info = await transport.action("GetTransportInfo").async_call(InstanceID=0)
    position = await transport.action("GetPositionInfo").async_call(InstanceID=0)
    answered_at = time.time()
    return {
        "state": info["CurrentTransportState"],
        "rel_time": position["RelTime"],
        "track_duration": position["TrackDuration"],
        "track_uri": position["TrackURI"],
        "track_metadata": position["TrackMetaData"],
        "at": answered_at,
    }


if __name__ == "__main__":
    print(json.dumps(asyncio.run(probe(sys.argv[1], sys.argv[2:]))))
