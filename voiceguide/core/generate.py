"""Make a session script from the exercise library: ``voiceguide new``.

Pure: the library, a request and a way to measure a script's planned length
go in, the script's text comes out. The length is measured, not estimated:
``planned_duration_s`` plans the script with the real voice (the pipeline
supplies it), and holds are refitted until the plan lands within 5 % of the
request. Everything random comes from ``random.Random(seed)`` over sorted
inputs, so a seed and a library always give the same session.
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Callable
from dataclasses import dataclass, replace

import yaml

from ..errors import UsageError
from .library import GOALS, POSITION_CHOICES, POSITIONS, Exercise, Library, Lines

PlannedDuration = Callable[[str], float]
TOLERANCE = 0.05  # the promise: within 5 % of the minutes asked for
_AIM = 0.015  # what the fitting aims for, so rounding never spends the margin
MIN_MINUTES = 3.0
MAX_MINUTES = 90.0
MAX_MAIN_POSITIONS = 2  # the main part moves at most once between positions
POSITION_PAUSE_S = 5  # time to get into a new position after it is named
REP_REST_S = 2
RELEASE_FROM_S = 10
MAX_TRIES = 40  # plans per session: each adds at most one exercise or rep
# Spoken seconds per character, only to choose how many exercises to take;
# the fitting uses the plan itself.
_GUESS_S_PER_CHAR = 0.07
# What each part of a session gets of its length.
_WARMUP_SHARE = 0.2
_COOLDOWN_SHARE = 0.15


@dataclass(frozen=True)
class Request:
    goal: str = "mixed"
    minutes: float = 10.0
    position: str = "any"
    avoid: tuple[str, ...] = ()
    level: int = 2
    seed: int = 0
    language: str = "en"

    @property
    def target_s(self) -> float:
        return self.minutes * 60.0


@dataclass(frozen=True)
class Item:
    """One exercise as the session does it."""

    exercise: Exercise
    part: str  # warmup, main or cooldown
    hold_s: int
    reps: int

    @property
    def repeats(self) -> int:
        """How many holds it has: reps on each side."""
        return self.reps * self.exercise.side_count

    @property
    def hold_range_s(self) -> tuple[int, int]:
        default = self.exercise.hold_s
        if self.absorbs:
            return 10, 300
        # A long single hold (a stretch, a breathing exercise) can grow further
        # than a short hold that is repeated many times.
        stretch = 4.0 if default >= 20 and self.reps == 1 else 2.5
        return max(2, math.ceil(default * 0.5)), max(4, math.floor(default * stretch))

    @property
    def absorbs(self) -> bool:
        """A single long hold at the end: it takes what the others cannot."""
        return self.part == "cooldown" and self.repeats == 1


@dataclass(frozen=True)
class Generated:
    text: str
    items: tuple[Item, ...]
    planned_s: float

    @property
    def positions(self) -> list[str]:
        return [item.exercise.position for item in self.items]

    @property
    def position_changes(self) -> int:
        positions = self.positions
        return sum(1 for a, b in itertools.pairwise(positions) if a != b)


def generate(library: Library, request: Request, planned_duration_s: PlannedDuration) -> Generated:
    """The script for ``request``, its planned length within 5 % of the request."""
    _check_request(library, request)
    lines = library.lines[request.language]
    rng = random.Random(request.seed)
    pool = _pool(library, request)
    main = _choose_main(pool, request, rng)
    warmup = _choose_edge(pool, main, "warmup", request, rng)
    rest = [e for e in pool if e not in warmup]
    cooldown = _choose_edge(rest, main, "cooldown", request, rng)
    used = {e.id for e in (*warmup, *main, *cooldown)}
    spare = [e for e in _shuffled(_main_candidates(pool, request), rng) if e.id not in used]
    items = [
        *(Item(e, "warmup", round(e.hold_s), e.reps) for e in warmup),
        *(Item(e, "main", round(e.hold_s), e.reps) for e in main),
        *(Item(e, "cooldown", round(e.hold_s), e.reps) for e in cooldown),
    ]
    target_s = request.target_s
    planned_s = 0.0
    for _ in range(MAX_TRIES):
        text = render(items, lines, request)
        planned_s = planned_duration_s(text)
        error_s = target_s - planned_s
        if abs(error_s) <= _AIM * target_s:
            break
        items = _refit(items, error_s, spare)
    if abs(target_s - planned_s) > TOLERANCE * target_s:
        short = planned_s < target_s
        raise UsageError(
            f"--minutes {request.minutes:g}: the exercises left for --goal {request.goal} "
            f"--position {request.position} make {planned_s / 60:.1f} min at "
            + (
                "most; ask for fewer minutes, or allow more positions or tags"
                if short
                else "least; ask for more minutes"
            )
        )
    return Generated(text, tuple(items), planned_s)


def _check_request(library: Library, request: Request) -> None:
    if request.goal not in GOALS:
        raise UsageError(f"--goal {request.goal}: choose one of {', '.join(GOALS)}")
    if request.position not in POSITION_CHOICES:
        raise UsageError(
            f"--position {request.position}: choose one of {', '.join(POSITION_CHOICES)}"
        )
    if not MIN_MINUTES <= request.minutes <= MAX_MINUTES:
        raise UsageError(
            f"--minutes {request.minutes:g}: a session is {MIN_MINUTES:g} to {MAX_MINUTES:g} min"
        )
    if not 1 <= request.level <= 3:
        raise UsageError(f"--level {request.level}: levels are 1, 2 and 3")
    if request.language not in library.lines:
        raise UsageError(
            f"--language {request.language}: the library speaks {', '.join(library.languages())}"
        )


def _pool(library: Library, request: Request) -> list[Exercise]:
    allowed = POSITION_CHOICES[request.position]
    pool = [
        e
        for e in library.exercises
        if request.language in e.text
        and e.position in allowed
        and e.intensity <= request.level
        and not set(e.tags) & set(request.avoid)
    ]
    if not _main_candidates(pool, request):
        raise UsageError(
            f"--goal {request.goal}: no exercise is left with --position {request.position}"
            f"{''.join(f' --avoid {tag}' for tag in request.avoid)} --level {request.level}; "
            "avoid fewer tags or allow more positions"
        )
    return pool


def _main_candidates(pool: list[Exercise], request: Request) -> list[Exercise]:
    return [e for e in pool if "main" in e.roles and _serves(e, request.goal)]


def _serves(exercise: Exercise, goal: str) -> bool:
    return goal == "mixed" or goal in exercise.goals


def _shuffled(exercises: list[Exercise], rng: random.Random) -> list[Exercise]:
    ordered = sorted(exercises, key=lambda e: e.id)
    rng.shuffle(ordered)
    return ordered


def _rank(exercise: Exercise) -> int:
    return POSITIONS.index(exercise.position)


def guess_s(exercise: Exercise, language: str) -> float:
    """A rough length, to decide how many exercises a session takes."""
    text = exercise.text[language]
    speech_s = len(text.name + text.say) * _GUESS_S_PER_CHAR
    each_s = exercise.hold_s + len(text.brief) * _GUESS_S_PER_CHAR + 2.0
    return speech_s + each_s * exercise.reps * exercise.side_count


def _choose_main(pool: list[Exercise], request: Request, rng: random.Random) -> list[Exercise]:
    budget_s = request.target_s * (1 - _WARMUP_SHARE - _COOLDOWN_SHARE)
    chosen: list[Exercise] = []
    positions: list[str] = []
    total_s = 0.0
    for exercise in _shuffled(_main_candidates(pool, request), rng):
        if total_s >= budget_s:
            break
        if exercise.position not in positions:
            if len(positions) >= MAX_MAIN_POSITIONS:
                continue
            positions.append(exercise.position)
        chosen.append(exercise)
        total_s += guess_s(exercise, request.language)
    order = {e.id: i for i, e in enumerate(chosen)}
    return sorted(chosen, key=lambda e: (_rank(e), order[e.id]))


def _choose_edge(
    pool: list[Exercise], main: list[Exercise], part: str, request: Request, rng: random.Random
) -> list[Exercise]:
    """The warm-up (before the main part) or the cool-down (after it), from positions
    that keep the session moving one way: nearest to where the main part is."""
    share = _WARMUP_SHARE if part == "warmup" else _COOLDOWN_SHARE
    edge = _rank(main[0]) if part == "warmup" else _rank(main[-1])

    def on_the_way(e: Exercise) -> bool:
        return _rank(e) <= edge if part == "warmup" else _rank(e) >= edge

    unused = [e for e in pool if e not in main]
    fits = [e for e in unused if part in e.roles]
    # Without one made for this part on the way, the gentlest exercises there
    # do: going back to a position is worse than a warm-up that is also exercise.
    ordered = [e for e in fits if on_the_way(e)] or [
        e for e in unused if on_the_way(e) and e.intensity == 1
    ]
    if not ordered and len(main) > 1:
        # Nothing left on the way: the main part's own first (or last) exercise
        # becomes the warm-up (or cool-down), and the fitting refills the main part.
        return [main.pop(0 if part == "warmup" else -1)]
    ordered = ordered or fits
    shuffled = _shuffled(ordered, rng)
    # Nearest position first, then (cool-down) one long single hold last to end on.
    shuffled.sort(key=lambda e: (abs(_rank(e) - edge), not _serves(e, request.goal)))
    if not shuffled:
        return []
    count = 1 if request.target_s * share < 90 else 2 if request.target_s * share < 240 else 3
    chosen = shuffled[:count]
    if part == "cooldown":
        single = [e for e in shuffled if e.sides == "none" and e.reps == 1]
        if single and single[0] not in chosen:
            chosen = [*chosen[: count - 1], single[0]]
        chosen.sort(key=lambda e: (_rank(e), e.sides == "none" and e.reps == 1))
    else:
        chosen.sort(key=_rank)
    return chosen


def _refit(items: list[Item], error_s: float, spare: list[Exercise]) -> list[Item]:
    """Holds (and if need be reps or exercises) changed to take ``error_s`` more
    (or less, when negative) seconds; the plan is linear in holds and rests."""
    items = list(items)
    room_s = sum(
        (item.hold_range_s[1 if error_s > 0 else 0] - item.hold_s) * item.repeats for item in items
    )
    # Structure first, by guessed lengths: the next plan measures the result.
    missing_s = abs(error_s) - abs(room_s)
    while missing_s > 0:
        items, change_s = _restructure(items, error_s, spare)
        if not change_s:
            break
        missing_s -= change_s
    # Spread over the holds in proportion to their share, absorber last.
    adjustable = [i for i, item in enumerate(items) if not item.absorbs]
    total_s = sum(items[i].hold_s * items[i].repeats for i in adjustable) or 1
    remaining_s = error_s
    for i in adjustable:
        item = items[i]
        share_s = error_s * item.hold_s * item.repeats / total_s
        low, high = item.hold_range_s
        hold_s = min(high, max(low, round(item.hold_s + share_s / item.repeats)))
        remaining_s -= (hold_s - item.hold_s) * item.repeats
        items[i] = replace(item, hold_s=hold_s)
    # What rounding and the ranges left: the absorber first, then the fewest repeats.
    order = sorted(range(len(items)), key=lambda i: (not items[i].absorbs, items[i].repeats, i))
    for i in order:
        item = items[i]
        low, high = item.hold_range_s
        hold_s = min(high, max(low, round(item.hold_s + remaining_s / item.repeats)))
        remaining_s -= (hold_s - item.hold_s) * item.repeats
        items[i] = replace(item, hold_s=hold_s)
    return items


def _restructure(
    items: list[Item], error_s: float, spare: list[Exercise]
) -> tuple[list[Item], float]:
    """One more main exercise (or rep) when holds alone cannot fill the time; one
    fewer when they cannot shrink enough. With the seconds that roughly changes."""
    mains = [i for i, item in enumerate(items) if item.part == "main"]
    if error_s > 0:
        positions = {item.exercise.position for item in items if item.part == "main"}
        # A new position only where the session passes anyway: between the
        # warm-up's last position and the cool-down's first.
        low = max((_rank(i.exercise) for i in items if i.part == "warmup"), default=0)
        high = min((_rank(i.exercise) for i in items if i.part == "cooldown"), default=99)
        usable = [e for e in spare if e.position in positions] or [
            e for e in spare if low <= _rank(e) <= high
        ]
        if usable:
            exercise = usable[0]
            spare.remove(exercise)
            new = Item(exercise, "main", round(exercise.hold_s), exercise.reps)
            before = [i for i in mains if _rank(items[i].exercise) <= _rank(exercise)]
            at = max(before) if before else mains[0] - 1
            return [*items[: at + 1], new, *items[at + 1 :]], _guess_item_s(new)
        growing = [i for i in mains if items[i].reps < 3 * items[i].exercise.reps]
        if growing:
            i = min(growing, key=lambda i: (items[i].reps / items[i].exercise.reps, i))
            items[i] = replace(items[i], reps=items[i].reps + 1)
            return items, _guess_rep_s(items[i])
        return items, 0.0
    extra = [i for i in range(len(items)) if _count(items, items[i].part) > 1]
    if extra:
        # The last main exercise, else a second warm-up or cool-down exercise
        # (never the absorber, which ends the session).
        drop = max(extra, key=lambda i: (items[i].part == "main", not items[i].absorbs, i))
        return [item for i, item in enumerate(items) if i != drop], _guess_item_s(items[drop])
    for i in (*mains, *range(len(items))):
        if items[i].reps > 1:
            items[i] = replace(items[i], reps=items[i].reps - 1)
            return items, _guess_rep_s(items[i])
    return items, 0.0


def _count(items: list[Item], part: str) -> int:
    return sum(1 for item in items if item.part == part)


def _guess_rep_s(item: Item) -> float:
    text = next(iter(item.exercise.text.values()))
    brief_s = len(text.brief) * _GUESS_S_PER_CHAR
    return (item.hold_s + brief_s + REP_REST_S) * item.exercise.side_count


def _guess_item_s(item: Item) -> float:
    text = next(iter(item.exercise.text.values()))
    return len(text.name + text.say) * _GUESS_S_PER_CHAR + _guess_rep_s(item) * item.reps


def render(items: list[Item], lines: Lines, request: Request) -> str:
    """The script's YAML: a header comment saying how to make it again, then steps."""
    title = lines.title[request.goal]
    description = lines.description.format(minutes=f"{request.minutes:g}", seed=request.seed)
    header = [
        "# Made by: voiceguide new"
        f" --goal {request.goal} --minutes {request.minutes:g} --position {request.position}"
        + "".join(f" --avoid {tag}" for tag in request.avoid)
        + f" --level {request.level} --seed {request.seed} --language {request.language}",
        "# Above each exercise: its library id, position and tags.",
        _dump({"title": title}),
        _dump({"description": description}),
        _dump({"language": request.language}),
        "steps:",
    ]
    steps: list[str] = [_step({"say": lines.opening})]
    part = ""
    position = ""
    for item in items:
        exercise = item.exercise
        if item.part != part:
            part = item.part
            steps.append(_step({"say": getattr(lines, part)}))
        if exercise.position != position:
            position = exercise.position
            steps.append(_step({"say": lines.position[position]}))
            steps.append(_step({"pause": f"{POSITION_PAUSE_S}s"}))
        tags = ", ".join(exercise.tags) or "no tags"
        steps.append(f"  # {exercise.id}: {exercise.position}; {tags}")
        steps.append(_step(_exercise_step(item, lines, request.language)))
    steps.append(_step({"say": lines.stop}))
    steps.append(_step({"sound": "chime"}))
    return "\n".join(header + steps) + "\n"


def _exercise_step(item: Item, lines: Lines, language: str) -> dict[str, object]:
    exercise = item.exercise
    text = exercise.text[language]
    step: dict[str, object] = {"exercise": text.name}
    if exercise.sides != "none":
        step["sides"] = exercise.sides
    if item.reps > 1:
        step["reps"] = item.reps
    step["say"] = text.say
    step["brief"] = text.brief
    step["hold"] = f"{item.hold_s}s"
    if exercise.breathe:
        step["breathe"] = exercise.breathe
    if item.hold_s >= RELEASE_FROM_S:  # after a short, repeated hold the tone is enough
        step["release"] = lines.release
    if item.reps > 1:
        step["rest"] = f"{REP_REST_S}s"
    return step


def _dump(mapping: dict[str, object]) -> str:
    return yaml.safe_dump(mapping, sort_keys=False, allow_unicode=True, width=96).rstrip("\n")


def _step(mapping: dict[str, object]) -> str:
    lines = _dump(mapping).split("\n")
    return "\n".join(["  - " + lines[0], *("    " + line for line in lines[1:])])
