"""The bundled scripts, for people who installed voiceguide with pip.

``scripts/*.yaml`` at the top of the source tree is where they are written;
``voiceguide/data/examples`` is a link to that folder, so a wheel carries
them as package data (real files) and a source checkout reads them in place.
On the command line ``example:NAME`` stands for one of them.
"""

from __future__ import annotations

import difflib
import re
from importlib.resources import files
from pathlib import Path

from .errors import UsageError

PREFIX = "example:"
SUFFIX = ".yaml"


def folder() -> Path:
    """Where the bundled scripts are (a folder of NAME.yaml files)."""
    return Path(str(files("voiceguide").joinpath("data", "examples")))


def names() -> list[str]:
    """Every bundled script's name, sorted: what ``example:NAME`` accepts."""
    try:
        return sorted(p.stem for p in folder().iterdir() if p.suffix == SUFFIX)
    except OSError:
        return []


def path_of(name: str) -> Path:
    """The bundled script ``name`` (with or without ``.yaml``), or a usage error
    that lists the names there are."""
    name = name.removesuffix(SUFFIX)
    known = names()
    if name in known:
        return folder() / (name + SUFFIX)
    if not known:
        raise UsageError("this installation has no bundled scripts")
    close = difflib.get_close_matches(name, known, n=1)
    hint = f"did you mean '{close[0]}'? " if close else ""
    raise UsageError(f"there is no example '{name}'; {hint}the examples are: {', '.join(known)}")


def expand(argument: str) -> Path | None:
    """``example:NAME`` as the path of that script; None for anything else."""
    if not argument.startswith(PREFIX):
        return None
    return path_of(argument[len(PREFIX) :])


_SCHEMA_LINE = re.compile(r"^# yaml-language-server: \$schema=\S+$", re.MULTILINE)


def copy_text(name: str) -> str:
    """The bundled script ``name`` as it is copied out: its editor schema line,
    relative to the source tree, points at the installed schema instead, which
    resolves wherever the copy goes."""
    schema = Path(str(files("voiceguide").joinpath("data", "script.schema.json"))).resolve()
    line = f"# yaml-language-server: $schema={schema.as_uri()}"
    return _SCHEMA_LINE.sub(lambda _: line, path_of(name).read_text(encoding="utf-8"), count=1)
