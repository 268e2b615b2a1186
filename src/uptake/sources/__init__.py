"""Readers for the official NHS data formats, each yielding one canonical dataset."""

from .base import FORMATS, Format, ReadResult, detect_format, formats, read_file

__all__ = ["FORMATS", "Format", "ReadResult", "detect_format", "formats", "read_file"]
