"""`voiceguide log`: the session log as a table, JSON or CSV; export it; forget it."""

from __future__ import annotations

import csv
import io
import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from . import pipeline
from .core.plural import counted
from .errors import UsageError
from .history import Log, default_path
from .history.export import Row, log_json, rows
from .report import clock

NO_DATA = "no sessions recorded yet"


def _when(text: str | None, option: str) -> datetime | None:
    """A date (local midnight) or a date and time, as given on the command line."""
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(f"{option}: give a date such as 2026-11-30, not {text!r}") from None
    return moment.astimezone() if moment.tzinfo is None else moment


@click.command("log")
@click.option("--json", "as_json", is_flag=True, help="Print the sessions as JSON.")
@click.option("--csv", "as_csv", is_flag=True, help="Print the sessions as CSV.")
@click.option("--since", metavar="DATE", help="Only sessions from DATE on (2026-11-30).")
@click.option(
    "--export",
    "export_to",
    type=click.Path(path_type=Path, dir_okay=False),
    metavar="FILE",
    help="Write everything the log holds to FILE as JSON (readable by you only).",
)
@click.option("--forget", is_flag=True, help="Delete sessions and check-ins from the log.")
@click.option("--before", metavar="DATE", help="With --forget: only those before DATE.")
@click.option("--yes", "-y", is_flag=True, help="With --forget: do not ask to confirm.")
def log_command(
    as_json: bool,
    as_csv: bool,
    since: str | None,
    export_to: Path | None,
    forget: bool,
    before: str | None,
    yes: bool,
) -> None:
    """Show the session log: every session played, how far it got, and the
    pain ratings (0-10) and notes given before and after it.

    The log is a SQLite file under $XDG_DATA_HOME/voiceguide (default
    ~/.local/share/voiceguide/history.sqlite3), readable by you only.
    `play`, `cast` and the web player write to it; --no-log on play and cast
    (or VOICEGUIDE_NO_LOG=1) keeps a session out of it.

    \b
    Examples:
      voiceguide log                          a table of every session
      voiceguide log --since 2026-11-01 --csv > november.csv
      voiceguide log --export backup.json     everything, as JSON
      voiceguide log --forget --before 2026-06-01
    """
    if as_json and as_csv:
        raise UsageError("--json and --csv contradict each other; give one of them")
    if before is not None and not forget:
        raise UsageError("--before goes with --forget")
    path = default_path()
    if forget:
        _forget(path, _when(before, "--before"), yes)
        return
    moment = _when(since, "--since")
    if not path.exists() and export_to is None and not as_json and not as_csv:
        click.echo(f"{NO_DATA} (the log will be {path})", err=True)
        return
    with Log.open(path) as log:
        if export_to is not None:
            data = {"exported_at": datetime.now().astimezone().isoformat(), **log_json(log, moment)}
            # Health data: the file is the person's alone, like the log itself.
            pipeline.write_text_atomic(export_to, json.dumps(data, indent=1) + "\n", mode=0o600)
            click.echo(f"wrote {export_to}", err=True)
            return
        found = rows(log, moment)
    if as_json:
        click.echo(json.dumps([_plain(row) for row in found], indent=1, ensure_ascii=False))
    elif as_csv:
        click.echo(_csv(found), nl=False)
    elif not found:
        click.echo(f"{NO_DATA} (the log is {path})", err=True)
    else:
        click.echo(_table(found))


def _forget(path: Path, before: datetime | None, yes: bool) -> None:
    what = (
        "every session and check-in"
        if before is None
        else (f"the sessions and check-ins before {before:%Y-%m-%d %H:%M}")
    )
    if not path.exists():
        click.echo(f"{NO_DATA}: nothing to forget", err=True)
        return
    if not yes:
        if not sys.stdin.isatty():
            raise UsageError(f"--forget deletes {what}: add --yes to confirm without a terminal")
        if not click.confirm(f"Delete {what} from {path}?", default=False, err=True):
            click.echo("nothing was deleted", err=True)
            return
    with Log.open(path) as log:
        runs, checkins = log.forget(before)
    click.echo(f"deleted {counted(runs, 'session')} and {counted(checkins, 'check-in')}", err=True)


def _plain(row: Row) -> dict[str, Any]:
    run = row.run
    return {
        "started": row.at.astimezone().isoformat(timespec="seconds"),
        "session": run.session_id if run else None,
        "title": run.title if run else None,
        "via": run.via if run else None,
        "where": run.target if run else None,
        "reached_s": run.reached_ms / 1000 if run else None,
        "planned_s": run.planned_ms / 1000 if run else None,
        "outcome": run.outcome if run else None,
        "steps_skipped": run.steps_skipped if run else None,
        "holds_extended": run.holds_extended if run else None,
        "pain_before": row.before.pain if row.before else None,
        "pain_after": row.after.pain if row.after else None,
        "note": row.notes,
    }


def _csv(found: list[Row]) -> str:
    out = io.StringIO()
    plain = [_plain(row) for row in found]
    fields = list(_plain(Row(datetime.now().astimezone(), None, None, None)))
    writer = csv.DictWriter(out, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    writer.writerows(plain)
    return out.getvalue()


def _how_far(row: Row) -> str:
    run = row.run
    if run is None:
        return "-"
    reached = clock(run.reached_ms / 1000).rsplit(".", 1)[0]
    planned = clock(run.planned_ms / 1000).rsplit(".", 1)[0]
    return f"{reached} / {planned} {run.outcome}"


def _pain(row: Row) -> str:
    def one(value: int | None) -> str:
        return "-" if value is None else str(value)

    return f"{one(row.before.pain if row.before else None)} -> " + one(
        row.after.pain if row.after else None
    )


def _table(found: list[Row]) -> str:
    header = ("date", "session", "where", "how far", "pain", "note")
    lines = [
        (
            f"{row.at.astimezone():%Y-%m-%d %H:%M}",
            row.run.title if row.run else "(check-in)",
            row.run.target if row.run else "-",
            _how_far(row),
            _pain(row),
            row.notes,
        )
        for row in found
    ]
    widths = [max(len(line[i]) for line in [header, *lines]) for i in range(len(header) - 1)]

    def join(cells: tuple[str, ...]) -> str:
        padded = [cell.ljust(width) for cell, width in zip(cells, widths, strict=False)]
        return "  ".join([*padded, cells[-1]]).rstrip()

    return "\n".join(join(cells) for cells in [header, *lines])
