"""The layout's rules, checked on the import statements themselves.

The fronts (cli, live, server, cast) get audio and files through
``voiceguide.pipeline`` only, and the pure core imports nothing that touches
the world: both hold by construction only as long as nobody adds an import.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "voiceguide"
FRONTS = [
    "cli.py",
    "home_cli.py",
    "generate_cli.py",
    "schedule_cli.py",
    "log_command.py",
    "live",
    "server",
    "cast",
]
BEHIND_PIPELINE = ("voiceguide.core.plan", "voiceguide.core.mastering", "voiceguide.core.render")
OUTPUTS = "voiceguide.outputs"
# What the core may import besides itself: no files, sockets, clocks, processes
# or environment.
CORE_MAY_IMPORT = {
    "__future__", "collections", "dataclasses", "enum", "functools", "itertools", "math",
    "re", "typing", "concurrent", "threading", "numpy", "yaml", "unicodedata", "difflib",
    "voiceguide.errors", "voiceguide.core",
    # Seeded generators and dates handed in: neither reads the world.
    "random", "datetime",
}  # fmt: skip


def modules(*names: str) -> Iterator[Path]:
    for name in names:
        path = PACKAGE / name
        yield from sorted(path.rglob("*.py")) if path.is_dir() else [path]


def imported(path: Path) -> Iterator[tuple[int, str]]:
    package = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts[:-1])
    return imported_from(path.read_text(encoding="utf-8"), package)


def imported_from(source: str, package: str) -> Iterator[tuple[int, str]]:
    """(line, absolute module name) of every import in ``source`` (a module of
    ``package``), relative ones resolved; ``from X import y`` counts as ``X.y``
    too, since y may be a module."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parts = parts[: len(parts) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            yield node.lineno, base
            for alias in node.names:
                yield node.lineno, f"{base}.{alias.name}"


def under(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def test_import_resolution_sees_relative_and_aliased_imports() -> None:
    # The checks below are only as good as this reading of import statements.
    source = (
        "from ..core import mastering\nfrom ..core.render import x\nimport voiceguide.core.plan\n"
    )
    names = {name for _, name in imported_from(source, "voiceguide.live")}
    assert {"voiceguide.core.mastering", "voiceguide.core.render", "voiceguide.core.plan"} <= names
    assert not any(under(name, "voiceguide.live.core") for name in names)


@pytest.mark.parametrize("path", list(modules(*FRONTS)), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_fronts_get_audio_only_through_the_pipeline(path: Path) -> None:
    wrong = [
        f"{path.relative_to(PACKAGE.parent)}:{line} imports {name}"
        for line, name in imported(path)
        if any(under(name, inner) for inner in (*BEHIND_PIPELINE, OUTPUTS))
    ]
    assert not wrong, "; ".join(wrong)


@pytest.mark.parametrize("path", list(modules("core")), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_the_core_touches_nothing_outside(path: Path) -> None:
    wrong = [
        f"{path.relative_to(PACKAGE.parent)}:{line} imports {name}"
        for line, name in imported(path)
        if not any(under(name, allowed) for allowed in CORE_MAY_IMPORT)
        and not any(under(name.rsplit(".", 1)[0], allowed) for allowed in CORE_MAY_IMPORT)
    ]
    assert not wrong, "; ".join(wrong)
