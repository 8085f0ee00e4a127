"""The exception tree.

A ``UserError`` carries the one line a person reads; the CLI prints it and
exits with its ``exit_status``. Any other exception is a bug and keeps its
traceback.
"""

from __future__ import annotations


class UserError(Exception):
    """Something the user can fix: a bad script, a missing engine, a bad path."""

    exit_status = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class ScriptError(UserError):
    """A script breaks the format; names the file, line, column and field."""

    exit_status = 2

    def __init__(
        self,
        message: str,
        *,
        source: str = "<script>",
        line: int | None = None,
        column: int | None = None,
        field: str | None = None,
    ) -> None:
        self.source = source
        self.line = line
        self.column = column
        self.field = field
        self.reason = message
        where = source
        if line is not None:
            where += f":{line}"
            if column is not None:
                where += f":{column}"
        text = f"{where}: {field}: {message}" if field else f"{where}: {message}"
        super().__init__(text)


class ScriptErrors(ScriptError):
    """Several independent errors in one script: one line each, in the order of
    their lines, then how many more were found (``more``) and not listed."""

    def __init__(self, errors: list[ScriptError], *, more: int = 0) -> None:
        first = errors[0]
        super().__init__(
            first.reason,
            source=first.source,
            line=first.line,
            column=first.column,
            field=first.field,
        )
        self.errors = tuple(errors)
        self.more = max(0, more)
        lines = [str(error) for error in errors]
        if self.more:
            noun = "error" if self.more == 1 else "errors"
            lines.append(f"{first.source}: and {self.more} more {noun}; fix these first")
        self.message = "\n".join(lines)
        self.args = (self.message,)


class UsageError(UserError):
    """Bad command-line input: a missing file, a flag out of range."""

    exit_status = 2


class EngineError(UserError):
    """A speech engine is missing, refused a voice, or failed on a phrase."""

    exit_status = 1


class UnknownVoiceError(EngineError):
    """A voice id the engine does not have: a mistake in the input, like a bad flag."""

    exit_status = 2


class EngineChoiceError(EngineError):
    """An engine that does not exist, or that cannot speak the script's language
    as asked: a mistake in the input, like a bad flag, not a broken engine."""

    exit_status = 2


class OutputError(UserError):
    """An output could not be written: unwritable folder, disk full, ..."""

    exit_status = 1


class AudioDeviceError(UserError):
    """No sound server or device to play on, or it went away mid-session."""

    exit_status = 1
