"""Script text → ``Session``.

Knows YAML and the script format; opens no file. Every error names the
source, line, column and field, so an author can jump straight to it.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Callable
from functools import partial
from typing import Any, NoReturn, TypeVar, cast

import yaml

from ..errors import ScriptError, ScriptErrors
from .durations import (
    MAX_DURATION_S,
    MAX_SESSION_S,
    breaths_count,
    parse_duration_text,
)
from .model import (
    Ambience,
    Breathe,
    BreathPattern,
    Cues,
    Exercise,
    Hold,
    Pause,
    Repeat,
    Say,
    Session,
    Sound,
    Step,
    Voice,
)
from .patterns import NAMED_PATTERNS, RELAX
from .phrases import has_translation, translated_languages
from .placeholders import Context, check_placeholders
from .plural import counted
from .pronounce import check_pronunciation
from .yaml_nodes import compose, error_at, is_decimal, is_null, number_or_none, what

MAX_SCRIPT_BYTES = 1_000_000  # 1 MB
MAX_TEXT_CHARS = 2000
MAX_REPEAT = 100
MAX_REPS = 100
MAX_NESTING = 8
MAX_EXPANDED_STEPS = 20_000
MAX_ERRORS_SHOWN = 10
ENGINE_CHOICES = ("auto", "espeak", "pyttsx3", "piper", "test")
STEP_KINDS = ("say", "pause", "exercise", "breathe", "sound", "repeat")
TOP_KEYS = (
    "title",
    "description",
    "language",
    "voice",
    "pace",
    "verbosity",
    "countdown",
    "repeat_instructions",
    "cues",
    "pronounce",
    "ambience",
    "steps",
)
AMBIENCE_SOUNDS = ("none", "brown-noise", "rain", "ocean", "drone")
AMBIENCE_KEYS = ("sound", "volume")
AMBIENCE_VOLUME_DB = (-40.0, -14.0)
CUE_MODES = ("tones", "spoken", "both")
REPEAT_INSTRUCTIONS = ("brief", "full")
CUES_KEYS = ("mode", "volume")
CUE_VOLUME_DB = (-20.0, 6.0)
MAX_PRONOUNCE = 200
STEP_KEYS = {
    "say": ("say", "chapter"),
    "pause": ("pause",),
    "exercise": (
        "exercise",
        "sides",
        "reps",
        "say",
        "brief",
        "hold",
        "breathe",
        "release",
        "rest",
        "countdown",
        "repeat_instructions",
    ),
    "breathe": ("breathe", "cycles", "for"),
    "sound": ("sound",),
    "repeat": ("repeat", "steps"),
}
VOICE_KEYS = ("engine", "name", "rate")
PATTERN_KEYS = ("in", "hold", "out", "hold_out")

_T = TypeVar("_T")
Node = yaml.Node


def parse_script(
    data: bytes | str, source: str = "<script>", *, allow_fallback: bool = False
) -> Session:
    """Parse a script's bytes (or text) into a ``Session``, or raise ``ScriptError``.

    Independent errors (in different fields or steps) are all found: more
    than one raises ``ScriptErrors``, in the order of their lines. A
    ``language`` without a translation of the built-in phrases is an error
    unless ``allow_fallback`` (then those phrases are spoken in English).
    """
    return _Reader(source, allow_fallback).session(data)


class _Reader:
    def __init__(self, source: str, allow_fallback: bool = False) -> None:
        self.source = source
        self.allow_fallback = allow_fallback
        self.expanded_steps = 0
        self.errors: list[ScriptError] = []
        # (mapping node, key) where an unknown key was taken for a misspelling
        # of that key: its absence is the same error, not a second one.
        self.misspelled: set[tuple[int, str]] = set()

    # -- errors -----------------------------------------------------------
    def attempt(self, read: Callable[[], _T], default: _T) -> _T:
        """``read()``, or ``default`` with its error kept, so that the errors after it
        are found too. A field that failed is read as absent: no error follows from it."""
        try:
            return read()
        except ScriptError as error:
            if self.expanded_steps > MAX_EXPANDED_STEPS:
                raise  # every step after this one would say the same
            if not isinstance(error, _AlreadyTold):
                self.errors.append(error)
            return default

    def failed_since(self, count: int) -> bool:
        return len(self.errors) > count

    def require(
        self, fields: dict[str, Node], key: str, node: Node, field: str | None, message: str
    ) -> Node:
        """``fields[key]``, or an error on ``node`` (the mapping) that it is missing."""
        if key in fields and not is_null(fields[key]):
            return fields[key]
        if (id(node), key) in self.misspelled:
            raise _AlreadyTold(message)
        self.fail(node, field, message)

    def fail(self, node: Node | None, field: str | None, message: str) -> NoReturn:
        raise self.error(node, field, message)

    def error(self, node: Node | None, field: str | None, message: str) -> ScriptError:
        return error_at(self.source, node, field, message)

    # -- document -----------------------------------------------------------
    def session(self, data: bytes | str) -> Session:
        text = self._decode(data)
        root = compose(text, self.source, "the script is empty; it needs a title and steps")
        if not isinstance(root, yaml.MappingNode):
            self.fail(root, None, f"expected a mapping with title and steps, got {what(root)}")
        fields = self.mapping(root, "script", TOP_KEYS)
        title = self.attempt(
            lambda: self.text(
                self.require(fields, "title", root, "title", "'title' is required"), "title"
            ),
            "",
        )
        steps_node = self.attempt(
            lambda: self.require(fields, "steps", root, "steps", "'steps' is required"), None
        )
        countdown_s = self.opt(fields, "countdown", lambda n: self.countdown(n, "countdown"), 3)
        session = Session(
            title=title,
            steps=(),
            source=self.source,
            description=self.opt(fields, "description", lambda n: self.text(n, "description")),
            language=self.opt(fields, "language", self.language, "en"),
            voice=self.opt(fields, "voice", self.voice, Voice()),
            pace=self.opt(fields, "pace", lambda n: self.number(n, "pace", 0.5, 2.0), 1.0),
            verbosity=cast(
                Any,
                self.opt(
                    fields, "verbosity", lambda n: self.choice(n, "verbosity", VERBOSITIES), "full"
                ),
            ),
            countdown_s=countdown_s,
            pronounce=self.opt(fields, "pronounce", self.pronounce, ()),
            ambience=self.opt(fields, "ambience", self.ambience),
            cues=self.opt(fields, "cues", self.cues, Cues()),
            repeat_instructions=self.opt(
                fields,
                "repeat_instructions",
                lambda n: self.choice(n, "repeat_instructions", REPEAT_INSTRUCTIONS),
                "brief",
            ),
        )
        steps: tuple[Step, ...] = ()
        if steps_node is not None:
            steps = self.attempt(lambda: self.steps(steps_node, "steps", Context(), depth=0), ())
        if self.errors or steps_node is None:
            raise _collected(self.errors)
        self._check_static_length(steps, steps_node)
        return Session(**{**session.__dict__, "steps": steps})

    def _decode(self, data: bytes | str) -> str:
        raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
        if len(raw) > MAX_SCRIPT_BYTES:
            raise ScriptError(
                f"the file is {len(raw) / 1e6:.1f} MB; a script may be at most "
                f"{MAX_SCRIPT_BYTES / 1e6:g} MB",
                source=self.source,
            )
        if b"\x00" in raw[:8192] and not raw.startswith((b"\xff\xfe", b"\xfe\xff")):
            raise ScriptError("this is a binary file, not a YAML script", source=self.source)
        try:
            return raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            line = raw.count(b"\n", 0, exc.start) + 1
            column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
            raise ScriptError(
                f"not UTF-8 text (byte 0x{raw[exc.start]:02x}); save the script as UTF-8",
                source=self.source,
                line=line,
                column=column,
            ) from None

    # -- generic values -----------------------------------------------------
    def mapping(self, node: Node, field: str, allowed: tuple[str, ...]) -> dict[str, Node]:
        if isinstance(node, yaml.SequenceNode):
            self.fail(
                node,
                field,
                "expected keys and values (a mapping), got a list; "
                "remove the '- ' in front of the keys",
            )
        if not isinstance(node, yaml.MappingNode):
            self.fail(node, field, f"expected a mapping, got {what(node)}")
        fields: dict[str, Node] = {}
        lines: dict[str, int] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                self.fail(key_node, field, "expected a plain key")
            key = str(key_node.value)
            if key in fields:
                message = f"the key '{key}' appears twice (first on line {lines[key]}); keep one"
                self.errors.append(self.error(key_node, field, message))
                continue
            lines[key] = key_node.start_mark.line + 1
            if key not in allowed:
                message = _unknown_key(key, allowed)
                self.errors.append(self.error(key_node, _join(field, key), message))
                close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
                if close:
                    self.misspelled.add((id(node), close[0]))
                continue
            fields[key] = value_node
        return fields

    def opt(
        self, fields: dict[str, Node], key: str, read: Callable[[Node], _T], default: Any = None
    ) -> Any:
        node = fields.get(key)
        if node is None or is_null(node):
            return default
        return self.attempt(lambda: read(node), default)

    def scalar(self, node: Node, field: str, expected: str) -> tuple[str, str]:
        if not isinstance(node, yaml.ScalarNode) or is_null(node):
            self.fail(node, field, f"expected {expected}, got {what(node)}")
        return str(node.value), str(node.tag)

    def text(self, node: Node, field: str, ctx: Context | None = None) -> str:
        # A plain scalar is taken as written, so "say: Yes" or "say: 10" are text.
        value, _ = self.scalar(node, field, "text")
        value = " ".join(value.split())
        if not value:
            self.fail(node, field, "expected some text, got an empty string")
        if len(value) > MAX_TEXT_CHARS:
            self.fail(
                node,
                field,
                f"the text is {len(value)} characters long; split it into steps of at most "
                f"{MAX_TEXT_CHARS}",
            )
        if any(ord(c) < 32 or 0x7F <= ord(c) < 0xA0 for c in value):
            self.fail(node, field, "the text contains control characters")
        if ctx is not None:
            problem = check_placeholders(value, ctx)
            if problem:
                self.fail(node, field, problem)
        return value

    def number(self, node: Node, field: str, low: float, high: float) -> float:
        value, tag = self.scalar(node, field, f"a number from {_fmt(low)} to {_fmt(high)}")
        if not is_decimal(value, tag):
            self.fail(
                node, field, f"expected a number from {_fmt(low)} to {_fmt(high)}, got '{value}'"
            )
        number = float(value)
        if not (math.isfinite(number) and low <= number <= high):
            self.fail(
                node, field, f"expected a number from {_fmt(low)} to {_fmt(high)}, got {value}"
            )
        return number

    def integer(self, node: Node, field: str, low: int, high: int) -> int:
        value, tag = self.scalar(node, field, f"a whole number from {low} to {high}")
        if not is_decimal(value, tag) or not value.lstrip("+-").isdigit():
            self.fail(node, field, f"expected a whole number from {low} to {high}, got '{value}'")
        digits = value.lstrip("+-").lstrip("0")
        # Python refuses to make an int of more than 4300 digits: such a number
        # is told as out of range without being made.
        expected = f"expected a whole number from {low} to {high}"
        if len(digits) > 20:
            self.fail(node, field, f"{expected}, got a number of {len(digits)} digits")
        number = int(value)
        if not low <= number <= high:
            self.fail(node, field, f"{expected}, got {number}")
        return number

    def choice(self, node: Node, field: str, choices: tuple[str, ...]) -> str:
        value, _ = self.scalar(node, field, "one of " + ", ".join(choices))
        if value not in choices:
            self.fail(node, field, f"expected one of {', '.join(choices)}, got '{value}'")
        return value

    def duration(self, node: Node, field: str, *, allow_zero: bool = False) -> float:
        value, tag = self.scalar(node, field, "a duration such as 30s or 1m30s")
        if ":" in value:
            # Read as written: YAML 1.1 would make 1:30 a base-60 number but
            # leave "1:30" and 01:30 as text.
            seconds = parse_duration_text(value)
            if seconds is None:
                self.fail(
                    node,
                    field,
                    "expected a time such as 1:30 (m:ss) or 1:02:03 (h:mm:ss), with two-digit "
                    f"minutes and seconds below 60, got '{value}'",
                )
        else:
            seconds = number_or_none(value, tag)
            if seconds is None:
                seconds = parse_duration_text(value)
        if seconds is None or not math.isfinite(seconds):
            self.fail(
                node, field, f"expected a duration such as 30, 500ms, 30s or 1m30s, got '{value}'"
            )
        if seconds < 0 or (seconds == 0 and not allow_zero):
            lowest = "0 or more" if allow_zero else "more than 0"
            self.fail(node, field, f"expected a duration of {lowest} seconds, got '{value}'")
        if seconds > MAX_DURATION_S:
            self.fail(node, field, f"a duration may be at most 1 hour, got '{value}'")
        return seconds

    def countdown(self, node: Node, field: str) -> int:
        return self.integer(node, field, 0, 10)

    # -- session fields -------------------------------------------------------
    def language(self, node: Node) -> str:
        value, _ = self.scalar(node, "language", "a language tag such as en or de-DE")
        parts = value.split("-")
        if not (
            2 <= len(parts[0]) <= 3
            and parts[0].isalpha()
            and all(1 <= len(p) <= 8 and p.isalnum() for p in parts[1:])
            and value.isascii()
        ):
            self.fail(
                node,
                "language",
                f"expected a BCP 47 language tag such as en or de-DE, got '{value}'",
            )
        if not self.allow_fallback and not has_translation(value):
            self.fail(
                node,
                "language",
                f"voiceguide's own phrases (sides, breathing, countdown) have no translation "
                f"for '{value}' (there are: {', '.join(translated_languages())}); "
                "run with --allow-fallback to speak them in English",
            )
        return value

    def pronounce(self, node: Node) -> tuple[tuple[str, str], ...]:
        if not isinstance(node, yaml.MappingNode):
            expected = "expected a mapping of 'word: how to say it'"
            self.fail(node, "pronounce", f"{expected}, got {what(node)}")
        if len(node.value) > MAX_PRONOUNCE:
            self.fail(node, "pronounce", f"at most {MAX_PRONOUNCE} words, got {len(node.value)}")
        seen: dict[str, str] = {}
        pairs = []
        for key_node, value_node in node.value:
            written = self.text(key_node, "pronounce")
            field = f"pronounce.{written}"
            problem = check_pronunciation(written)
            if problem:
                self.fail(key_node, field, problem)
            if written.casefold() in seen:
                self.fail(
                    key_node, field, f"'{written}' is already given as '{seen[written.casefold()]}'"
                )
            seen[written.casefold()] = written
            pairs.append((written, self.text(value_node, field)))
        return tuple(pairs)

    def ambience(self, node: Node) -> Ambience | None:
        volume_db = -20.0
        sound_node = node
        if isinstance(node, yaml.MappingNode):
            fields = self.mapping(node, "ambience", AMBIENCE_KEYS)
            sound_node = self.require(
                fields,
                "sound",
                node,
                "ambience",
                "an ambience mapping needs 'sound' (e.g. sound: rain)",
            )
            low, high = AMBIENCE_VOLUME_DB
            volume_db = self.opt(
                fields, "volume", lambda n: self.number(n, "ambience.volume", low, high), -20.0
            )
        field = "ambience.sound" if sound_node is not node else "ambience"
        value = self.text(sound_node, field)
        line = sound_node.start_mark.line + 1
        if value == "none":
            return None
        if value in AMBIENCE_SOUNDS:
            return Ambience(cast(Any, value), line, volume_db=volume_db)
        if "/" not in value and "." not in value:
            self.fail(
                sound_node,
                field,
                f"expected one of {', '.join(AMBIENCE_SOUNDS)} or a sound file's path, "
                f"got '{value}'",
            )
        return Ambience("file", line, path=value, volume_db=volume_db)

    def cues(self, node: Node) -> Cues:
        """``cues: spoken``, or a mapping of ``mode`` and ``volume``."""
        if not isinstance(node, yaml.MappingNode):
            return Cues(mode=cast(Any, self.choice(node, "cues", CUE_MODES)))
        fields = self.mapping(node, "cues", CUES_KEYS)
        low, high = CUE_VOLUME_DB
        return Cues(
            mode=cast(
                Any, self.opt(fields, "mode", lambda n: self.choice(n, "cues.mode", CUE_MODES))
            ),
            volume_db=self.opt(
                fields, "volume", lambda n: self.number(n, "cues.volume", low, high), 0.0
            ),
        )

    def voice(self, node: Node) -> Voice:
        fields = self.mapping(node, "voice", VOICE_KEYS)
        return Voice(
            engine=self.opt(
                fields, "engine", lambda n: self.choice(n, "voice.engine", ENGINE_CHOICES), "auto"
            ),
            name=self.opt(fields, "name", lambda n: self.text(n, "voice.name")),
            rate_wpm=self.opt(
                fields, "rate", lambda n: self.integer(n, "voice.rate", 80, 300), 150
            ),
        )

    def pattern(self, node: Node, field: str) -> BreathPattern:
        if isinstance(node, yaml.MappingNode):
            fields = self.mapping(node, field, PATTERN_KEYS)
            for key in ("in", "out"):
                self.require(
                    fields, key, node, field, f"a custom breathing pattern needs '{key}' (seconds)"
                )

            def phase(key: str) -> float:
                return self.opt(fields, key, lambda n: self.number(n, _join(field, key), 0, 60), 0)

            errors = len(self.errors)
            pattern = BreathPattern(
                "custom", phase("in"), phase("hold"), phase("out"), phase("hold_out")
            )
            if pattern.cycle_s <= 0 and not self.failed_since(errors):
                self.fail(node, field, "a breathing pattern needs at least one phase longer than 0")
            return pattern
        names = tuple(NAMED_PATTERNS)
        value, _ = self.scalar(node, field, "a pattern name or a mapping {in, hold, out, hold_out}")
        if value not in NAMED_PATTERNS:
            self.fail(
                node,
                field,
                f"expected one of {', '.join(names)} or a mapping "
                f"{{in, hold, out, hold_out}}, got '{value}'",
            )
        return NAMED_PATTERNS[value]

    # -- steps ------------------------------------------------------------------
    def steps(self, node: Node, field: str, ctx: Context, depth: int) -> tuple[Step, ...]:
        if isinstance(node, yaml.MappingNode):
            self.fail(
                node, field, "expected a list of steps, got a mapping; start each step with '- '"
            )
        if not isinstance(node, yaml.SequenceNode):
            self.fail(node, field, f"expected a list of steps, got {what(node)}")
        if not node.value:
            self.fail(node, field, "expected at least one step, got an empty list")
        if depth > MAX_NESTING:
            self.fail(node, field, f"repeat blocks may be nested at most {MAX_NESTING} deep")
        steps = (
            self.attempt(partial(self.step, item, f"{field}[{index}]", ctx, depth), None)
            for index, item in enumerate(node.value)
        )
        return tuple(step for step in steps if step is not None)

    def step(self, node: Node, field: str, ctx: Context, depth: int) -> Step:
        if not isinstance(node, yaml.MappingNode):
            # "say:hi" is text to YAML: a key needs a space after its colon.
            hint = (
                "; put a space after the ':'"
                if isinstance(node, yaml.ScalarNode) and re.match(r"^\w+:\S", str(node.value))
                else ""
            )
            self.fail(
                node,
                field,
                f"expected a step (a mapping such as 'say: Hello'), got {what(node)}{hint}",
            )
        keys = [str(k.value) for k, _ in node.value if isinstance(k, yaml.ScalarNode)]
        kinds = [k for k in keys if k in STEP_KINDS]
        if "exercise" in kinds:
            # An exercise has its own say and breathe fields; any other kind key
            # is reported as a key exercises do not take.
            kinds = ["exercise"]
        if len(kinds) > 1:
            self.fail(
                node,
                field,
                f"a step has exactly one of {', '.join(STEP_KINDS)}; this one "
                f"has {' and '.join(kinds)}: split it into separate steps",
            )
        if not kinds:
            unknown = next((k for k, _ in node.value), node)
            self.fail(
                unknown,
                _join(field, keys[0] if keys else ""),
                _unknown_key(keys[0] if keys else "", STEP_KINDS, "a step kind, one of"),
            )
        kind = kinds[0]
        self.expanded_steps += ctx.multiplier
        if self.expanded_steps > MAX_EXPANDED_STEPS:
            self.fail(
                node,
                field,
                f"the session expands to more than {MAX_EXPANDED_STEPS} steps; "
                "use fewer or smaller repeat blocks",
            )
        fields = self.mapping(node, field, STEP_KEYS[kind])
        line = node.start_mark.line + 1
        kind_node = fields[kind]
        here = _join(field, kind)
        if kind == "say":
            chapter = self.opt(
                fields, "chapter", lambda n: self.text(n, _join(field, "chapter"), ctx.for_name())
            )
            return Say(self.text(kind_node, here, ctx), line, chapter)
        if kind == "pause":
            return Pause(self.duration(kind_node, here), line)
        if kind == "sound":
            return Sound(cast(Any, self.choice(kind_node, here, SOUNDS)), line)
        if kind == "breathe":
            return self.breathe(fields, node, field, line)
        if kind == "repeat":
            return self.repeat(fields, node, field, ctx, depth, line)
        return self.exercise(fields, node, field, ctx, line)

    def breathe(self, fields: dict[str, Node], node: Node, field: str, line: int) -> Breathe:
        pattern = self.pattern(fields["breathe"], _join(field, "breathe"))
        if "cycles" in fields and "for" in fields:
            self.fail(fields["for"], _join(field, "for"), "give either cycles or for, not both")
        cycles = self.opt(
            fields, "cycles", lambda n: self.integer(n, _join(field, "cycles"), 1, 1000)
        )
        for_s = self.opt(fields, "for", lambda n: self.duration(n, _join(field, "for")))
        if cycles is None and for_s is None:
            cycles = 4
        if cycles is not None and cycles * pattern.cycle_s > MAX_DURATION_S:
            self.fail(
                fields.get("cycles", node),
                _join(field, "cycles"),
                f"{counted(cycles, 'cycle')} of {_fmt(pattern.cycle_s)} s last more than 1 hour",
            )
        return Breathe(pattern, line, cycles=cycles, for_s=for_s)

    def repeat(
        self, fields: dict[str, Node], node: Node, field: str, ctx: Context, depth: int, line: int
    ) -> Repeat:
        times = self.opt(
            fields, "repeat", lambda n: self.integer(n, _join(field, "repeat"), 1, MAX_REPEAT), 1
        )
        steps_node = self.require(
            fields,
            "steps",
            node,
            field,
            "a repeat block needs 'steps', the list of steps to repeat",
        )
        inner = ctx.inside_repeat(times)
        steps = self.steps(steps_node, _join(field, "steps"), inner, depth + 1)
        return Repeat(times, steps, line)

    def exercise(
        self, fields: dict[str, Node], node: Node, field: str, ctx: Context, line: int
    ) -> Exercise:
        name = self.text(fields["exercise"], _join(field, "exercise"), ctx.for_name())
        errors = len(self.errors)
        sides = self.opt(
            fields, "sides", lambda n: self.choice(n, _join(field, "sides"), SIDES), "none"
        )
        # Bad sides: {side} in its texts is not blamed as well.
        sided = sides != "none" or self.failed_since(errors)
        reps = self.opt(
            fields, "reps", lambda n: self.integer(n, _join(field, "reps"), 1, MAX_REPS), 1
        )
        inner = ctx.inside_exercise(sided, reps)

        def text(key: str) -> str | None:
            return self.opt(fields, key, lambda n: self.text(n, _join(field, key), inner))

        breathe = self.opt(fields, "breathe", lambda n: self.pattern(n, _join(field, "breathe")))
        errors = len(self.errors)
        hold = self.opt(fields, "hold", lambda n: self.hold(n, _join(field, "hold"), breathe))
        if breathe is not None and hold is None and not self.failed_since(errors):
            self.fail(
                fields["breathe"],
                _join(field, "breathe"),
                "breathing is cued during a hold; add a hold such as 'hold: 30s'",
            )
        rest_s = self.opt(
            fields, "rest", lambda n: self.duration(n, _join(field, "rest"), allow_zero=True), 0.0
        )
        return Exercise(
            name=name,
            line=line,
            sides=sides,
            reps=reps,
            say=text("say"),
            brief=text("brief"),
            hold=hold,
            breathe=breathe,
            release=text("release"),
            rest_s=rest_s,
            countdown_s=self.opt(
                fields, "countdown", lambda n: self.countdown(n, _join(field, "countdown"))
            ),
            repeat_instructions=self.opt(
                fields,
                "repeat_instructions",
                lambda n: self.choice(n, _join(field, "repeat_instructions"), REPEAT_INSTRUCTIONS),
            ),
        )

    def hold(self, node: Node, field: str, breathe: BreathPattern | None) -> Hold:
        value, _ = self.scalar(node, field, "a duration such as 30s, or a count like '5 breaths'")
        breaths = breaths_count(value)
        if breaths is None:
            return Hold(self.duration(node, field))
        pattern = breathe or RELAX
        if breaths < 1:
            self.fail(node, field, f"expected at least 1 breath, got '{value}'")
        seconds = breaths * pattern.cycle_s
        if seconds > MAX_DURATION_S:
            self.fail(
                node,
                field,
                f"{counted(breaths, 'breath')} of {_fmt(pattern.cycle_s)} s last more than 1 hour",
            )
        return Hold(seconds, breaths=breaths)

    def _check_static_length(self, steps: tuple[Step, ...], node: Node) -> None:
        """Refuse a session whose silences alone exceed the limit, before any synthesis."""
        total_s = 0.0
        for index, step in enumerate(steps):
            total_s += _least_length_s(step)
            if total_s > MAX_SESSION_S:
                item = node.value[index] if isinstance(node, yaml.SequenceNode) else node
                self.fail(
                    item,
                    f"steps[{index}]",
                    f"the session would last more than "
                    f"{MAX_SESSION_S / 3600:g} hours (at least {total_s / 3600:.1f} h "
                    "by this step)",
                )


VERBOSITIES = ("full", "brief", "cues")
SIDES = ("none", "both", "left", "right")
SOUNDS = ("chime", "bell", "tick")


def _least_length_s(step: Step) -> float:
    if isinstance(step, Pause):
        return step.duration_s
    if isinstance(step, Breathe):
        return step.for_s if step.for_s is not None else (step.cycles or 0) * step.pattern.cycle_s
    if isinstance(step, Repeat):
        return step.times * sum(_least_length_s(s) for s in step.steps)
    if isinstance(step, Exercise):
        per_rep = (step.hold.duration_s if step.hold else 0.0) + step.rest_s
        return per_rep * step.reps * (2 if step.sides == "both" else 1)
    return 0.0


def _collected(errors: list[ScriptError]) -> ScriptError:
    if len(errors) == 1:
        return errors[0]
    ordered = sorted(errors, key=lambda e: (e.line or 0, e.column or 0))
    return ScriptErrors(ordered[:MAX_ERRORS_SHOWN], more=len(ordered) - MAX_ERRORS_SHOWN)


class _AlreadyTold(ScriptError):
    """A missing key whose misspelling was already reported."""


def _join(field: str, key: str) -> str:
    return f"{field}.{key}" if field and field != "script" else key


def _fmt(number: float) -> str:
    return f"{number:g}"


def _unknown_key(key: str, allowed: tuple[str, ...], what: str = "one of") -> str:
    close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
    if close:
        return f"unknown key '{key}'; did you mean '{close[0]}'?"
    return f"unknown key '{key}'; expected {what}: {', '.join(allowed)}"
