"""Placeholders in spoken text: {side}, {other_side}, {rep}, {reps}.

``{{`` and ``}}`` are literal braces. Which placeholders a text may use
depends on where it stands, so a ``{side}`` outside a sided exercise is
caught when the script is read, not heard as silence later.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

PLACEHOLDERS = ("side", "other_side", "rep", "reps")
_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")


@dataclass(frozen=True)
class Context:
    """What a text at some place in the script may refer to."""

    sides: bool = False
    reps: bool = False
    multiplier: int = 1  # how many times the enclosing repeat blocks run

    def inside_repeat(self, times: int) -> Context:
        return replace(self, reps=True, multiplier=self.multiplier * times)

    def inside_exercise(self, sided: bool, reps: int) -> Context:
        return replace(self, sides=sided, reps=True)

    def for_name(self) -> Context:
        return replace(self, sides=False)


def check_placeholders(text: str, ctx: Context) -> str | None:
    """A sentence saying what is wrong with the text's placeholders, or None."""
    for match in _TOKEN.finditer(text):
        token = match.group(0)
        if token in ("{{", "}}"):
            continue
        name = match.group(1)
        if name is None:
            return f"unmatched '{token}' in the text; write '{token * 2}' for a literal brace"
        if name not in PLACEHOLDERS:
            known = ", ".join("{" + p + "}" for p in PLACEHOLDERS)
            return f"unknown placeholder {{{name}}}; expected one of {known}"
        if name in ("side", "other_side") and not ctx.sides:
            return f"{{{name}}} is only known inside an exercise with sides: both, left or right"
        if name in ("rep", "reps") and not ctx.reps:
            return f"{{{name}}} is only known inside an exercise or a repeat block"
    return None


def fill(text: str, values: dict[str, str]) -> str:
    """Replace every placeholder; the text was checked when it was read."""

    def one(match: re.Match[str]) -> str:
        token = match.group(0)
        if token in ("{{", "}}"):
            return token[0]
        return values.get(match.group(1) or "", token)

    return _TOKEN.sub(one, text)
