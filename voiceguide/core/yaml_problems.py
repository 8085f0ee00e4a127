"""PyYAML's syntax errors, told as what the author should change.

PyYAML says "mapping values are not allowed here" both for an unquoted
colon inside text and for a key indented too far; the line itself tells
them apart. Each rule returns the line and column to name (the opening
quote of an unclosed text, not the end of the file) and one sentence.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

Mark = Any  # yaml.Mark: .line and .column, from 0

# "key:" at the start of a line (after any "- "): a plain key, not "{key:".
_KEY = re.compile(r"^\s*(?:-\s+)*([^\s:#{\[\]}\"'][^:#{\[]*?)\s*:(?:\s|$)")


def describe(error: yaml.MarkedYAMLError, text: str) -> tuple[Mark | None, str]:
    """Where to point and what to say for a YAML syntax error in ``text``."""
    problem = (error.problem or error.context or "").strip()
    context = (error.context or "").strip()
    mark = error.problem_mark or error.context_mark
    line = _line(text, mark)
    column = mark.column if mark is not None else 0

    if "'\\t'" in problem:
        if not line[:column].strip(" -"):
            return mark, "this line is indented with a tab; indent with spaces, not tabs"
        return mark, "a tab here; YAML needs spaces, not tabs, around keys and values"
    if context == "while scanning a quoted scalar":
        opened = error.context_mark
        quote = _char(text, opened, '"')
        return opened, f"the text opened with {quote} here is never closed; end it with {quote}"
    if context in ("while scanning an alias", "while scanning an anchor"):
        return error.context_mark, _cannot_start(text, error.context_mark, "")
    if problem.startswith("found character") or (
        context == "while parsing a block node" and problem.startswith("expected the node content")
    ):
        return mark, _cannot_start(text, mark, "")
    if context == "while scanning a directive":
        return (
            error.context_mark,
            "a line that starts with % is read as a YAML directive; remove it",
        )
    if problem == "sequence entries are not allowed here" and _KEY.match(line[:column]):
        return mark, _cannot_start(text, mark, " ")
    if problem == "mapping keys are not allowed here":
        return mark, _cannot_start(text, mark, " ")
    if context == "while scanning a block scalar":
        return error.context_mark, (
            "after | or > the text starts on the next line, indented; "
            "or put the text in quotes on this line"
        )
    unclosed = _unclosed_bracket(text, mark)
    if unclosed is not None:
        bracket = _char(text, unclosed, "[")
        closing = "]" if bracket == "[" else "}"
        return unclosed, (
            f"the {bracket} here is never closed with {closing}; close it, "
            f"or put text that starts with {bracket} in quotes"
        )
    if problem == "mapping values are not allowed here" or problem.endswith("but got ':'"):
        if re.search(r":\s", line[:column]):
            # A second ": " on a line whose key came first: text with a colon.
            return mark, "a colon inside text; put the text in quotes" + _example(text, mark)
        return mark, _misindented(line) + " (or, if it goes on with the text above, quote that)"
    if problem.startswith(("expected <block end>", "expected '<document start>'")):
        return _block_end(error, text, mark, line)
    if problem == "could not find expected ':'":
        start = error.context_mark or mark
        return start, (
            "this line is neither a key nor a list item; if it goes on with the text "
            "above, indent it further than that text's key, or put the text in quotes"
        )
    if problem == "sequence entries are not allowed here":
        return mark, _misindented(line)
    return mark, f"invalid YAML: {problem or 'unreadable'}"


def _block_end(
    error: yaml.MarkedYAMLError, text: str, mark: Mark, line: str
) -> tuple[Mark | None, str]:
    quoted = _last_multiline_quote(text, mark)
    if quoted is not None:
        return quoted.start_mark, (
            f"the text opened with {quoted.style} here is closed only on line "
            f"{quoted.end_mark.line + 1}; end it with {quoted.style} on this line"
        )
    found = error.problem or ""
    if found.endswith(("'<scalar>'", "'<flow mapping start>'", "'<flow sequence start>'")):
        key = _KEY.match(line)
        value = (line[key.end() :] if key else line).strip()
        first = value[:1] or "it"
        if len(value) > 1 and first in "'\"" and value.endswith(first):
            other = "'" if first == '"' else '"'
            return mark, (
                f"a {first} inside the text ends it early; write the text in {other} quotes"
                + _example(text, mark)
            )
        return mark, (
            f"text that starts with {first} must be quoted as a whole; put the text in quotes"
            + _example(text, mark)
        )
    if not line.strip():
        return mark, f"invalid YAML: {found}"
    return mark, _misindented(line)


def _misindented(line: str) -> str:
    if line.lstrip().startswith("- "):
        return (
            "this list item is not lined up with the items above it; "
            "start every '-' of a list in the same column"
        )
    key = _KEY.match(line)
    name = f"'{key.group(1)}'" if key else "this line"
    return (
        f"{name} is not lined up with the keys above it; indent the keys of one "
        "mapping equally, with spaces"
    )


def _cannot_start(text: str, mark: Mark | None, after: str) -> str:
    char = _char(text, mark, "?") + after
    return f"text cannot start with '{char}' unless quoted; put the text in quotes" + _example(
        text, mark
    )


def _example(text: str, mark: Mark | None) -> str:
    """ ", as in say: "Note: ..."", from the line at ``mark``, when it is a plain key: value."""
    line = _line(text, mark)
    key = _KEY.match(line)
    if not key:
        return ""
    value = line[key.end() :].strip()
    if len(value) > 1 and value[0] in "'\"" and value.endswith(value[0]):
        value = value[1:-1]  # quoted already, but a quote inside ended it early
    quoted = f'"{value}"' if '"' not in value else "'" + value.replace("'", "''") + "'"
    return f", as in {key.group(1)}: {quoted}"


def _tokens_before(text: str, before: Mark | None) -> list[Any]:
    tokens = []
    try:
        for token in yaml.scan(text, Loader=yaml.SafeLoader):
            if before is not None and token.start_mark.index >= before.index:
                break
            tokens.append(token)
    except yaml.YAMLError:
        pass
    return tokens


def _unclosed_bracket(text: str, before: Mark | None) -> Mark | None:
    """Where a [ or { opened on an earlier line than ``before`` and still open there."""
    opened: list[Mark] = []
    for token in _tokens_before(text, before):
        if isinstance(token, (yaml.FlowSequenceStartToken, yaml.FlowMappingStartToken)):
            opened.append(token.start_mark)
        elif isinstance(token, (yaml.FlowSequenceEndToken, yaml.FlowMappingEndToken)) and opened:
            opened.pop()
    if opened and before is not None and opened[-1].line < before.line:
        return opened[-1]
    return None


def _last_multiline_quote(text: str, before: Mark | None) -> Any:
    """The quoted text that ends on the line of ``before`` but began on an earlier
    one: an unclosed quote that YAML closed at the next quote, lines further on."""
    quoted = [
        token
        for token in _tokens_before(text, before)
        if isinstance(token, yaml.ScalarToken) and token.style in ("'", '"')
    ]
    last = quoted[-1] if quoted else None
    if (
        last is not None
        and before is not None
        and last.start_mark.line != last.end_mark.line == before.line
    ):
        return last
    return None


def _char(text: str, mark: Mark | None, default: str) -> str:
    line = _line(text, mark)
    return line[mark.column] if mark is not None and mark.column < len(line) else default


def _line(text: str, mark: Mark | None) -> str:
    if mark is None:
        return ""
    lines = text.splitlines()
    return lines[mark.line] if mark.line < len(lines) else ""
