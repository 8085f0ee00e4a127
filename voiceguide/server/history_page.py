"""The History page: the streak, sessions per day, pain before and after as an SVG
chart drawn here (no script, no library), and scheduled runs that were missed.

The chart has a text alternative: its title and description, and the table
under it holds every figure it draws.
"""

from __future__ import annotations

from datetime import date, datetime
from html import escape

from ..history import Log
from ..history.summary import Day, days, local_day, streak
from .pages import LIBRARY_LANGUAGE, labels_for

WIDTH, HEIGHT = 600, 260
LEFT, RIGHT, TOP, BOTTOM = 40, 16, 16, 40
SHOWN_DAYS = 60  # the chart's span at most: a phone's width of points


def render(log: Log, today: datetime) -> str:
    zone = today.tzinfo
    runs, checkins = log.runs(), log.checkins()
    every = days(runs, checkins, zone)
    missed = [local_day(moment, zone) for moment in log.missed()]
    words = labels_for(LIBRARY_LANGUAGE)
    w = {key: escape(value) for key, value in words.items()}
    count = streak({d.day for d in every if d.sessions}, today.date())
    if count:
        key = "streak_one" if count == 1 else "streak_other"
        streak_text = escape(words[key].format(n=count))
    else:
        streak_text = w["streak_none"]
    if every:
        body = (
            f'<section class="panel" aria-labelledby="chart-heading">'
            f'<h2 id="chart-heading">{w["pain_chart"]}</h2>\n'
            + chart(every[-SHOWN_DAYS:], words)
            + "</section>\n"
            + f'<section class="panel" aria-labelledby="days-heading">'
            f'<h2 id="days-heading">{w["sessions_per_day"]}</h2>\n'
            + _table(list(reversed(every)), w)
            + "</section>\n"
        )
    else:
        body = f'<p class="empty">{w["no_history"]}</p>\n'
    missed_items = "".join(f"<li>{_date(day)}</li>" for day in sorted(set(missed), reverse=True))
    missed_html = (
        f'<ul class="missed">{missed_items}</ul>' if missed_items else f"<p>{w['none_missed']}</p>"
    )
    return (
        '<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1, '
        'viewport-fit=cover">\n<meta name="theme-color" content="#10141a">\n'
        '<meta name="color-scheme" content="dark">\n<meta name="referrer" content="no-referrer">\n'
        f"<title>{w['history']} · voiceguide</title>\n"
        '<link rel="stylesheet" href="/static/app.css">\n'
        '<link rel="icon" href="/static/icon.svg" type="image/svg+xml">\n</head>\n'
        '<body class="page-history">\n'
        f'<nav class="back-nav" aria-label="{w["sessions"]}">'
        f'<a class="back" href="/">{w["all_sessions"]}</a></nav>\n<main>\n'
        f'<header class="masthead"><h1>{w["history"]}</h1>'
        f'<p id="streak" class="streak">{streak_text}</p></header>\n'
        + body
        + f'<section class="panel" aria-labelledby="missed-heading">'
        f'<h2 id="missed-heading">{w["missed"]}</h2>\n{missed_html}</section>\n'
        "</main>\n</body>\n</html>\n"
    )


def _date(day: date) -> str:
    return f'<time datetime="{day.isoformat()}">{day.strftime("%a %d %b %Y")}</time>'


def _rating(value: float | None) -> str:
    return "–" if value is None else f"{value:g}"


def _table(every: list[Day], w: dict[str, str]) -> str:
    # The roles are spelt out: at large text the CSS lays each row out as a block,
    # and a browser may then drop a table's own meaning for a screen reader.
    # data-label names each figure where the column headings are out of sight.
    columns = ("count", "before", "after")
    rows = "".join(
        f'<tr role="row"><th scope="row" role="rowheader">{_date(d.day)}</th>'
        + "".join(
            f'<td role="cell" data-label="{w[key]}">{value}</td>'
            for key, value in zip(
                columns, (d.sessions, _rating(d.before), _rating(d.after)), strict=True
            )
        )
        + "</tr>"
        for d in every
    )
    headings = "".join(
        f'<th scope="col" role="columnheader">{w[key]}</th>' for key in ("date", *columns)
    )
    return (
        '<table id="days" class="days" role="table">'
        f'<thead role="rowgroup"><tr role="row">{headings}</tr></thead>'
        f'<tbody role="rowgroup">{rows}</tbody></table>\n'
    )


