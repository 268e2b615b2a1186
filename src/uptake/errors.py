"""Errors that reach a user: each says where the problem is and what was expected."""

from __future__ import annotations

from pathlib import Path


class UptakeError(Exception):
    """Any error meant to be shown to a user as one line, without a traceback."""


class InputError(UptakeError):
    """Bad input in a file: names the file, the line (1-based, header = line 1) and the column."""

    place = "column"  # what `column` names in the message (a catalogue file names a field)

    def __init__(
        self,
        path: str | Path,
        message: str,
        *,
        line: int | None = None,
        column: str | None = None,
    ) -> None:
        self.path = str(path)
        self.line = line
        self.column = column
        self.message = message
        super().__init__(str(self))

    def __str__(self) -> str:
        where = self.path if self.line is None else f"{self.path}:{self.line}"
        col = f" {self.place} {self.column}:" if self.column else ""
        return f"{where}:{col} {self.message}"
