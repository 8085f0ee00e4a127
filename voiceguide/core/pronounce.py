"""A script's ``pronounce:`` mapping: words respelt before they are spoken.

Whole words only, ignoring case, so ``psoas: so-as`` changes "Psoas" and
"psoas" but not "psoasitis". The timeline and transcript keep the written
text; only what the engine hears changes.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

_WORDS = re.compile(r"^\w[\w'’\- ]*$")
MAX_WORD_CHARS = 60


def check_pronunciation(written: str) -> str | None:
    """Why ``written`` cannot be a ``pronounce:`` key, or None if it can."""
    if len(written) > MAX_WORD_CHARS:
        return f"a word to respell may be at most {MAX_WORD_CHARS} characters"
    if not _WORDS.match(written) or written.endswith(("-", " ")):
        return f"expected a word or words (letters, digits, apostrophes, hyphens), got '{written}'"
    return None


def respeller(pairs: Sequence[tuple[str, str]]) -> Callable[[str], str]:
    """A function that applies ``pairs`` (written, spoken) to a phrase."""
    if not pairs:
        return lambda text: text
    spoken = {written.casefold(): say for written, say in pairs}
    # Longest first, so "lower back" wins over "back" where both are given.
    alternatives = sorted((re.escape(w) for w, _ in pairs), key=len, reverse=True)
    pattern = re.compile(r"(?<!\w)(?:" + "|".join(alternatives) + r")(?!\w)", re.IGNORECASE)
    return lambda text: pattern.sub(lambda m: spoken[m.group(0).casefold()], text)
