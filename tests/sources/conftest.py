"""Fixtures shared by the reader tests.

`shared_data` (the real NHS files in ../shared/data, or UPTAKE_SHARED_DATA; skipped when absent)
comes from tests/conftest.py. Here: `write`, which writes a small hand-made file, and
`input_error`, which reads a file expecting an InputError and returns it for its line and column.
"""

from __future__ import annotations

import gzip
from collections.abc import Callable
from pathlib import Path

import pytest

from uptake.errors import InputError
from uptake.sources import base, read_file

# formats() loads the reader modules only while no format is registered, so a test module that
# imports one reader module first would hide the others from detection: load them all now.
base._load_readers()


@pytest.fixture
def write(tmp_path: Path) -> Callable[..., Path]:
    """write(name, lines, gz=False, sep=",") → path of a file holding `lines` (str or list of fields)."""

    def _write(name: str, lines: list, gz: bool = False, sep: str = ",") -> Path:
        text = "".join((line if isinstance(line, str) else sep.join(line)) + "\n" for line in lines)
        path = tmp_path / name
        if gz:
            with gzip.open(path, "wt", encoding="utf-8", newline="") as f:
                f.write(text)
        else:
            path.write_text(text, encoding="utf-8", newline="")
        return path

    return _write


@pytest.fixture
def input_error() -> Callable[..., InputError]:
    """input_error(path, format=None) → the InputError raised by reading `path` (fails if none is)."""

    def _read(path: Path, format: str | None = None) -> InputError:
        with pytest.raises(InputError) as info:
            read_file(path, format)
        return info.value

    return _read
