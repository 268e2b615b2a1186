"""Readers for the official NHS data formats, each yielding one canonical dataset."""

from .base import FORMATS, Format, ReadResult, detect_format, formats, read_file
from . import nspl, trials  # noqa: E402,F401  (register the postcode lookup and trial registry formats)

__all__ = ["FORMATS", "Format", "ReadResult", "detect_format", "formats", "read_file"]
