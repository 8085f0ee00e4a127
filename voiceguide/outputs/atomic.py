"""All-or-nothing writing of a set of output files.

Every output is first written to a hidden temporary file beside its
destination, so the final ``os.replace`` is a rename within one folder: an
existing file stays whole until the instant it is swapped, and a failure or
Ctrl-C part-way leaves no half-written audio for a podcast app to pick up.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import secrets
import time
from pathlib import Path
from types import TracebackType

try:
    import fcntl
except ImportError:  # Windows: stale temporaries are left for the user to delete
    fcntl = None  # type: ignore[assignment]

from voiceguide.errors import OutputError

# ".back.mp3.tmp-1a2b3c4d.mp3": hidden, traceable to its destination, and
# ending in the real suffix for encoders that pick the format from it.
_TEMP_NAME = re.compile(r"^\.(?P<name>.+)\.tmp-[0-9a-f]+(?P<suffix>\.[^.]*)?$")

# A temporary this old whose lock nobody holds was left by a killed process.
_STALE_AFTER_S = 10.0

_REASONS = {
    errno.ENOSPC: "the disk is full",
    errno.EDQUOT: "the disk quota is used up",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
    errno.EISDIR: "it is a folder",
    errno.EROFS: "the file system is read-only",
}


def display_path(path: Path) -> Path:
    """The path a person asked for: a temporary file is named as its destination."""
    match = _TEMP_NAME.match(path.name)
    if match and Path(match["name"]).suffix == (match["suffix"] or ""):
        return path.with_name(match["name"])
    return path


def _not_a_folder(path: Path) -> Path:
    for ancestor in reversed(path.parents):
        if ancestor.exists() and not ancestor.is_dir():
            return ancestor
    return path.parent


def output_error(path: Path, exc: OSError) -> OutputError:
    """One sentence for a failed write, naming the destination rather than a temp."""
    shown = display_path(path)
    if exc.errno == errno.ENOTDIR:
        reason = f"{_not_a_folder(shown)} is not a folder"
    else:
        reason = _REASONS.get(exc.errno or 0) or (exc.strerror or str(exc)).lower()
    error = OutputError(f"cannot write {shown}: {reason}")
    error.__cause__ = exc
    return error


def _fsync(path: Path, flags: int) -> None:
    fd = os.open(path, flags)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class AtomicFiles:
    """Hands out temporary paths; on success all of them replace their destinations.

    The replacements happen one rename after another once every file is
    complete and synced, which is as close to all-at-once as a file system
    without transactions allows.
    """

    def __init__(self) -> None:
        self._temps: dict[Path, Path] = {}  # destination -> temporary
        # Each temporary's descriptor stays open with a lock on it until the
        # end: a lock the kernel drops when the process dies, even by kill -9,
        # is how a later export tells an abandoned temporary from a live one.
        self._locks: list[int] = []
        self._made_dirs: list[Path] = []
        self._obsolete: list[Path] = []

    def __enter__(self) -> AtomicFiles:
        return self

    def temp_for(self, dest: Path) -> Path:
        dest = Path(dest)
        if dest in self._temps:
            raise ValueError(f"{dest} is already being written")
        if dest.is_dir():
            raise output_error(dest, IsADirectoryError(errno.EISDIR, "Is a directory"))
        self._make_parents(dest)
        _remove_stale_temps(dest)
        while True:
            temp = dest.with_name(f".{dest.name}.tmp-{secrets.token_hex(4)}{dest.suffix}")
            # Recorded before it exists: Ctrl-C or SIGTERM can land between any
            # two steps here. (Recorded after, 5 of 25 exports stopped while
            # their tracks' temporaries were being made left one behind.)
            self._temps[dest] = temp
            try:
                # O_EXCL so a stray file is never clobbered; mode 0o666 lets
                # the umask decide permissions as for any ordinary new file.
                fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
            except FileExistsError:
                del self._temps[dest]  # someone else's: never ours to remove
                continue
            except OSError as exc:
                del self._temps[dest]
                raise output_error(dest, exc) from exc
            self._locks.append(fd)
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_EX)
            return temp

    def remove_on_commit(self, path: Path) -> None:
        """``path`` is deleted once the new files are in place, and only then."""
        self._obsolete.append(Path(path))

    def _make_parents(self, dest: Path) -> None:
        missing = [p for p in dest.parents if not p.exists()]
        for folder in reversed(missing):
            self._made_dirs.append(folder)  # before it exists, as for temporaries
            try:
                folder.mkdir()
            except FileExistsError:
                self._made_dirs.pop()
                if not folder.is_dir():
                    raise output_error(dest, NotADirectoryError(errno.ENOTDIR, "")) from None
                continue
            except OSError as exc:
                self._made_dirs.pop()
                raise output_error(dest, exc) from exc

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is not None:
            dest = None
            if isinstance(exc, OSError) and exc.filename is not None:
                dest = self._destination_of(Path(os.fsdecode(exc.filename)))
            self._discard()
            if dest is not None and isinstance(exc, OSError):
                raise output_error(dest, exc) from exc
            return
        self._commit()

    def _destination_of(self, path: Path) -> Path | None:
        for dest, temp in self._temps.items():
            if path in (dest, temp):
                return dest
        return None

    def _commit(self) -> None:
        dest: Path | None = None
        try:
            # Sync everything before the first rename, so a full disk or an
            # I/O error surfaces while every destination is still untouched.
            for dest in self._temps:
                _fsync(self._temps[dest], os.O_RDWR | getattr(os, "O_BINARY", 0))
            for dest, temp in self._temps.items():
                os.replace(temp, dest)
        except OSError as exc:
            self._discard()
            raise output_error(dest or Path("."), exc) from exc
        folders = {path.parent for path in [*self._temps, *self._obsolete]}
        self._temps.clear()
        self._made_dirs.clear()
        self._unlock()
        obsolete, self._obsolete = self._obsolete, []
        for path in obsolete:
            try:
                path.unlink(missing_ok=True)
            except OSError as exc:
                reason = _REASONS.get(exc.errno or 0) or (exc.strerror or str(exc)).lower()
                raise OutputError(f"cannot remove {path} (written before): {reason}") from exc
        for folder in folders:
            # Makes the renames durable; folders cannot be opened on Windows.
            with contextlib.suppress(OSError):
                _fsync(folder, os.O_RDONLY)

    def _unlock(self) -> None:
        for fd in self._locks:
            with contextlib.suppress(OSError):
                os.close(fd)
        self._locks.clear()

    def _discard(self) -> None:
        for temp in self._temps.values():
            temp.unlink(missing_ok=True)
        self._temps.clear()
        self._unlock()
        for folder in reversed(self._made_dirs):
            # A folder something else has put a file into stays.
            with contextlib.suppress(OSError):
                folder.rmdir()
        self._made_dirs.clear()


def _remove_stale_temps(dest: Path) -> None:
    """Delete temporaries of ``dest`` that a killed export left behind."""
    if fcntl is None:
        return
    try:
        candidates = list(dest.parent.glob(f".{dest.name}.tmp-*"))
    except OSError:
        return
    for temp in candidates:
        if display_path(temp) != dest:
            continue
        try:
            fd = os.open(temp, os.O_RDONLY)
        except OSError:
            continue
        try:
            # A fresh file may belong to an export that has not locked it yet.
            if time.time() - os.fstat(fd).st_mtime < _STALE_AFTER_S:
                continue
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            temp.unlink(missing_ok=True)
        except OSError:
            continue  # locked: a live export is writing it
        finally:
            os.close(fd)


def write_text_atomic(dest: Path, text: str, mode: int | None = None) -> None:
    """Write ``text`` as UTF-8 with ``\\n`` line ends, replacing ``dest`` atomically;
    ``mode``: its permissions (set before the first byte is written), else the umask's."""
    with AtomicFiles() as files:
        temp = files.temp_for(dest)
        try:
            if mode is not None:
                os.chmod(temp, mode)
            temp.write_text(text, encoding="utf-8", newline="\n")
        except OSError as exc:
            raise output_error(dest, exc) from exc
