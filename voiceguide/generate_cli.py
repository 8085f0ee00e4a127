"""`voiceguide new` and `voiceguide program`: sessions made from the exercise library.

Registered on the main command group at the end of cli.py.
"""

from __future__ import annotations

import dataclasses
import json
import secrets
import sys
from pathlib import Path

import click

from . import pipeline
from .cli import STDOUT, OutputPath, _global_flag, voice_options
from .core.library import GOALS, POSITION_CHOICES, TAGS
from .core.plural import counted

LANGUAGES = ("en", "de", "es", "fr")
# Seeds chosen for the user: short enough to read out and type again.
_SEED_LIMIT = 1_000_000


def _tags(values: tuple[str, ...]) -> tuple[str, ...]:
    tags = {tag.strip() for value in values for tag in value.split(",") if tag.strip()}
    unknown = sorted(tags - set(TAGS))
    if unknown:
        raise click.BadParameter(f"{', '.join(unknown)}: the tags are {', '.join(TAGS)}")
    return tuple(sorted(tags))


@click.command()
@click.option(
    "--goal", type=click.Choice(GOALS), default="mixed", show_default=True, help="What it is for."
)
@click.option(
    "--minutes",
    type=click.FloatRange(3, 90),
    default=10,
    show_default=True,
    help="Its length; the plan lands within 5 %.",
)
@click.option(
    "--position",
    type=click.Choice(list(POSITION_CHOICES)),
    default="any",
    show_default=True,
    help="floor: lying and on all fours only; lying; seated; standing.",
)
@click.option(
    "--avoid",
    metavar="TAG",
    multiple=True,
    callback=lambda ctx, param, value: _tags(value),
    help=f"Leave out every exercise with this tag: {', '.join(TAGS)}. "
    "Give it several times, or several tags with commas.",
)
@click.option(
    "--level",
    type=click.IntRange(1, 3),
    default=2,
    show_default=True,
    help="1 gentle, 2 moderate, 3 demanding.",
)
@click.option("--seed", type=click.IntRange(0), help="The same seed makes the same session.")
@click.option(
    "--language",
    type=click.Choice(LANGUAGES),
    default="en",
    show_default=True,
    help="The language of the session.",
)
@click.option(
    "--output",
    "-o",
    type=OutputPath(),
    help="Write the script to this file (default: print it; - prints it too).",
)
@voice_options
def new(
    goal: str,
    minutes: float,
    position: str,
    avoid: tuple[str, ...],
    level: int,
    seed: int | None,
    language: str,
    output: Path | None,
    options: pipeline.VoiceOptions,
) -> None:
    """Make a new session script from the exercise library.

    Warm-up, main part and cool-down, with as few changes of position as
    possible, both sides alike, and a closing line on when to stop. The length
    is checked with the plan, spoken by the voice the options choose, so the
    script plays for --minutes within 5 %. Without --seed a seed is picked and
    printed, so that the session can be made again.

    \b
    Examples:
      voiceguide new --goal relief --minutes 8 --position floor -o relief.yaml
      voiceguide new --goal core --avoid flexion --level 1 --seed 42
    """
    chosen = seed if seed is not None else secrets.randbelow(_SEED_LIMIT)
    request = pipeline.Request(
        goal=goal,
        minutes=minutes,
        position=position,
        avoid=tuple(sorted(set(avoid))),
        level=level,
        seed=chosen,
        language=language,
    )
    quiet = _global_flag("quiet")
    if not quiet and sys.stderr.isatty():
        # Fitting the length speaks every phrase once: seconds with the natural voice.
        click.echo(f"making a {minutes:g}-minute session, timed with its voice...", err=True)
    generated = pipeline.generate_session(request, options)
    if output is None or output == STDOUT:
        if seed is None and not quiet:
            click.echo(f"seed {chosen}: give --seed {chosen} to make this session again", err=True)
        click.echo(generated.text, nl=False)
        return
    pipeline.write_text_atomic(output, generated.text)
    if not quiet:
        length = f"{int(generated.planned_s // 60)}:{generated.planned_s % 60:04.1f}"
        click.echo(f"wrote {output} ({length} planned, seed {chosen})")


