"""What pip users get: the sdist and the wheel as built, and the extras messages name."""

from __future__ import annotations

import email.parser
import re
import shutil
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
EXTRA = re.compile(r"voiceguide\[([^\]]*)\]")


def _texts_that_name_extras() -> list[Path]:
    files = [ROOT / "README.md", ROOT / "CHANGELOG.md"]
    files += sorted((ROOT / "docs").glob("*.md"))
    files += sorted((ROOT / "voiceguide").rglob("*.py"))
    return [path for path in files if path.exists()]


def test_every_extra_a_message_names_exists() -> None:
    extras = set(PYPROJECT["project"]["optional-dependencies"])
    named = {
        (path.relative_to(ROOT).as_posix(), name.strip())
        for path in _texts_that_name_extras()
        for group in EXTRA.findall(path.read_text("utf-8"))
        for name in group.split(",")
    }
    assert named, "no voiceguide[...] found: the scan looks in the wrong place"
    assert sorted(item for item in named if item[1] not in extras) == []


def test_build_requires_a_setuptools_that_reads_spdx_licences() -> None:
    requires = PYPROJECT["build-system"]["requires"]
    versions = [re.fullmatch(r"setuptools>=(\d+).*", item) for item in requires]
    assert any(found and int(found.group(1)) >= 77 for found in versions), requires


def _tracked_tree(into: Path) -> Path:
    """The files git would commit, so a build sees what a clean clone has, not build leftovers."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=False,
    )
    if listed.returncode != 0:
        pytest.skip("not a git checkout: nothing to build an sdist from")
    tree = into / "tree"
    for name in listed.stdout.decode().split("\0"):
        source, copy = ROOT / name, tree / name
        if name and (source.is_symlink() or source.is_file()):
            copy.parent.mkdir(parents=True, exist_ok=True)
            if source.is_symlink():  # voiceguide/data/examples leads to scripts/
                copy.symlink_to(source.readlink())
            else:
                shutil.copy2(source, copy)
    return tree


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    pytest.importorskip("build", reason="the build frontend is a dev extra")
    work = tmp_path_factory.mktemp("build")
    tree = _tracked_tree(work)
    out = work / "dist"
    # Without isolation the venv's own setuptools builds it, so no network is needed;
    # the wheel is built from the unpacked sdist, which checks the sdist is complete.
    result = subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(tree)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    (sdist,) = out.glob("voiceguide-*.tar.gz")
    (wheel,) = out.glob("voiceguide-*.whl")
    return sdist, wheel


def test_sdist_carries_licence_changelog_and_type_marker(built: tuple[Path, Path]) -> None:
    sdist, _ = built
    with tarfile.open(sdist) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
        licence = archive.extractfile(f"{sdist.name[: -len('.tar.gz')]}/LICENSE")
        assert licence is not None
        text = licence.read().decode()
    assert {"LICENSE", "CHANGELOG.md", "README.md", "voiceguide/py.typed"} <= names
    assert "GNU GENERAL PUBLIC LICENSE" in text and "Version 3, 29 June 2007" in text


def test_wheel_carries_licence_metadata_and_type_marker(built: tuple[Path, Path]) -> None:
    _, wheel = built
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        (metadata_name,) = [n for n in names if n.endswith(".dist-info/METADATA")]
        metadata = email.parser.Parser().parsestr(archive.read(metadata_name).decode())
        licences = [n for n in names if re.search(r"\.dist-info/licenses/LICENSE$", n)]
        assert licences, sorted(n for n in names if ".dist-info/" in n)
        assert b"Version 3, 29 June 2007" in archive.read(licences[0])
    assert "voiceguide/py.typed" in names
    assert "voiceguide/data/script.schema.json" in names
    assert "voiceguide/server/static/player.js" in names
    assert "voiceguide/data/examples/back-spasm-relief.yaml" in names
    assert metadata["License-Expression"] == "GPL-3.0-or-later"
    assert metadata.get_all("License-File") == ["LICENSE"]
    urls = dict(item.split(", ", 1) for item in metadata.get_all("Project-URL") or [])
    assert {"Homepage", "Changelog"} <= set(urls)
    assert all(url.startswith("https://") for url in urls.values())
    classifiers = metadata.get_all("Classifier") or []
    assert "Typing :: Typed" in classifiers
    assert any(c.startswith("Topic :: Multimedia :: Sound/Audio") for c in classifiers)


def _installs(target: str) -> tuple[set[str], list[str]]:
    """The extras and requirement files ``make TARGET`` installs on a fresh checkout."""
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    # -n prints the commands without running them; -B as if nothing were installed yet.
    dry = subprocess.run(
        ["make", "-n", "-B", target], cwd=ROOT, capture_output=True, text=True, check=True
    )
    pip = [line for line in dry.stdout.splitlines() if re.search(r"/pip install ", line)]
    extras = {
        name.strip()
        for line in pip
        for group in re.findall(r"\.\[([^\]]*)\]", line)
        for name in group.split(",")
    }
    files = [found for line in pip for found in re.findall(r"-r (\S+)", line)]
    return extras, files


def _packages(extras: set[str]) -> set[str]:
    optional = PYPROJECT["project"]["optional-dependencies"]
    return {
        re.split(r"[<>=!;\[ ]", requirement, maxsplit=1)[0].lower()
        for extra in extras
        for requirement in optional[extra]
    }


DEVELOPER_TOOLS = {"pytest", "pytest-xdist", "mypy", "ruff", "hypothesis", "scipy", "playwright"}


def test_make_demo_installs_the_program_and_voice_but_no_developer_tools() -> None:
    extras, files = _installs("demo")
    assert "neural" in extras and "requirements/neural-voice.txt" in files
    assert _packages(extras) & DEVELOPER_TOOLS == set()


def test_make_test_installs_what_the_tests_need_itself() -> None:
    extras, files = _installs("test")
    assert _packages(extras) >= DEVELOPER_TOOLS
    assert {"neural", "cast", "system-voices"} <= extras
    assert "requirements/neural-voice.txt" in files


def test_readme_sets_up_with_two_commands_and_states_the_demo_size() -> None:
    readme = (ROOT / "README.md").read_text("utf-8")
    setup = readme.split("## Set-up", 1)[1].split("\n## ", 1)[0]
    (block,) = re.findall(r"```sh\n(.*?)```", setup, flags=re.DOTALL)
    commands = [line.split("#")[0].strip() for line in block.splitlines() if line.strip()]
    assert commands == ["make demo", "make test"]
    assert re.search(r"make demo[^\n]*\b\d+ MB\b", block), block
