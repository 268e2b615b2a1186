"""Errors of fetching: each is one line for the user, naming the URL or file and what was expected."""

from __future__ import annotations

from pathlib import Path

from ...errors import UptakeError


class FetchError(UptakeError):
    """A publisher could not be reached, or answered with an error, after the retries allowed."""


class NotFound(FetchError):
    """The publisher has no such dataset, page or file (HTTP 404/410)."""


class NotPublished(FetchError):
    """A period asked for is not (yet) in the publisher's listing."""


class VerifyError(FetchError):
    """A download is not what the publisher said it would be (size or checksum). The partial
    file is removed, so that the next attempt starts afresh."""


class UnexpectedAnswer(FetchError):
    """An API or page answered with something that is not the shape expected (not JSON, no
    resources, no link to the file)."""


class SchemaChanged(UptakeError):
    """A downloaded file's columns are not those of any layout uptake reads for its dataset:
    names the columns that are new and the ones that are missing. Nothing is loaded."""

    def __init__(self, path: str | Path, message: str, *, missing: list[str] | None = None,
                 new: list[str] | None = None) -> None:
        self.path = str(path)
        self.missing = list(missing or [])
        self.new = list(new or [])
        super().__init__(f"{self.path}:1: {message}")


class Busy(UptakeError):
    """Another uptake process is downloading into the same directory."""
