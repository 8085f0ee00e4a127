"""Running the CLI in-process, as `python -m voiceguide` would, for tests."""

from __future__ import annotations

import pytest

from voiceguide.cli import main


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """The exit status, stdout and stderr of ``voiceguide ARGS``."""
    try:
        main(args)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def exit_and_stderr(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """The exit status and stderr of ``voiceguide ARGS``: what a refusal shows."""
    code, _, err = run_cli(args, capsys)
    return code, err
