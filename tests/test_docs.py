"""The docs, the JSON Schema and the parser describe the same format."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from voiceguide.cli import cli
from voiceguide.core import plan
from voiceguide.core.script import STEP_KEYS, TOP_KEYS, VOICE_KEYS

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = json.loads((ROOT / "voiceguide/data/script.schema.json").read_text())
GUIDE = (ROOT / "docs/script-format.md").read_text()
README = (ROOT / "README.md").read_text()


def test_schema_top_level_keys_are_the_parsers() -> None:
    assert list(SCHEMA["properties"]) == list(TOP_KEYS)
    voice = SCHEMA["properties"]["voice"]
    assert set(voice["properties"]) == set(VOICE_KEYS)


@pytest.mark.parametrize("kind", list(STEP_KEYS))
def test_schema_step_keys_are_the_parsers(kind: str) -> None:
    definition = SCHEMA["$defs"][f"{kind}Step"]
    assert set(definition["properties"]) == set(STEP_KEYS[kind])


@pytest.mark.parametrize("key", sorted({k for keys in STEP_KEYS.values() for k in keys}))
def test_guide_names_every_step_key(key: str) -> None:
    assert f"`{key}" in GUIDE


def test_guide_states_the_timing_constants() -> None:
    assert f"{plan.SENTENCE_GAP_S} s" in GUIDE
    assert f"{plan.STEP_GAP_S:g} s" in GUIDE or f"{plan.STEP_GAP_S} s" in GUIDE
    assert f"{plan.POSITION_GAP_S:g} s" in GUIDE


def test_readme_commands_exist() -> None:
    blocks = "\n".join(re.findall(r"```sh\n(.*?)```", README, flags=re.DOTALL))
    commands = set(re.findall(r"^voiceguide (\w+)", blocks, flags=re.MULTILINE))
    assert commands <= set(cli.commands)
    assert {"check", "export", "voices", "schema"} <= commands


def test_readme_names_the_two_setup_commands() -> None:
    assert "make demo" in README and "make test" in README
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^demo:", makefile, flags=re.MULTILINE)
    assert re.search(r"^test:", makefile, flags=re.MULTILINE)
    assert "make test" in (ROOT / ".ci/run").read_text()
