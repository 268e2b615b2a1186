"""What every reader shares: a look at a file's first line, and the registry of formats.

A format is registered with `@register(...)`: an id, the canonical dataset it yields, a test
on the file's header that says whether a file is in this format, and a reader returning an
Arrow table in that dataset's schema. `read_file` picks the format (or takes `--format`),
reads, and checks the result against the schema.
"""

from __future__ import annotations

import csv
import math
import gzip
import io
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import pyarrow as pa

from ..errors import InputError
from ..schemas import DATASETS, Dataset

GZIP_MAGIC = b"\x1f\x8b"


@dataclass(frozen=True)
class Header:
    """The first line of a file, split into fields, as a reader sees it."""

    path: Path
    gzipped: bool
    delimiter: str
    fields: tuple[str, ...]  # as written, BOM and surrounding spaces removed
    encoding: str

    @property
    def names(self) -> frozenset[str]:
        """Field names in upper case, for case-insensitive detection."""
        return frozenset(f.upper() for f in self.fields)

    def has(self, *names: str) -> bool:
        return all(n.upper() in self.names for n in names)


def is_gzip(path: Path) -> bool:
    with open(path, "rb") as f:
        return f.read(2) == GZIP_MAGIC


def open_text(path: Path, encoding: str = "utf-8-sig") -> io.TextIOBase:
    """Open a plain or gzip-compressed text file (chosen by content, not by name)."""
    if is_gzip(path):
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding=encoding, newline="")
    return open(path, encoding=encoding, newline="")


def read_header(path: Path) -> Header:
    """Read and split the first line; refuse empty, unreadable or non-text files clearly."""
    if not path.exists():
        raise InputError(path, "no such file")
    if path.is_dir():
        raise InputError(path, "is a directory; expected a data file")
    if path.stat().st_size == 0:
        raise InputError(path, "the file is empty; expected a header line naming the columns", line=1)
    gz = is_gzip(path)
    try:
        with (gzip.open(path, "rb") if gz else open(path, "rb")) as f:
            raw = f.readline(1 << 20)
    except (EOFError, OSError, zlib.error) as exc:
        raise InputError(path, f"cannot decompress: {exc}; expected a complete gzip file", line=1) from None
    if not raw.strip():
        raise InputError(path, "the first line is empty; expected a header line naming the columns", line=1)
    try:
        text = raw.decode("utf-8-sig")
        encoding = "utf-8"
    except UnicodeDecodeError as exc:
        raise InputError(
            path,
            f"not UTF-8 text (byte 0x{raw[exc.start]:02x} at position {exc.start + 1}); "
            "expected a UTF-8 encoded CSV file",
            line=1,
        ) from None
    text = text.rstrip("\r\n")
    candidates = {d: text.count(d) for d in (",", ";", "\t", "|")}
    delimiter = max(candidates, key=lambda d: candidates[d])
    if candidates[delimiter] == 0:
        delimiter = ","
    fields = next(csv.reader([text], delimiter=delimiter))
    return Header(path, gz, delimiter, tuple(f.strip() for f in fields), encoding)


Reader = Callable[[Header], pa.Table]


@dataclass(frozen=True)
class Format:
    id: str
    dataset: str
    description: str
    detect: Callable[[Header], bool]
    read: Reader
    # Further datasets the same file yields (e.g. epraccur: organisations and their relations).
    extras: dict[str, Reader] = field(default_factory=dict)

    @property
    def target(self) -> Dataset:
        return DATASETS[self.dataset]


FORMATS: dict[str, Format] = {}


def register(id: str, dataset: str, description: str, detect: Callable[[Header], bool]):
    """Decorator: register a reader function as the reader of a format."""

    def wrap(fn: Reader) -> Reader:
        if id in FORMATS:
            raise ValueError(f"format {id!r} registered twice")
        FORMATS[id] = Format(id, dataset, description, detect, fn)
        return fn

    return wrap


def _load_readers() -> None:
    # Importing the modules registers their formats; a module may add datasets to its formats
    # with EXTRA_DATASETS = {format_id: {dataset: reader}}.
    from . import epd, ods, reference, registers, scmd

    for module in (epd, ods, reference, registers, scmd):
        for format_id, extras in getattr(module, "EXTRA_DATASETS", {}).items():
            FORMATS[format_id] = replace(FORMATS[format_id], extras=dict(extras))


_loaded = False


def formats() -> dict[str, Format]:
    """Every registered format (importing one reader module alone must not hide the others)."""
    global _loaded
    if not _loaded:
        _load_readers()
        _loaded = True
    return FORMATS


def detect_format(path: Path, forced: str | None = None) -> tuple[Format, Header]:
    known = formats()
    header = read_header(path)
    if forced:
        if forced not in known:
            raise InputError(path, f"unknown format {forced!r}; expected one of {', '.join(sorted(known))}")
        return known[forced], header
    matches = [f for f in known.values() if f.detect(header)]
    if len(matches) == 1:
        return matches[0], header
    shown = ", ".join(header.fields[:8]) + (" ..." if len(header.fields) > 8 else "")
    if not matches:
        raise InputError(
            path,
            f"unrecognised columns ({shown}); expected a known format "
            f"({', '.join(sorted(known))}) — use --format to force one",
            line=1,
        )
    raise InputError(
        path,
        f"columns match several formats ({', '.join(m.id for m in matches)}); use --format to choose",
        line=1,
    )


@dataclass(frozen=True)
class ReadResult:
    format: Format
    tables: dict[str, pa.Table]  # dataset name → table in that dataset's schema

    @property
    def table(self) -> pa.Table:
        """The table of the format's main dataset."""
        return self.tables[self.format.dataset]


def _conform(path: Path, dataset: str, table: pa.Table) -> pa.Table:
    expected = DATASETS[dataset].schema
    if table.schema.equals(expected):
        return table
    missing = [n for n in expected.names if n not in table.schema.names]
    if missing:
        raise AssertionError(f"reader for {path} returned no {', '.join(missing)} for dataset {dataset}")
    return table.select(expected.names).cast(expected)


def read_file(path: str | Path, format: str | None = None) -> ReadResult:
    """Detect the format of `path`, read it, and check it against its canonical schema(s)."""
    path = Path(path)
    fmt, header = detect_format(path, format)
    tables = {fmt.dataset: _conform(path, fmt.dataset, fmt.read(header))}
    if tables[fmt.dataset].num_rows == 0:
        raise InputError(path, "no data rows after the header; expected at least one row", line=2)
    for dataset, reader in fmt.extras.items():
        tables[dataset] = _conform(path, dataset, reader(header))
    return ReadResult(fmt, tables)


def non_negative_number(path: Path, line: int, column: str, text: str, what: str) -> float:
    """A number ≥ 0 in a cell of `path` (line, column), or an InputError saying what was expected."""
    value = text.strip()
    if not value:
        raise InputError(path, f"blank value; expected {what}", line=line, column=column)
    try:
        number = float(value)
    except ValueError:
        raise InputError(path, f"{value!r} is not a number; expected {what}", line=line, column=column) from None
    if not math.isfinite(number):
        raise InputError(path, f"{value!r} is not a finite number; expected {what}", line=line, column=column)
    if number < 0:
        raise InputError(path, f"{value!r} is negative; expected {what}", line=line, column=column)
    return number
