"""`check` reports every bad file, and every independent error in each, one line apiece."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_helpers import run_cli

from voiceguide.core.script import parse_script
from voiceguide.errors import ScriptError

ENGINE = ["--engine", "test", "--no-cache"]
ERRORS_SHOWN = 10
GOOD = "title: Good {n}\nsteps:\n  - say: Hello number {n}.\n"
# Five independent errors: a top-level field, an unknown key, a bad value in
# the same step, a bad step further down and one inside a repeat block.
MANY = (
    "title: Many\n"  # 1
    "pace: 9\n"  # 2
    "steps:\n"  # 3
    "  - exercise: Knee hug\n"  # 4
    "    hodl: 30s\n"  # 5
    "    reps: many\n"  # 6
    "  - say: Fine.\n"  # 7
    "  - pause: -3s\n"  # 8
    "  - repeat: 2\n"  # 9
    "    steps:\n"  # 10
    "      - sound: gong\n"  # 11
)
MANY_PLACES = [
    (2, "pace"),
    (5, "steps[0].hodl"),
    (6, "steps[0].reps"),
    (8, "steps[2].pause"),
    (11, "steps[3].steps[0].sound"),
]


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def error_lines(err: str) -> list[str]:
    lines = err.strip().splitlines()
    assert all(line.startswith("voiceguide: ") for line in lines), err
    return [line.removeprefix("voiceguide: ") for line in lines]


def test_one_script_reports_every_independent_error_in_line_order(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    script = write(tmp_path, "many.yaml", MANY)
    code, out, err = run_cli(["check", str(script), *ENGINE], capsys)
    assert code == 2
    assert out == ""
    lines = error_lines(err)
    assert len(lines) == len(MANY_PLACES)
    for line, (number, field) in zip(lines, MANY_PLACES, strict=True):
        assert line.startswith(f"{script}:{number}:"), line
        assert f": {field}: " in line


def test_several_files_report_every_bad_one_and_show_the_good_ones(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first_good = write(tmp_path, "a-good.yaml", GOOD.format(n=1))
    bad_one = write(tmp_path, "b-bad.yaml", "title: B\nsteps:\n  - pause: -1\n")
    second_good = write(tmp_path, "c-good.yaml", GOOD.format(n=2))
    bad_two = write(tmp_path, "d-bad.yaml", "title: D\nsteps:\n\t- say: hi\n")
    missing = tmp_path / "e-missing.yaml"
    paths = [first_good, bad_one, second_good, bad_two, missing]
    code, out, err = run_cli(["check", *map(str, paths), "--brief", *ENGINE], capsys)
    assert code == 2
    lines = error_lines(err)
    assert [line.split(":")[0] for line in lines] == [str(bad_one), str(bad_two), str(missing)]
    assert lines[0].startswith(f"{bad_one}:3:")
    assert lines[1].startswith(f"{bad_two}:3:")
    assert "no such file" in lines[2]
    assert "Good 1" in out and "Good 2" in out


def test_a_folder_reports_every_bad_script(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path, "a.yaml", GOOD.format(n=1))
    bad = [write(tmp_path, f"{name}.yaml", MANY) for name in ("b", "c")]
    code, out, err = run_cli(["check", str(tmp_path), "--brief", *ENGINE], capsys)
    assert code == 2
    sources = [line.split(":")[0] for line in error_lines(err)]
    assert sources == [str(bad[0])] * len(MANY_PLACES) + [str(bad[1])] * len(MANY_PLACES)
    assert "Good 1" in out


def test_json_gives_each_script_its_plan_or_its_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = write(tmp_path, "a.yaml", GOOD.format(n=1))
    bad = write(tmp_path, "b.yaml", MANY)
    code, out, err = run_cli(["check", str(good), str(bad), "--json", *ENGINE], capsys)
    assert code == 2
    plan, refused = json.loads(out)
    assert plan["title"] == "Good 1"
    assert refused["source"] == str(bad)
    assert [(e["line"], e["field"]) for e in refused["errors"]] == MANY_PLACES
    assert all(e["text"].startswith(f"{bad}:{e['line']}:") for e in refused["errors"])
    assert [e["text"] for e in refused["errors"]] == error_lines(err)

    code, out, _ = run_cli(["check", str(bad), "--json", *ENGINE], capsys)
    assert code == 2
    assert json.loads(out)["source"] == str(bad)


def test_past_ten_errors_the_rest_are_counted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    steps = "".join(f"  - pause: -{n}s\n" for n in range(1, 15))
    script = write(tmp_path, "long.yaml", "title: T\nsteps:\n" + steps)
    code, _, err = run_cli(["check", str(script), *ENGINE], capsys)
    assert code == 2
    lines = error_lines(err)
    assert len(lines) == ERRORS_SHOWN + 1
    assert lines[0].startswith(f"{script}:3:")
    assert lines[-1] == f"{script}: and 4 more errors; fix these first"


def test_export_of_one_script_shows_its_errors_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    script = write(tmp_path, "many.yaml", MANY)
    out = tmp_path / "out"
    code, _, err = run_cli(["export", str(script), "-o", str(out), *ENGINE], capsys)
    assert code == 2
    assert len(error_lines(err)) == len(MANY_PLACES)
    assert not out.exists()


@pytest.mark.parametrize(
    ("text", "line", "field"),
    [
        # A misspelt key is one error, not also "'title' is required".
        ("itle: T\nsteps:\n  - say: Hi.\n", 1, "itle"),
        ("title: T\nsteps:\n  - repeat: 2\n    stpes:\n      - say: Hi.\n", 4, "steps[0].stpes"),
        ("title: T\nsteps:\n  - breathe: {in: 4, ot: 4}\n", 3, "steps[0].breathe.ot"),
        # Bad sides: its {side} is not blamed as well.
        ("title: T\nsteps:\n  - exercise: A\n    sides: up\n    say: The {side} leg.\n", 4, None),
        # A bad hold: not also "breathing is cued during a hold; add a hold".
        ("title: T\nsteps:\n  - exercise: A\n    breathe: box\n    hold: 30 sec\n", 5, None),
    ],
)
def test_an_error_that_follows_from_another_is_not_reported(
    text: str, line: int, field: str | None
) -> None:
    with pytest.raises(ScriptError) as info:
        parse_script(text, "one.yaml")
    assert "\n" not in str(info.value), str(info.value)
    assert info.value.line == line
    if field is not None:
        assert info.value.field == field


def test_parse_script_raises_all_errors_sorted_by_line() -> None:
    with pytest.raises(ScriptError) as info:
        parse_script(MANY, "many.yaml")
    errors: list[ScriptError] = info.value.errors  # type: ignore[attr-defined]
    assert [(e.line, e.field) for e in errors] == MANY_PLACES
    assert info.value.line == 2  # the first, for callers that name one place
    assert str(info.value).splitlines() == [str(e) for e in errors]


def test_export_of_a_folder_prints_every_error_of_every_bad_script(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "scripts"
    folder.mkdir()
    write(folder, "a.yaml", GOOD.format(n=1))
    bad = write(folder, "b.yaml", MANY)
    out = tmp_path / "audio"
    code, _, err = run_cli(["export", str(folder), "-o", str(out), "-j", "1", *ENGINE], capsys)
    assert code == 2
    lines = error_lines(err)
    assert [line.split(":")[1] for line in lines] == [str(n) for n, _ in MANY_PLACES]
    assert all(line.startswith(f"{bad}:") for line in lines)
    assert [p.name for p in out.iterdir()] == ["a.mp3"]
