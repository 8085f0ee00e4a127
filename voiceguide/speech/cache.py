"""A content-addressed cache of prepared phrase clips on disk.

Each entry is one small file named by its key: a header (magic, format
version, sample count, sha256 of the payload) and the float32 samples. Any
file that does not check out is treated as missing and removed, so a damaged
cache costs a re-synthesis, never a wrong sound.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import struct
import sys
import tempfile
from pathlib import Path

import numpy as np

FORMAT_VERSION = 1
MAGIC = b"VGCLIP\r\n"  # the CR LF catches files mangled by text-mode transfers
_HEADER = struct.Struct("<8sIQ32s")  # magic, version, sample count, payload sha256
_SAMPLE = np.dtype("<f4")
_SUFFIX = ".clip"
# Roughly 1,000 phrases of a few seconds each: every phrase of dozens of
# routines, while a disk is never filled by a cache nobody looks at.
# Sizes are said in MB (10^6 bytes) everywhere voiceguide prints one.
DEFAULT_MAX_BYTES = 500 * 1000 * 1000

# Directories already warned about: the warning is once per process, not once
# per phrase or per cache object.
_warned: set[str] = set()


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/voiceguide``, or ``~/.cache/voiceguide``."""
    base = os.environ.get("XDG_CACHE_HOME", "")
    # The XDG spec says relative paths in these variables are to be ignored.
    root = Path(base) if base and os.path.isabs(base) else Path.home() / ".cache"
    return root / "voiceguide"


def phrase_key(engine_id: str, output_rate_hz: int, text: str) -> str:
    """The cache key of a phrase: 64 hex digits."""
    # JSON keeps the fields apart: no text can pose as another engine id.
    fields = json.dumps([FORMAT_VERSION, engine_id, output_rate_hz, text], ensure_ascii=False)
    return hashlib.sha256(fields.encode("utf-8")).hexdigest()


def encode(clip: np.ndarray) -> bytes:
    payload = np.ascontiguousarray(clip, dtype=_SAMPLE).tobytes()
    digest = hashlib.sha256(payload).digest()
    return _HEADER.pack(MAGIC, FORMAT_VERSION, len(payload) // _SAMPLE.itemsize, digest) + payload


def decode(data: bytes) -> np.ndarray | None:
    """The clip in ``data``, or None if it is not an intact entry of this format."""
    if len(data) < _HEADER.size:
        return None
    magic, version, count, digest = _HEADER.unpack_from(data)
    payload = data[_HEADER.size :]
    if magic != MAGIC or version != FORMAT_VERSION or len(payload) != count * _SAMPLE.itemsize:
        return None
    if hashlib.sha256(payload).digest() != digest:
        return None
    return np.frombuffer(payload, dtype=_SAMPLE).astype(np.float32)


def _check_key(key: str) -> None:
    if len(key) != 64 or any(c not in "0123456789abcdef" for c in key):
        raise ValueError(f"not a phrase cache key: {key!r}")


class PhraseCache:
    """Prepared clips by key, under ``directory`` (default: the user cache)."""

    def __init__(self, directory: Path | None = None, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.directory = directory if directory is not None else default_cache_dir() / "phrases"
        self.max_bytes = max_bytes
        self.enabled = True
        self.added = 0
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            self._disable(exc)

    def path(self, key: str) -> Path:
        _check_key(key)
        # Sharding keeps folders small enough to list and clean by hand.
        return self.directory / key[:2] / (key + _SUFFIX)

    def get(self, key: str) -> np.ndarray | None:
        if not self.enabled:
            return None
        path = self.path(key)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError:
            return None  # unreadable: synthesise again; put() will try to replace it
        clip = decode(data)
        if clip is None:
            # Another process may have just replaced it with a good file; then
            # deleting costs one more synthesis later, nothing worse.
            with contextlib.suppress(OSError):
                path.unlink()
            return None
        # Recently used entries are the last to go when the cache is trimmed.
        with contextlib.suppress(OSError):
            os.utime(path)
        return clip

    def put(self, key: str, clip: np.ndarray) -> None:
        if not self.enabled:
            return
        path = self.path(key)
        try:
            path.parent.mkdir(exist_ok=True)
            # A unique temporary name in the same folder, then an atomic
            # rename: readers see the old file or the whole new one, and two
            # processes writing the same key both succeed.
            handle, temporary = tempfile.mkstemp(prefix=".tmp-", suffix=_SUFFIX, dir=path.parent)
            try:
                with os.fdopen(handle, "wb") as file:
                    file.write(encode(clip))
                os.replace(temporary, path)
                self.added += 1
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(temporary)
                raise
        except OSError as exc:
            self._disable(exc)

    def entries(self) -> list[tuple[Path, int, float]]:
        """Every entry as (path, size in bytes, last use), oldest first."""
        found = []
        for path in self.directory.glob(f"*/*{_SUFFIX}"):
            if path.name.startswith("."):
                continue  # a temporary of a write in progress
            with contextlib.suppress(OSError):
                info = path.stat()
                found.append((path, info.st_size, info.st_mtime))
        return sorted(found, key=lambda entry: entry[2])

    def size_bytes(self) -> int:
        return sum(size for _, size, _ in self.entries())

    def trim(self) -> int:
        """Remove the least recently used entries until the cache fits ``max_bytes``.

        Returns how many were removed. Safe while other processes use the
        cache: an entry removed under a reader is only a miss for it.
        """
        entries = self.entries()
        excess = sum(size for _, size, _ in entries) - self.max_bytes
        removed = 0
        for path, size, _ in entries:
            if excess <= 0:
                break
            with contextlib.suppress(OSError):
                path.unlink()
                removed += 1
            excess -= size
        return removed

    def clear(self) -> int:
        """Remove every entry (and stray temporaries); returns how many entries."""
        self.max_bytes, limit = 0, self.max_bytes
        try:
            removed = self.trim()
        finally:
            self.max_bytes = limit
        for temporary in self.directory.glob(f"*/.tmp-*{_SUFFIX}"):
            with contextlib.suppress(OSError):
                temporary.unlink()
        return removed

    def _disable(self, error: OSError) -> None:
        self.enabled = False
        where = str(self.directory)
        if where not in _warned:
            _warned.add(where)
            reason = error.strerror or str(error)
            print(
                f"voiceguide: warning: not caching speech in {where}: {reason}",
                file=sys.stderr,
            )