def chart(every: list[Day], words: dict[str, str]) -> str:
    """Pain before (solid, circles) and after (dashed, squares) by day, 0 to 10;
    the sessions of each day as bars along the bottom. Told apart by shape and
    line as well as colour."""
    first = every[0].day
    span = max(1, (every[-1].day - first).days)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(day: date) -> float:
        return LEFT + plot_w * ((day - first).days / span if len(every) > 1 else 0.5)

    def y(rating: float) -> float:
        return TOP + plot_h * (1 - rating / 10)

    parts = [
        f'<svg id="pain-chart" class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        'aria-labelledby="chart-title chart-desc" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="chart-title">{escape(words["pain_chart"])}</title>',
        f'<desc id="chart-desc">{escape(_description(every, words))}</desc>',
    ]
    for rating in (0, 5, 10):
        parts.append(
            f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(rating):.1f}" '
            f'y2="{y(rating):.1f}"/><text class="axis" x="{LEFT - 8}" y="{y(rating) + 4:.1f}" '
            f'text-anchor="end">{rating}</text>'
        )
    most = max(d.sessions for d in every) or 1
    for d in every:
        if d.sessions:
            # Sessions per day: bars in the band under the plot, over the dates.
            height = 16 * d.sessions / most
            parts.append(
                f'<rect class="bar" x="{x(d.day) - 3:.1f}" y="{HEIGHT - BOTTOM + 22 - height:.1f}" '
                f'width="6" height="{height:.1f}"/>'
            )
    ends = [(every[0].day, "start" if len(every) > 1 else "middle")]
    if len(every) > 1:
        ends.append((every[-1].day, "end"))
    for label_day, anchor in ends:  # anchored inwards, so neither is cut at the edge
        parts.append(
            f'<text class="axis" x="{x(label_day):.1f}" y="{HEIGHT - 4}" '
            f'text-anchor="{anchor}">{label_day.strftime("%d %b")}</text>'
        )
    for series, css in (("before", "before"), ("after", "after")):
        points = [(x(d.day), y(v)) for d in every if (v := getattr(d, series)) is not None]
        if not points:
            continue
        path = " ".join(f"{px:.1f},{py:.1f}" for px, py in points)
        parts.append(f'<polyline class="line line-{css}" points="{path}"/>')
        for px, py in points:
            if series == "before":
                parts.append(f'<circle class="dot dot-before" cx="{px:.1f}" cy="{py:.1f}" r="4"/>')
            else:
                parts.append(
                    f'<rect class="dot dot-after" x="{px - 4:.1f}" y="{py - 4:.1f}" '
                    'width="8" height="8"/>'
                )
    parts.append("</svg>")
    legend = (
        '<p class="chart-legend" aria-hidden="true">'
        f'<span class="key key-before">{escape(words["before"])}</span>'
        f'<span class="key key-after">{escape(words["after"])}</span></p>'
    )
    return "\n".join(parts) + "\n" + legend + "\n"


def _description(every: list[Day], words: dict[str, str]) -> str:
    rated = [d for d in every if d.before is not None or d.after is not None]
    if not rated:
        return words["no_history"]
    last = rated[-1]
    return (
        f"{every[0].day.isoformat()} – {every[-1].day.isoformat()}. "
        f"{words['before']}: {_rating(last.before)}, {words['after']}: {_rating(last.after)} "
        f"({last.day.isoformat()}); every day in the table below."
    )
