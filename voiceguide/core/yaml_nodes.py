"""YAML read as nodes, for the formats people write by hand (scripts, programmes).

Nodes keep each value's line and its text as written, so an error can point
at it and a number can be read as the author sees it, not as YAML 1.1 does.
"""

from __future__ import annotations

import re
from typing import Any, NoReturn

import yaml

from ..errors import ScriptError
from .yaml_problems import describe

Node = yaml.Node

_PLAIN_TAGS = {"!"} | {
    f"tag:yaml.org,2002:{name}" for name in ("str", "int", "float", "bool", "null", "map", "seq")
}


def compose(text: str, source: str, empty: str) -> Node:
    """The one document in ``text`` as a node tree, or a ``ScriptError`` at the fault;
    ``empty`` is what to say when there is no document."""
    try:
        # Anchors, aliases and tags are refused before anything is built, so
        # an alias bomb costs nothing and no custom constructor can run.
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
                _fail_mark(
                    source,
                    event.start_mark,
                    "YAML anchors and aliases are not allowed; "
                    "put text that starts with * or & in quotes",
                )
            tag = getattr(event, "tag", None)
            if tag and tag not in _PLAIN_TAGS:
                _fail_mark(source, event.start_mark, f"custom YAML tag {tag} is not allowed")
        documents = list(yaml.compose_all(text, Loader=yaml.SafeLoader))
    except yaml.MarkedYAMLError as exc:
        _fail_mark(source, *describe(exc, text))
    except yaml.YAMLError as exc:
        raise ScriptError(f"invalid YAML: {exc}", source=source) from None
    except RecursionError:
        raise ScriptError("the YAML is nested too deeply", source=source) from None
    if not documents or documents[0] is None:
        raise ScriptError(empty, source=source)
    if len(documents) > 1:
        raise error_at(
            source, documents[1], None, "expected one YAML document, found several (---)"
        )
    return documents[0]


def error_at(source: str, node: Node | None, field: str | None, message: str) -> ScriptError:
    line = column = None
    if node is not None:
        line, column = node.start_mark.line + 1, node.start_mark.column + 1
    return ScriptError(message, source=source, line=line, column=column, field=field)


def _fail_mark(source: str, mark: Any, message: str) -> NoReturn:
    line = mark.line + 1 if mark is not None else None
    column = mark.column + 1 if mark is not None else None
    raise ScriptError(message, source=source, line=line, column=column)


def is_null(node: Node) -> bool:
    return isinstance(node, yaml.ScalarNode) and node.tag.endswith(":null")


# A number as people write it. YAML 1.1 also reads 030 as octal 24, 0x1E,
# 0b11, 1_000 and 1:30 (base 60) as numbers, while "030" stays text: a
# file means what it shows, quoted or not, so only plain decimals count.
_DECIMAL = re.compile(r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)")


def number_or_none(value: str, tag: str) -> float | None:
    if tag.endswith((":int", ":float", ":str")) and _DECIMAL.fullmatch(value.strip()):
        return float(value)
    return None


def is_decimal(value: str, tag: str) -> bool:
    return tag.endswith((":int", ":float", ":str")) and _DECIMAL.fullmatch(value) is not None


def what(node: Node) -> str:
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    if is_null(node):
        return "nothing (null)"
    return f"'{node.value}'"
