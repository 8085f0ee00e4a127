"""Extended M3U playlists for a set of exported sessions."""

from __future__ import annotations

import math
from collections.abc import Sequence


def m3u(entries: Sequence[tuple[float, str, str]]) -> str:
    """``#EXTM3U`` then, per (duration_s, title, relative_path), its EXTINF line and path."""
    lines = ["#EXTM3U"]
    for duration_s, title, path in entries:
        if "\n" in path or "\r" in path:
            raise ValueError(f"a playlist path cannot contain a line break: {path!r}")
        # Half up, where round() would send 2.5 s to 2 s.
        seconds = math.floor(duration_s + 0.5)
        # The title must stay on its EXTINF line.
        title_line = " ".join(title.split())
        # A path line starting with "#" would be read as a comment.
        if path.startswith("#"):
            path = "./" + path
        lines += [f"#EXTINF:{seconds},{title_line}", path]
    return "\n".join(lines) + "\n"
