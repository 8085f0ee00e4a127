"""Changing a planned ``Timeline`` while it plays: pure functions, exact in samples.

Every edit takes the timeline and the position ``at`` (in samples) from which
nothing has been heard yet; what lies before ``at`` is history and stays as it
was, apart from a sound cut off at ``at``, which becomes silence. Sounds are
never shortened: a clip is played whole or not at all.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from ..core.model import Chapter, Event, Timeline

SOUND_KINDS = ("speech", "tone")
DEFAULT_EXTEND_S = 15.0
# The final countdown may be set up to this long in a script.
MAX_COUNTDOWN_S = 10
# "b" within this long of an exercise's start goes to the one before.
BACK_AGAIN_S = 2.0


def _shifted(event: Event, by: int) -> Event:
    return replace(event, start_sample=event.start_sample + by, end_sample=event.end_sample + by)


def _cut_off(event: Event, end: int) -> Event:
    """What remains of ``event`` before ``end``: a sound cut off becomes silence."""
    if event.kind in SOUND_KINDS:
        return Event("silence", event.start_sample, end, event.step, cue="cut", line=event.line)
    return replace(event, end_sample=end)


def sound_at(timeline: Timeline, sample: int) -> Event | None:
    """The sound playing at ``sample`` (started before it and not yet ended)."""
    for event in timeline.events:
        if event.kind in SOUND_KINDS and event.start_sample < sample < event.end_sample:
            return event
    return None


def after_sound(timeline: Timeline, sample: int) -> int:
    """``sample``, or the end of the sound playing at it: where silence may be added."""
    sound = sound_at(timeline, sample)
    return sample if sound is None else sound.end_sample


def splice(timeline: Timeline, at: int, resume_from: int) -> Timeline:
    """From ``at`` on, play what the timeline has from ``resume_from`` on.

    ``resume_from`` after ``at`` skips ahead; before it, plays a part again.
    """
    shift = at - resume_from
    head = [
        e if e.end_sample <= at else _cut_off(e, at) for e in timeline.events if e.start_sample < at
    ]
    tail: list[Event] = []
    for e in timeline.events:
        if e.end_sample <= resume_from:
            continue
        if e.start_sample >= resume_from:
            tail.append(_shifted(e, shift))
        elif e.kind in SOUND_KINDS:
            tail.append(Event("silence", at, e.end_sample + shift, e.step, cue="cut", line=e.line))
        else:
            tail.append(replace(e, start_sample=at, end_sample=e.end_sample + shift))
    chapters = [
        replace(c, end_sample=min(c.end_sample, at))
        for c in timeline.chapters
        if c.start_sample < at
    ]
    for c in timeline.chapters:
        if c.end_sample > resume_from:
            start = max(c.start_sample, resume_from) + shift
            chapters.append(replace(c, start_sample=start, end_sample=c.end_sample + shift))
    duration = max(at, timeline.duration_samples + shift)
    return _rebuilt(timeline, [*head, *tail], chapters, duration)


def insert(
    timeline: Timeline,
    at: int,
    length: int,
    block: Iterable[Event] = (),
    *,
    inside: bool = False,
) -> Timeline:
    """``length`` samples added at ``at``: ``block`` (events from 0, filled out with
    silence) is placed there and everything from ``at`` on moves later.

    A hold or breath around ``at`` grows by ``length`` (with ``inside``, also one
    that starts at ``at``); ``at`` must not be inside a sound.
    """
    if length <= 0:
        return timeline
    if sound_at(timeline, at) is not None:
        raise ValueError(f"cannot insert at {at}: a sound is playing there")
    events: list[Event] = []
    for e in timeline.events:
        grows = inside and e.kind in ("hold", "breath") and e.start_sample == at
        if e.start_sample >= at and not grows:
            events.append(_shifted(e, length))
        elif e.end_sample <= at:
            events.append(e)
        elif e.kind == "silence":
            events.append(replace(e, end_sample=at))
            events.append(replace(e, start_sample=at + length, end_sample=e.end_sample + length))
        else:
            events.append(replace(e, end_sample=e.end_sample + length))
    placed = sorted((_shifted(e, at) for e in block), key=lambda e: e.start_sample)
    step = step_at(timeline, at)
    cursor = at
    for e in placed:
        if e.start_sample > cursor:
            events.append(Event("silence", cursor, e.start_sample, step, cue="added"))
        events.append(e)
        cursor = max(cursor, e.end_sample)
    if cursor < at + length:
        events.append(Event("silence", cursor, at + length, step, cue="added"))
    chapters = []
    for c in timeline.chapters:
        if c.start_sample >= at and c.start_sample > 0:
            chapters.append(
                replace(c, start_sample=c.start_sample + length, end_sample=c.end_sample + length)
            )
        elif c.end_sample >= at:
            chapters.append(replace(c, end_sample=c.end_sample + length))
        else:
            chapters.append(c)
    return _rebuilt(timeline, events, chapters, timeline.duration_samples + length)


def step_at(timeline: Timeline, sample: int) -> int:
    before = [e.step for e in timeline.events if e.start_sample <= sample]
    return before[-1] if before else 0


def _rebuilt(
    timeline: Timeline, events: list[Event], chapters: list[Chapter], duration: int
) -> Timeline:
    def order(e: Event) -> tuple[int, int, int]:
        return (e.start_sample, 0 if e.kind in ("hold", "breath") else 1, -e.end_sample)

    kept = [e for e in events if e.end_sample > e.start_sample]
    shown = [c for c in chapters if c.end_sample > c.start_sample]
    return replace(
        timeline,
        events=tuple(sorted(kept, key=order)),
        chapters=tuple(shown),
        duration_samples=duration,
    )


# -- what the keys do ------------------------------------------------------------------
def container_at(timeline: Timeline, sample: int, kind: str) -> Event | None:
    for event in timeline.events:
        if event.kind == kind and event.start_sample <= sample < event.end_sample:
            return event
    return None


def countdown_start(timeline: Timeline, hold: Event, count_words: dict[int, str]) -> int:
    """Where the hold's closing cues begin: its final countdown, end tone, or its end.

    A countdown cue starts exactly a whole number of seconds before the end, and
    is the number's word or a tick.
    """
    rate = timeline.sample_rate_hz
    start = hold.end_sample
    for e in timeline.events:
        if e.kind not in SOUND_KINDS or not hold.start_sample <= e.start_sample < hold.end_sample:
            continue
        before = hold.end_sample - e.start_sample
        number, rest = divmod(before, rate)
        counting = rest == 0 and 1 <= number <= MAX_COUNTDOWN_S
        if (
            counting and (e.text == count_words.get(number) or e.cue == "tick")
        ) or e.cue == "end_of_hold":
            start = min(start, e.start_sample)
    return start


def extend(
    timeline: Timeline, at: int, extra_samples: int, count_words: dict[int, str]
) -> Timeline | None:
    """The hold, rest or pause playing at ``at`` made ``extra_samples`` longer.

    Silence goes in before the final countdown, so "3, 2, 1" still falls
    exactly 3, 2 and 1 s before the new end. Pressed during the countdown, the
    countdown starts again after the added silence. None: nothing to extend.
    """
    at = after_sound(timeline, at)
    hold = container_at(timeline, at, "hold")
    if hold is None:
        silence = container_at(timeline, at, "silence")
        if silence is None or silence.cue not in ("rest", "pause"):
            return None
        return insert(timeline, at, extra_samples, inside=True)
    closing = countdown_start(timeline, hold, count_words)
    lead = extra_samples - (at - closing)
    if at <= closing or lead <= 0:
        return insert(timeline, at, extra_samples, inside=True)
    again = insert(splice(timeline, at, closing), at, lead)
    return _merge_hold(again, hold, hold.end_sample + extra_samples)


def _merge_hold(timeline: Timeline, hold: Event, new_end: int) -> Timeline:
    """The parts a countdown restart split one hold into, made one again."""
    parts = [
        e
        for e in timeline.events
        if e.kind == "hold"
        and e.step == hold.step
        and hold.start_sample <= e.start_sample < new_end
    ]
    events = [e for e in timeline.events if e not in parts]
    events.append(replace(hold, end_sample=new_end))
    return _rebuilt(timeline, events, list(timeline.chapters), timeline.duration_samples)


def boundaries(timeline: Timeline) -> list[int]:
    """Where the parts "n" and "b" move between start: each step and each chapter."""
    starts = {c.start_sample for c in timeline.chapters}
    seen: set[int] = set()
    for e in timeline.events:
        if e.kind in SOUND_KINDS and e.step not in seen:
            seen.add(e.step)
            starts.add(e.start_sample)
    return sorted(starts)


def skip_next(timeline: Timeline, at: int, lead_samples: int) -> Timeline:
    """Jump to the next step or chapter, ``lead_samples`` of its silence before it."""
    ahead = [b for b in boundaries(timeline) if b > at]
    target = ahead[0] if ahead else timeline.duration_samples
    return splice(timeline, at, max(at, target - lead_samples))


def back_to_start(timeline: Timeline, at: int, lead_samples: int) -> Timeline:
    """Play the current exercise (step or chapter) again from its start."""
    again = int(BACK_AGAIN_S * timeline.sample_rate_hz)
    behind = [b for b in boundaries(timeline) if b <= at - again] or [0]
    target = behind[-1]
    return splice(timeline, at, max(0, target - lead_samples))


def resumed(timeline: Timeline, at: int, block: Iterable[Event], length: int) -> Timeline:
    """After a pause at ``at``: a cut-off sound is heard again whole, after ``block``."""
    sound = sound_at(timeline, at)
    if sound is not None:
        timeline = splice(timeline, at, sound.start_sample)
    return insert(timeline, at, length, block)


def closed(timeline: Timeline, at: int, block: Iterable[Event], length: int) -> Timeline:
    """Ends the session at ``at`` with ``block`` (a closing cue) and nothing after it."""
    ended = splice(timeline, at, timeline.duration_samples)
    return insert(ended, at, length, block)


def start_of(timeline: Timeline, step_count: int, wanted: str) -> int:
    """Where ``--from`` starts: a step number (from 1) or the start of a chapter's name."""
    if wanted.strip().isdigit():
        number = int(wanted)
        starts = [e.start_sample for e in timeline.events if e.step == number - 1]
        if not 1 <= number <= step_count or not starts:
            steps = "only step 1" if step_count == 1 else f"steps 1 to {step_count}"
            raise ValueError(f"there is no step {number}; the script has {steps}")
        return min(starts)
    for chapter in timeline.chapters:
        if chapter.title.lower().startswith(wanted.strip().lower()):
            return chapter.start_sample
    names = "; ".join(dict.fromkeys(c.title for c in timeline.chapters))
    raise ValueError(f"no exercise is called '{wanted}' (chapters: {names})")


def wait_points(timeline: Timeline) -> list[int]:
    """Where ``--wait`` waits for a key: before each exercise or breathing block (with
    its lead-in) and each named chapter, not before a second side (it follows on),
    the introduction or the closing lines."""
    firsts: dict[int, Event] = {}
    for e in timeline.events:
        if e.kind in SOUND_KINDS:
            firsts.setdefault(e.start_sample, e)
    points = []
    for chapter in timeline.chapters:
        first = firsts.get(chapter.start_sample)
        wanted = chapter.kind in ("exercise", "named")
        if wanted and first is not None and first.kind == "speech":
            points.append(chapter.start_sample)
    return points
