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
from collections.abc import Callable, Sequence
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
# A column a format needs: one name, or several alternatives (any one will do).
Column = str | tuple[str, ...]


def missing_columns(header: Header, columns: Sequence[Column]) -> list[str]:
    """The columns of `columns` that `header` lacks, as a person would name them."""
    out = []
    for column in columns:
        options = (column,) if isinstance(column, str) else column
        if not any(header.has(o) for o in options):
            out.append(options[0] if len(options) == 1 else f"{options[0]} (or {', '.join(options[1:])})")
    return out


@dataclass(frozen=True)
class Format:
    id: str
    dataset: str
    description: str
    detect: Callable[[Header], bool]
    read: Reader
    # Further datasets the same file yields (e.g. epraccur: organisations and their relations).
    extras: dict[str, Reader] = field(default_factory=dict)
    # The columns the format needs (for saying which are missing); empty for headerless files
    # and formats recognised by pattern.
    columns: tuple[Column, ...] = ()

    @property
    def target(self) -> Dataset:
        return DATASETS[self.dataset]


FORMATS: dict[str, Format] = {}


def register(id: str, dataset: str, description: str, detect: Callable[[Header], bool] | None = None, *,
             columns: Sequence[Column] = ()):
    """Decorator: register a reader function as the reader of a format. Without `detect`, a
    file is in the format when it has every one of `columns`."""
    if detect is None:
        if not columns:
            raise ValueError(f"format {id!r}: give detect or columns")
        detect = lambda h: not missing_columns(h, columns)  # noqa: E731

    def wrap(fn: Reader) -> Reader:
        if id in FORMATS:
            raise ValueError(f"format {id!r} registered twice")
        FORMATS[id] = Format(id, dataset, description, detect, fn, columns=tuple(columns))
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
        if (hint := not_for_ingest(header)) is not None:
            raise InputError(path, hint, line=1)
        if (near := closest_format(header, known.values())) is not None:
            fmt, missing = near
            raise InputError(
                path,
                f"unrecognised columns ({shown}); the closest known format is {fmt.id} ({fmt.description}), "
                f"which needs column{'s' if len(missing) > 1 else ''} {', '.join(missing)} — rename "
                f"{'them' if len(missing) > 1 else 'it'}, or use --format to force another",
                line=1,
            )
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


def closest_format(header: Header, candidates) -> tuple[Format, list[str]] | None:
    """The known format whose columns the header comes nearest to holding (at least half of
    them, and at least two), with the columns it lacks; None if no format comes that near."""
    best: tuple[float, int, Format, list[str]] | None = None
    for fmt in candidates:
        if not fmt.columns:
            continue
        missing = missing_columns(header, fmt.columns)
        found = len(fmt.columns) - len(missing)
        if not missing or found < 2 or found * 2 < len(fmt.columns):
            continue
        key = (found / len(fmt.columns), found)
        if best is None or key > best[:2]:
            best = (*key, fmt, missing)
    return None if best is None else (best[2], best[3])


# Files people try to load that are not data for the warehouse: the columns that tell them,
# and what to do instead.
NOT_FOR_INGEST = (
    (("treatment_name", "numerator", "numerator_unit", "denominator", "denominator_unit"),
     "this is a published NHS England Innovation Scorecard file (figures, not prescribing data); "
     "expected prescribing, SCMD or organisation data — to check uptake's figures against it use "
     "`uptake official --published FILE`"),
    (("calc_value",),
     "this is an OpenPrescribing measure file (a numerator, a denominator and their ratio, calc_value, per "
     "organisation), not prescribing data; expected prescribing, SCMD or organisation data with BNF codes — "
     "uptake computes such measures from those (`uptake catalogue list` shows its measures)"),
    (("medicine", "dosage_calc"),
     "this is the Innovation Scorecard's dosage-calculation table, not data for the warehouse; expected "
     "prescribing, SCMD or organisation data — its daily doses are in the catalogue (`uptake catalogue show`) "
     "and `uptake official` uses them"),
)


def not_for_ingest(header: Header) -> str | None:
    """Why a recognisable file that is not warehouse data cannot be ingested, or None."""
    return next((why for names, why in NOT_FOR_INGEST if header.has(*names)), None)


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
