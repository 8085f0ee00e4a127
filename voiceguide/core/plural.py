"""A count and its noun in agreement, for everything voiceguide prints."""

from __future__ import annotations


def counted(count: int, singular: str, plural: str | None = None) -> str:
    """ "1 chapter", "0 chapters", "2 chapters"; ``plural`` for nouns that take more than an s."""
    noun = singular if count == 1 else (plural if plural is not None else singular + "s")
    return f"{count} {noun}"
