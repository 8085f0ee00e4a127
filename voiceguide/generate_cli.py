"""`voiceguide new` and `voiceguide program`: sessions made from the exercise library.

Registered on the main command group at the end of cli.py.
"""

from __future__ import annotations

import secrets
from pathlib import Path

import click

from . import pipeline
from .cli import STDOUT, OutputPath, _global_flag, voice_options
from .core.library import GOALS, POSITION_CHOICES, TAGS

LANGUAGES = ("en", "de", "es", "fr")
# Seeds chosen for the user: short enough to read out and type again.
_SEED_LIMIT = 1_000_000


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
    type=click.Choice(TAGS),
    multiple=True,
    help="Leave out every exercise with this tag (may be given several times).",
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
    generated = pipeline.generate_session(request, options)
    quiet = _global_flag("quiet")
    if output is None or output == STDOUT:
        if seed is None and not quiet:
            click.echo(f"seed {chosen}: give --seed {chosen} to make this session again", err=True)
        click.echo(generated.text, nl=False)
        return
    pipeline.write_text_atomic(output, generated.text)
    if not quiet:
        length = f"{int(generated.planned_s // 60)}:{generated.planned_s % 60:04.1f}"
        click.echo(f"wrote {output} ({length} planned, seed {chosen})")
