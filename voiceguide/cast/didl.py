"""DIDL-Lite metadata for UPnP renderers and Sonos: title, duration, protocolInfo."""

from __future__ import annotations

from typing import Any

from voiceguide.cast.base import Metadata, clock
from voiceguide.cast.fileserver import DLNA_HEADERS


def protocol_info(mime_type: str) -> str:
    features = DLNA_HEADERS["contentFeatures.dlna.org"] if mime_type == "audio/mpeg" else "*"
    return f"http-get:*:{mime_type}:{features}"


def didl_metadata(url: str, metadata: Metadata) -> str:
    """One music track whose resource is ``url``, as a DIDL-Lite document."""
    from didl_lite import didl_lite

    class SizedResource(didl_lite.Resource):
        # python-didl-lite parses size and duration but writes only protocolInfo;
        # renderers show the length (and some seek) from these attributes.
        def to_xml(self) -> Any:
            element = super().to_xml()
            element.attrib.update(size=self.size or "", duration=self.duration or "")
            return element

    resource = SizedResource(
        uri=url,
        protocol_info=protocol_info(metadata.mime_type),
        size=str(metadata.size_bytes),
        duration=clock(metadata.duration_s),
    )
    optional: dict[str, Any] = {
        key: value
        for key, value in (
            ("creator", metadata.artist),
            ("artist", metadata.artist),
            ("album", metadata.album),
        )
        if value
    }
    item = didl_lite.MusicTrack(
        id="0",
        parent_id="-1",
        title=metadata.title,
        restricted="1",
        resources=[resource],
        **optional,
    )
    return didl_lite.to_xml_string(item).decode("utf-8")