RED_FLAGS = (
    "Do not exercise, and see a doctor, if you have numbness or weakness in a leg, "
    "loss of bladder or bowel control, a fever, or pain after a fall."
)


@click.group()
def program() -> None:
    """Programmes: phases of sessions that follow your check-ins.

    The bundled back-care programme starts with relief three times a day, moves
    on to core strength three times a week after three days with pain of 2 or
    less, then to gentle yoga; pain that rises by 3 takes it back to relief.
    """


@program.command("status")
@click.argument("programme_file", metavar="[FILE]", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
@click.option(
    "--language",
    type=click.Choice(LANGUAGES),
    default="en",
    show_default=True,
    help="The language of today's session.",
)
def program_status(programme_file: str | None, as_json: bool, language: str) -> None:
    """Say which phase the programme is in and which session is for today.

    FILE is a programme file, or the name of a bundled one (default:
    back-care). The phase follows the check-ins in the session log.
    """
    programme, source = pipeline.load_programme(programme_file)
    today = pipeline.todays_session(programme)
    request = today.request
    if request is not None:
        request = dataclasses.replace(request, language=language)
    command = _new_command(request) if request is not None else None
    if as_json:
        payload = {
            "programme": programme.title,
            "source": source,
            "date": today.day.isoformat(),
            "phase": {
                "index": today.phase_index + 1,
                "of": len(programme.phases),
                "name": today.phase.name,
                "goal": today.phase.goal,
                "minutes": today.phase.minutes,
            },
            "good_days": today.good_days,
            "good_days_needed": programme.rules.days,
            "sessions_done": today.sessions_done,
            "sessions_planned": today.sessions_planned,
            "per": "day" if today.phase.per_day else "week",
            "session": today.session_number,
            "command": command,
            "moves": [
                {"on": m.on.isoformat(), "to": programme.phases[m.to_phase].name, "why": m.why}
                for m in today.moves
            ],
            "red_flags": RED_FLAGS,
        }
        click.echo(json.dumps(payload, indent=2, ensure_ascii=False))
        return
    phase = today.phase
    how_often = (
        f"{counted(phase.per_day, 'session')} a day"
        if phase.per_day
        else f"{phase.per_week} a week"
    )
    lines = [
        f"{programme.title}: phase {today.phase_index + 1} of {len(programme.phases)}, "
        f"{phase.name} ({how_often}, {phase.minutes:g} min)",
    ]
    if today.phase_index < len(programme.phases) - 1:
        lines.append(
            f"Good days towards the next phase: {today.good_days} of {programme.rules.days} "
            f"(pain {programme.rules.pain_at_most} or less)"
        )
    # "Today: session 1 of 3 today" said the day twice; a weekly count says its week.
    per = "" if phase.per_day else " this week"
    done = today.sessions_done
    if today.session_number is None:
        lines.append(
            f"Today: no session; {done} of {today.sessions_planned} done{per or ' today'}."
        )
    else:
        lines.append(
            f"Today: session {today.session_number} of {today.sessions_planned}{per}: {command}"
        )
    if today.moves:
        last = today.moves[-1]
        lines.append(f"Moved to {programme.phases[last.to_phase].name} on {last.on}: {last.why}.")
    lines.append(RED_FLAGS)
    click.echo("\n".join(lines))


def _new_command(request: pipeline.Request) -> str:
    avoid = "".join(f" --avoid {tag}" for tag in request.avoid)
    language = "" if request.language == "en" else f" --language {request.language}"
    return (
        f"voiceguide new --goal {request.goal} --minutes {request.minutes:g} "
        f"--position {request.position}{avoid} --level {request.level} --seed {request.seed}"
        f"{language}"
    )


def register(group: click.Group) -> None:
    group.add_command(new)
    group.add_command(program)
