"""``Session`` + clip lengths → ``Timeline``: the timing contract lives here.

Pure: the lengths of the spoken phrases and of the tones come in as
mappings, so the plan is exact to the sample and testable without audio.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from ..errors import ScriptError
from .durations import MAX_SESSION_S
from .holds import CueSlots, PlacedCue
from .model import (
    Breathe,
    BreathPattern,
    Chapter,
    ChapterKind,
    Event,
    EventKind,
    Exercise,
    Pause,
    PhaseName,
    Repeat,
    Say,
    Session,
    Side,
    Sound,
    Step,
    Timeline,
)
from .phrases import Phrases
from .placeholders import fill

SENTENCE_GAP_S = 0.35
STEP_GAP_S = 1.0
POSITION_GAP_S = 4.0
HALFWAY_MIN_HOLD_S = 20.0
# Least silence between two cues inside a hold, so each is heard on its own.
CUE_GUARD_S = 0.08

_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+(?=\S)")


def split_sentences(text: str) -> list[str]:
    """Sentences are spoken as separate clips, with a short gap between them.

    A piece with nothing to pronounce (a stray closing quote, "...") is left
    out: an engine gives no sound for it.
    """
    return [s for s in _SENTENCE_END.split(text.strip()) if pronounceable(s)]


def pronounceable(text: str) -> bool:
    """Whether ``text`` has a letter or digit: punctuation and symbols alone say nothing."""
    return any(char.isalnum() for char in text)


def plan(
    session: Session,
    speech_samples: Mapping[str, int],
    tone_samples: Mapping[str, int],
    sample_rate_hz: int,
) -> Timeline:
    """Lay out the session; ``speech_samples`` maps each phrase to its trimmed length."""
    return _Planner(session, speech_samples, tone_samples, sample_rate_hz).run()


def spoken_phrases(session: Session) -> list[str]:
    """Every phrase the session may speak, in order of first use, without duplicates.

    The planner asks for the length of every phrase it considers, whatever
    the lengths turn out to be, so a dry run with placeholder lengths names
    them all.
    """
    recorder = _Recorder()
    _Planner(session, recorder, _AnyLength(), 44100, check_length=False).run()
    return list(recorder.asked)


class _Recorder(Mapping[str, int]):
    def __init__(self) -> None:
        self.asked: dict[str, None] = {}

    def __getitem__(self, text: str) -> int:
        self.asked.setdefault(text)
        return 4410

    def __iter__(self) -> Iterator[str]:
        return iter(self.asked)

    def __len__(self) -> int:
        return len(self.asked)


class _AnyLength(Mapping[str, int]):
    def __getitem__(self, name: str) -> int:
        return 4410

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0


@dataclass(frozen=True)
class _Where:
    """Which step and round the planner is in, and what placeholders mean there."""

    step: int
    line: int
    rep: int | None = None
    reps: int | None = None

    def values(self, side: str | None = None, other: str | None = None) -> dict[str, str]:
        values: dict[str, str] = {}
        if self.rep is not None:
            values.update(rep=str(self.rep), reps=str(self.reps))
        if side is not None and other is not None:
            values.update(side=side, other_side=other)
        return values


class _Planner:
    def __init__(
        self,
        session: Session,
        speech_samples: Mapping[str, int],
        tone_samples: Mapping[str, int],
        rate: int,
        *,
        check_length: bool = True,
    ) -> None:
        self.session = session
        self.speech = speech_samples
        self.tones = tone_samples
        self.rate = rate
        self.check_length = check_length
        self.words = Phrases(session.language)
        self.full = session.verbosity == "full"
        self.cues_only = session.verbosity == "cues"
        self.gap = {
            "sentence": self.samples(SENTENCE_GAP_S * session.pace),
            "step": self.samples(STEP_GAP_S * session.pace),
            "position": self.samples(POSITION_GAP_S * session.pace),
        }
        self.events: list[Event] = []
        self.notes: list[str] = []
        # (title, start, kind, side); a title of None is a chapter opened by the
        # first sound after an exercise, named by whatever opens next.
        self.chapters: list[tuple[str | None, int, ChapterKind, Side | None]] = []
        self.cursor = 0
        self.pending_gap = 0
        self.pending_pauses: list[tuple[int, _Where, str]] = []
        self.pending_chapter: tuple[str, ChapterKind, Side | None] | None = None
        self.side: Side | None = None  # the exercise side being planned
        self.after_exercise = False
        self.where = _Where(0, 0)

    def samples(self, seconds: float) -> int:
        return round(seconds * self.rate)

    # -- the session -----------------------------------------------------------
    def run(self) -> Timeline:
        for index, step in enumerate(self.session.steps):
            self.step(step, _Where(index, step.line))
        self.flush_pauses()
        duration = self.cursor
        if duration == 0:
            self.nothing_to_play()
        if self.check_length and duration > self.samples(MAX_SESSION_S):
            self.too_long()
        return Timeline(
            title=self.session.title,
            sample_rate_hz=self.rate,
            duration_samples=duration,
            events=tuple(sorted(self.events, key=_event_order)),
            chapters=self.finish_chapters(duration),
            notes=tuple(self.notes),
            description=self.session.description,
            language=self.session.language,
            cue_volume_db=self.session.cues.volume_db,
        )

    def step(self, step: Step, where: _Where) -> None:
        self.where = where
        if isinstance(step, Say):
            if not self.cues_only:
                if step.chapter is not None:
                    self.open_named_chapter(fill(step.chapter, where.values()), where)
                self.say(fill(step.text, where.values()))
                self.want_gap("step")
        elif isinstance(step, Pause):
            self.pending_pauses.append((self.samples(step.duration_s), where, "pause"))
        elif isinstance(step, Sound):
            self.tone(step.name)
            self.want_gap("step")
        elif isinstance(step, Breathe):
            self.breathe_step(step, where)
        elif isinstance(step, Exercise):
            self.exercise(step, where)
        elif isinstance(step, Repeat):
            for rep in range(1, step.times + 1):
                inner = _Where(where.step, where.line, rep, step.times)
                for child in step.steps:
                    self.step(child, _Where(inner.step, child.line, rep, step.times))

    # -- sounds and silences on the main line ---------------------------------------
    def want_gap(self, kind: str) -> None:
        self.pending_gap = max(self.pending_gap, self.gap[kind])

    def flush_pauses(self) -> bool:
        """Emit explicit pauses (exact, no automatic gap); True if there were any."""
        had = bool(self.pending_pauses)
        for length, where, reason in self.pending_pauses:
            self.silence(length, where, reason)
        self.pending_pauses.clear()
        return had

    def before_sound(self) -> None:
        if not self.flush_pauses() and self.cursor > 0:
            self.silence(self.pending_gap, self.where, "gap")
        self.pending_gap = 0
        if self.pending_chapter is not None:
            title, kind, side = self.pending_chapter
            self.chapters.append((title, self.cursor, kind, side))
            self.pending_chapter = None
        elif self.after_exercise:
            # The lead-in to the next exercise: it opens that exercise's
            # chapter, whose title is known once the exercise is reached.
            self.chapters.append((None, self.cursor, "exercise", None))
        self.after_exercise = False

    def silence(self, length: int, where: _Where, reason: str) -> None:
        """Silence, its ``cue`` saying why: pause, rest, gap or hold."""
        if length > 0:
            self.add("silence", self.cursor, self.cursor + length, where, cue=reason)
            self.cursor += length

    def say(self, text: str) -> None:
        sentences = split_sentences(text)
        if not sentences and text.strip():
            self.note(f"line {self.where.line}", self.cursor, f"nothing to pronounce in {text!r}")
        spoken = 0
        for sentence in sentences:
            length = self.speech[sentence]
            if length == 0:
                # The engine said nothing (a character its voice cannot speak):
                # the rest of the session is still worth having.
                self.note(
                    f"line {self.where.line}",
                    self.cursor,
                    f"the voice made no sound for {sentence!r}; left out",
                )
                continue
            if spoken:
                self.want_gap("sentence")
            spoken += 1
            self.before_sound()
            end = self.cursor + length
            self.add("speech", self.cursor, end, self.where, text=sentence)
            self.cursor = end

    def tone(self, cue: str) -> None:
        self.before_sound()
        end = self.cursor + self.tones[cue]
        self.add("tone", self.cursor, end, self.where, cue=cue)
        self.cursor = end

    def add(self, kind: EventKind, start: int, end: int, where: _Where, **kw: str) -> None:
        self.events.append(
            Event(kind, start, end, where.step, line=where.line, side=self.side, **kw)
        )

    # -- chapters --------------------------------------------------------------------
    def titled(self, title: str, where: _Where) -> str:
        if where.rep is not None and where.reps and where.reps > 1:
            title += ", " + self.words["round"].format(rep=where.rep, reps=where.reps)
        return title

    def open_chapter(self, title: str, where: _Where, side: Side | None = None) -> None:
        """An exercise side or breathe step: its chapter takes any lead-in before it."""
        title = self.titled(title, where)
        if self.chapters and self.chapters[-1][0] is None:
            _, start, kind, _ = self.chapters[-1]
            self.chapters[-1] = (title, start, kind, side)
        else:
            self.pending_chapter = (title, "exercise", side)

    def open_named_chapter(self, title: str, where: _Where) -> None:
        """A say step's ``chapter:`` starts exactly there; sounds between the last
        exercise and it stay in that exercise's chapter."""
        if self.chapters and self.chapters[-1][0] is None:
            self.chapters.pop()
        self.after_exercise = False
        self.pending_chapter = (self.titled(title, where), "named", None)

    def finish_chapters(self, duration: int) -> tuple[Chapter, ...]:
        if self.chapters and self.chapters[-1][0] is None:
            closing = self.chapters[-1][1]
            # Sounds alone after the last exercise (a closing chime) end its
            # chapter; words make a chapter of their own.
            if not any(e.kind == "speech" and e.start_sample >= closing for e in self.events):
                self.chapters.pop()
        starts: list[tuple[str, int, ChapterKind, Side | None]] = [
            (self.words["closing"], start, "closing", None)
            if title is None
            else (title, start, kind, side)
            for title, start, kind, side in self.chapters
        ]
        if not starts or starts[0][1] > 0:
            if starts and all(e.kind == "silence" for e in self.events_before(starts[0][1])):
                starts[0] = (starts[0][0], 0, starts[0][2], starts[0][3])
            else:
                starts.insert(0, (self.words["introduction"], 0, "introduction", None))
        ends = [start for _, start, _, _ in starts[1:]] + [duration]
        return tuple(
            Chapter(title, start, end, kind, side)
            for (title, start, kind, side), end in zip(starts, ends, strict=True)
        )

    def events_before(self, sample: int) -> list[Event]:
        return [e for e in self.events if e.start_sample < sample]

    # -- exercises -------------------------------------------------------------------
    def exercise(self, ex: Exercise, where: _Where) -> None:
        sides_for: dict[str, list[Side | None]] = {
            "none": [None],
            "both": ["left", "right"],
            "left": ["left"],
            "right": ["right"],
        }
        sides = sides_for[ex.sides]
        name = fill(ex.name, where.values())
        for index, side in enumerate(sides):
            title = f"{name} ({self.words[side]})" if side else name
            self.open_chapter(title, where, side)
            self.side = side
            if index == 0:
                self.say(name)
                self.want_gap("step")
            else:
                self.tone("switch_sides")
                if not self.cues_only:
                    self.want_gap("sentence")
                    self.say(self.words["switch_sides"])
                self.want_gap("position")
            first_side = index == 0
            # Announced even where the short line follows ("Right side. Again,
            # right side."): the announcement is what every side is known by.
            if side:
                self.say(self.words[f"side_{side}"])
                self.want_gap("sentence")
            for rep in range(1, ex.reps + 1):
                self.repetition(ex, where, side, rep, first_side)
        self.side = None
        if ex.rest_s == 0:
            self.want_gap("step")
        self.after_exercise = True

    def repeats_full(self, ex: Exercise) -> bool:
        return (ex.repeat_instructions or self.session.repeat_instructions) == "full"

    def instruction(self, ex: Exercise, first_side: bool, rep: int) -> str | None:
        """The text of one rep, before placeholders; None where ``short_line`` speaks.

        The whole ``say`` on the first rep of the first side; later, the
        ``brief`` text, unless the script repeats instructions in full.
        """
        if (first_side and rep == 1) or self.repeats_full(ex):
            return ex.say if self.full else (ex.brief or ex.say)
        return ex.brief

    def short_line(self, ex: Exercise, first_side: bool, rep: int) -> bool:
        """Whether this rep is cued by the built-in "Again, ... side." line alone."""
        later = not (first_side and rep == 1)
        return later and not self.cues_only and self.instruction(ex, first_side, rep) is None

    def repetition(
        self, ex: Exercise, where: _Where, side: str | None, rep: int, first_side: bool
    ) -> None:
        other = {"left": "right", "right": "left"}.get(side or "")
        inner = _Where(where.step, where.line, rep, ex.reps)
        values = inner.values(
            self.words[side] if side else None, self.words[other] if other else None
        )
        if self.repeats_full(ex) and rep > 1 and self.full:
            self.say(self.words["again"])
            self.want_gap("sentence")
        instruction = self.instruction(ex, first_side, rep)
        if self.short_line(ex, first_side, rep):
            self.say(self.words[f"again_{side}" if side else "again"])
        elif instruction and not self.cues_only:
            self.say(fill(instruction, values))
        if ex.hold is not None:
            self.hold(ex, inner)
        if ex.release and not self.cues_only:
            if ex.hold is None:
                self.want_gap("step")
            self.say(fill(ex.release, values))
        if ex.rest_s > 0:
            self.pending_pauses.append((self.samples(ex.rest_s), where, "rest"))
        else:
            self.want_gap("step")

    def hold(self, ex: Exercise, where: _Where) -> None:
        """A hold starts where the instruction ended and lasts exactly ``hold``."""
        assert ex.hold is not None
        self.flush_pauses()
        self.pending_gap = 0
        start = self.cursor
        end = start + self.samples(ex.hold.duration_s)
        self.add("hold", start, end, where)
        slots = CueSlots(start, end, self.samples(CUE_GUARD_S))
        label = f"{self.session.source}:{where.line}: {ex.name}"
        self.place_end_of_hold(slots, label)
        self.place_countdown(slots, ex, label)
        pattern = ex.breathe or (None if ex.hold.breaths is None else _relax())
        if pattern is not None:
            self.place_breathing(slots, pattern, start, end, where, label)
        if end - start >= self.samples(HALFWAY_MIN_HOLD_S) and not self.cues_only:
            at = start + (end - start) // 2
            self.place(slots, at, ("speech", self.words["halfway"]), None, "halfway cue", label)
        self.emit_cues(slots.placed, end, where)

    def place_end_of_hold(self, slots: CueSlots, label: str) -> None:
        length = self.tones["end_of_hold"]
        if not slots.try_place(PlacedCue(slots.end - length, length, "tone", "end_of_hold")):
            self.note(label, slots.end, "end-of-hold tone left out (the hold is too short)")

    def place_countdown(self, slots: CueSlots, ex: Exercise, label: str) -> None:
        count = self.session.countdown_s if ex.countdown_s is None else ex.countdown_s
        for number in range(count, 0, -1):
            at = slots.end - number * self.rate
            if at < slots.start:
                continue
            self.place(
                slots,
                at,
                ("speech", self.words.count(number)),
                "tick",
                f"countdown '{number}'",
                label,
            )

    def place_breathing(
        self,
        slots: CueSlots,
        pattern: BreathPattern,
        start: int,
        end: int,
        where: _Where,
        label: str,
    ) -> None:
        mode = self.session.cues.mode
        for cycle, phase, phase_start, phase_end in self.phases(pattern, start, end):
            self.add("breath", phase_start, phase_end, where, cue=phase)
            # Without a mode, words on the first cycle say what the tones after them mean.
            spoken = (self.full and cycle == 0) if mode is None else mode == "spoken"
            cue = "hold" if phase in ("hold_in", "hold_out") else phase
            word = ("speech", self.words.phase(phase))
            first = word if spoken else ("tone", cue)
            slots.limit = phase_end - slots.guard if phase_end < end else end
            self.place(slots, phase_start, first, cue if spoken else None, f"'{phase}' cue", label)
            if mode == "both":
                # The word right after its tone, inside the same phase.
                after = next(
                    (c.end for c in slots.placed if c.start == phase_start and c.value == cue),
                    None,
                )
                if after is not None:
                    at = after + slots.guard
                    self.place(slots, at, word, None, f"'{phase}' word", label)
            slots.limit = None

    def phases(
        self, pattern: BreathPattern, start: int, end: int
    ) -> Iterator[tuple[int, PhaseName, int, int]]:
        """(cycle, phase, start, end) in samples, each boundary rounded from exact seconds."""
        cycle = 0
        while True:
            offset_s = cycle * pattern.cycle_s
            for phase, length_s in pattern.phases():
                phase_start = start + self.samples(offset_s)
                offset_s += length_s
                if phase_start >= end:
                    return
                yield cycle, phase, phase_start, min(end, start + self.samples(offset_s))
            cycle += 1

    def place(
        self,
        slots: CueSlots,
        at: int,
        first: tuple[str, str],
        fallback_tone: str | None,
        what: str,
        label: str,
    ) -> None:
        kind, value = first
        length = self.speech[value] if kind == "speech" else self.tones[value]
        if slots.try_place(PlacedCue(at, length, kind, value)):
            return
        if fallback_tone is not None:
            tone_length = self.tones[fallback_tone]
            if slots.try_place(PlacedCue(at, tone_length, "tone", fallback_tone)):
                self.note(label, at, f"{what} replaced by a tone (the words do not fit)")
                return
        self.note(label, at, f"{what} left out (no room)")

    def emit_cues(
        self, placed: list[PlacedCue], end: int, where: _Where, reason: str = "hold"
    ) -> None:
        for cue in sorted(placed, key=lambda c: c.start):
            self.silence(cue.start - self.cursor, where, reason)
            if cue.kind == "speech":
                self.add("speech", cue.start, cue.end, where, text=cue.value)
            else:
                self.add("tone", cue.start, cue.end, where, cue=cue.value)
            self.cursor = cue.end
        self.silence(end - self.cursor, where, reason)

    def note(self, label: str, at: int, message: str) -> None:
        self.notes.append(f"{label}: at {at / self.rate:.2f} s, {message}")

    # -- breathing steps ------------------------------------------------------------------
    def breathe_step(self, step: Breathe, where: _Where) -> None:
        pattern = step.pattern
        self.open_chapter(self.words.pattern_name(pattern), where)
        if self.full:
            self.say(self.words.pattern_description(pattern))
        else:
            self.say(self.words.pattern_name(pattern) + ".")
        self.want_gap("step")
        self.before_sound()
        start = self.cursor
        if step.for_s is not None:
            end = start + self.samples(step.for_s)
        else:
            end = start + self.samples((step.cycles or 1) * pattern.cycle_s)
        slots = CueSlots(start, end, self.samples(CUE_GUARD_S))
        label = f"{self.session.source}:{where.line}: {self.words.pattern_name(pattern)}"
        self.place_breathing(slots, pattern, start, end, where, label)
        self.emit_cues(slots.placed, end, where, "breath")
        self.want_gap("step")
        self.after_exercise = True

    def nothing_to_play(self) -> None:
        # An empty file would play as nothing at all, and chapters of no
        # length confuse players.
        if self.session.verbosity != "cues":
            # Every word was left out: text with nothing to pronounce ("...").
            raise ScriptError(
                "nothing here makes a sound (the text has nothing to pronounce); "
                "add words, or an exercise, breathe, sound or pause step",
                source=self.session.source,
                line=self.session.steps[0].line,
                field="steps[0]",
            )
        # Only spoken text, and "cues" leaves it out.
        raise ScriptError(
            f"at verbosity '{self.session.verbosity}' nothing is left to play; "
            "add an exercise, breathe, sound or pause step, or use verbosity full",
            source=self.session.source,
            line=self.session.steps[0].line,
            field="verbosity",
        )

    def too_long(self) -> None:
        limit = self.samples(MAX_SESSION_S)
        event = next(e for e in self.events if e.end_sample > limit)
        raise ScriptError(
            f"the session would last {self.cursor / self.rate / 3600:.2f} hours; "
            f"at most {MAX_SESSION_S / 3600:g} hours are allowed",
            source=self.session.source,
            line=event.line,
            field=f"steps[{event.step}]",
        )


def _relax() -> BreathPattern:
    from .patterns import RELAX

    return RELAX


def _event_order(event: Event) -> tuple[int, int, int]:
    container = 0 if event.kind in ("hold", "breath") else 1
    return (event.start_sample, container, -event.end_sample)
