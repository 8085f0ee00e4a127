"""YAML syntax slips are told as what to change, on the line to change, not in PyYAML's words."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_helpers import exit_and_stderr

from voiceguide.core.script import parse_script
from voiceguide.errors import ScriptError

# (name, script text, line, words the message must contain)
SLIPS: list[tuple[str, str, int, str]] = [
    ("tab indents a step", "title: T\nsteps:\n\t- say: Hi.\n", 3, "indent with spaces, not tabs"),
    (
        "tab after spaces",
        "title: T\nsteps:\n  - exercise: A\n  \thold: 30s\n",
        4,
        "indent with spaces, not tabs",
    ),
    ("tab after a colon", "title: T\nsteps:\n  - say:\tHi.\n", 3, "spaces, not tabs"),
    (
        "colon inside text",
        "title: T\nsteps:\n  - say: Note: keep your back flat.\n",
        3,
        'put the text in quotes, as in say: "Note: keep your back flat."',
    ),
    (
        "colon inside a title",
        "title: Back: gentle\nsteps:\n  - say: Hi.\n",
        1,
        'put the text in quotes, as in title: "Back: gentle"',
    ),
    (
        "colon at the end of text",
        "title: T\nsteps:\n  - say: Note:\n",
        3,
        "put the text in quotes",
    ),
    (
        "key indented too far",
        "title: T\nsteps:\n  - exercise: A\n     hold: 30s\n",
        4,
        "'hold' is not lined up with the keys above it",
    ),
    (
        "key indented too little",
        "title: T\nsteps:\n  - exercise: A\n    hold: 30s\n   rest: 5s\n",
        5,
        "'rest' is not lined up with the keys above it",
    ),
    (
        "top-level key indented",
        "title: T\n steps:\n  - say: Hi.\n",
        2,
        "'steps' is not lined up",
    ),
    (
        "key at the dash's column",
        "title: T\nsteps:\n  - exercise: A\n    hold: 30s\n  say: Hi.\n",
        5,
        "'say' is not lined up",
    ),
    (
        "list item out of line",
        "title: T\nsteps:\n  - say: Hi.\n   - say: Bye.\n",
        4,
        "start every '-' of a list in the same column",
    ),
    (
        "unclosed double quote",
        'title: T\nsteps:\n  - say: "Hello\n',
        3,
        'never closed; end it with "',
    ),
    (
        "unclosed single quote",
        "title: T\nsteps:\n  - say: 'it is\n",
        3,
        "never closed; end it with '",
    ),
    (
        "quote closed lines later by the next quote",
        'title: T\nsteps:\n  - say: "Hello\n  - pause: 3\n  - say: "Bye."\n',
        3,
        "closed only on line 5",
    ),
    (
        "unclosed bracket",
        "title: T\nsteps: [\n  - say: Hi.\n",
        2,
        "never closed with ]",
    ),
    (
        "unclosed brace",
        "title: T\nvoice: {engine: espeak\nsteps:\n  - say: Hi.\n",
        2,
        "never closed with }",
    ),
    (
        "text starting with a brace",
        "title: T\nsteps:\n  - exercise: A\n    sides: both\n    brief: {side} arm forward\n",
        5,
        'put the text in quotes, as in brief: "{side} arm forward"',
    ),
    (
        "text starting with a quote",
        'title: T\nsteps:\n  - say: "Hello" she said.\n',
        3,
        "must be quoted as a whole",
    ),
    (
        "text starting with @",
        "title: T\nsteps:\n  - say: @home, lie down.\n",
        3,
        "text cannot start with '@' unless quoted",
    ),
    (
        "text starting with *",
        "title: T\nsteps:\n  - say: *slowly* now.\n",
        3,
        "text cannot start with '*' unless quoted",
    ),
    (
        "text starting with a dash",
        "title: T\nsteps:\n  - say: - one more.\n",
        3,
        "text cannot start with '- ' unless quoted",
    ),
    (
        "text starting with a closing bracket",
        "title: T\nsteps:\n  - say: ] and relax.\n",
        3,
        "text cannot start with ']' unless quoted",
    ),
    (
        "an apostrophe inside single quotes",
        "title: T\nsteps:\n  - say: 'It's fine.'\n",
        3,
        'write the text in " quotes, as in say: "It\'s fine."',
    ),
    (
        "text going on at the key's column",
        "title: T\nsteps:\n  - say: Lie down\n  and relax\n",
        4,
        "indent it further than that text's key, or put the text in quotes",
    ),
    (
        "a line starting with %",
        "title: T\nsteps:\n  - say: Hi.\n% of effort\n",
        4,
        "read as a YAML directive",
    ),
    (
        "text on the line of a |",
        "title: T\nsteps:\n  - say: | Hi.\n",
        3,
        "after | or > the text starts on the next line",
    ),
    (
        "a list where keys belong",
        "title: T\nvoice:\n  - engine: espeak\nsteps:\n  - say: Hi.\n",
        3,
        "remove the '- ' in front of the keys",
    ),
    (
        "keys where a list belongs",
        "title: T\nsteps:\n  say: Hi.\n",
        3,
        "start each step with '- '",
    ),
    (
        "a key twice",
        "title: T\nsteps:\n  - exercise: A\n    hold: 3s\n    hold: 4s\n",
        5,
        "appears twice (first on line 4)",
    ),
    (
        "no space after a key's colon",
        "title: T\nsteps:\n  - say:Hi.\n",
        3,
        "put a space after the ':'",
    ),
]


@pytest.mark.parametrize(("name", "text", "line", "words"), SLIPS, ids=[s[0] for s in SLIPS])
def test_a_yaml_slip_is_told_as_what_to_change(name: str, text: str, line: int, words: str) -> None:
    with pytest.raises(ScriptError) as info:
        parse_script(text, "slip.yaml")
    message = str(info.value)
    assert info.value.line == line
    assert message.startswith(f"slip.yaml:{line}:")
    assert words in message
    assert "\n" not in message
    for jargon in ("<block", "token", "scanning", "mapping values are not allowed"):
        assert jargon not in message


@pytest.mark.parametrize(
    ("name", "text", "line", "words"), SLIPS[:5], ids=[s[0] for s in SLIPS[:5]]
)
def test_check_prints_the_sentence_with_file_and_line(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    name: str,
    text: str,
    line: int,
    words: str,
) -> None:
    script = tmp_path / "slip.yaml"
    script.write_text(text)
    code, err = exit_and_stderr(["check", str(script), "--engine", "test", "--no-cache"], capsys)
    assert code == 2
    assert err.startswith(f"voiceguide: {script}:{line}:")
    assert words in err


def test_a_quoted_colon_and_a_quoted_brace_are_fine() -> None:
    session = parse_script(
        'title: T\nsteps:\n  - say: "Note: keep your back flat."\n'
        '  - exercise: A\n    sides: both\n    brief: "{side} arm forward"\n'
        "    hold: 5s\n",
        "fine.yaml",
    )
    assert session.steps[0].text == "Note: keep your back flat."  # type: ignore[union-attr]
