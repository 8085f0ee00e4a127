"""Playing a rendered session on a speaker on the home network.

One small protocol (``base.Speaker``: play a URL with metadata, report its
status, stop) with one module per kind of speaker, each importing its
library lazily so a missing optional library is one line, not a traceback:
``upnp`` (UPnP/DLNA renderers via async-upnp-client), ``chromecast``
(pychromecast), ``sonos`` (soco) and ``homeassistant`` (its REST API).
``fileserver`` serves the rendered MP3 to the speaker; ``session`` wires
render, serve, play, progress and Ctrl-C together.
"""
