"""Which scripts the server offers, and under which ids.

Session ids come from listing the folder (or the script files named on the
command line) and nowhere else: a URL is only ever looked up in this table,
never turned into a path, so no spelling of ``../`` can reach another file.
A script in the folder that is a symlink resolving outside it is not offered.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from ..errors import UsageError
from ..pipeline import SCRIPT_SUFFIXES

# Scripts are small (the parser refuses more than this anyway); reading one to
# hash it on every request costs microseconds.
_MAX_HASHED_BYTES = 4 << 20
# The ids the New session form gives (server/new_session.py); nothing else is
# looked up in the generated folder.
_GENERATED_ID = re.compile(r"^generated-[0-9a-f]{12}$")


@dataclass(frozen=True)
class Entry:
    id: str
    path: Path

    def content_hash(self) -> str:
        """A digest of the script's bytes now: a changed script gets a new render."""
        try:
            with self.path.open("rb") as file:
                data = file.read(_MAX_HASHED_BYTES)
        except OSError as exc:
            # Gone or unreadable: the render reports it as the script's error.
            data = f"unreadable: {exc.errno}".encode()
        return hashlib.sha256(data).hexdigest()


def session_id(stem: str) -> str:
    """A URL-safe id from a file name: "Back Spasm!" → "back-spasm"."""
    ascii_stem = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_stem.lower()).strip("-")[:80] or "session"


def _inside(path: Path, folder: Path) -> bool:
    try:
        resolved = path.resolve(strict=True)
    except (OSError, RuntimeError):  # broken link, loop
        return False
    return resolved.is_relative_to(folder) and resolved.is_file()


def _folder_scripts(folder: Path) -> list[Path]:
    root = folder.resolve()
    try:
        names = sorted(folder.iterdir())
    except OSError:
        return []
    return [
        p
        for p in names
        if p.suffix in SCRIPT_SUFFIXES and not p.name.startswith(".") and _inside(p, root)
    ]


class Library:
    """The scripts in the given folders (re-listed on every look-up) and files."""

    def __init__(self, sources: list[Path], generated: Path | None = None) -> None:
        if not sources:
            raise UsageError("give a folder of scripts or script files to serve")
        for source in sources:
            if not source.exists():
                raise UsageError(f"{source}: no such file or folder")
            if source.is_file() and source.suffix not in SCRIPT_SUFFIXES:
                raise UsageError(f"{source}: not a script (*.yaml or *.yml)")
        self.sources = list(sources)
        # Sessions made by the New session form: found by id, never listed.
        self.generated = generated

    def entries(self) -> list[Entry]:
        paths: list[Path] = []
        for source in self.sources:
            paths.extend(_folder_scripts(source) if source.is_dir() else [source])
        taken: set[str] = set()
        entries = []
        for path in paths:
            base = session_id(path.stem)
            ident, number = base, 2
            while ident in taken:
                ident, number = f"{base}-{number}", number + 1
            taken.add(ident)
            entries.append(Entry(ident, path))
        return entries

    def get(self, ident: str) -> Entry | None:
        if self.generated is not None and _GENERATED_ID.match(ident):
            path = self.generated / f"{ident}.yaml"
            return Entry(ident, path) if _inside(path, self.generated.resolve()) else None
        return next((e for e in self.entries() if e.id == ident), None)
