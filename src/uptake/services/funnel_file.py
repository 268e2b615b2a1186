"""A funnel plot from a small CSV file of areas: read, check, compute, write back.

Input columns (names case-insensitive, any order, other columns ignored):

- kind "proportion" or "rate": ``area,numerator,denominator``
- kind "ratio":                ``area,observed,expected``

Every problem is an `InputError` naming the file, the line (header = 1), the column and what
was expected: a missing column, a blank area, a value that is not a finite number, a negative
value, a numerator above its denominator (proportions), a repeated area, or no data rows.
A zero denominator is allowed: that area is reported as "not compared".

The statistics are `uptake.engine.stats.funnel.funnel`; `FunnelTable.write_csv` writes one row
per area with the value, the target, the limits and flags at 95% and 99.8%, with and without
the overdispersion adjustment.
"""

from __future__ import annotations

import csv
import gzip
import io
import math
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import numpy as np

from .. import csvsafe
from ..engine.stats.funnel import KINDS, FunnelResult, Kind, funnel
from ..engine.stats.overdispersion import Method, Scale
from ..errors import InputError
from ..sources.base import Header, non_negative_number, read_header

COLUMNS: dict[str, tuple[str, str]] = {
    "proportion": ("numerator", "denominator"),
    "rate": ("numerator", "denominator"),
    "ratio": ("observed", "expected"),
}

# Written after area, the two input columns and value, in this order (see FunnelResult).
OUTPUT_COLUMNS: tuple[str, ...] = (
    "value", "target",
    "lower_95", "upper_95", "lower_998", "upper_998", "flag_95", "flag_998",
    "lower_95_od", "upper_95_od", "lower_998_od", "upper_998_od", "flag_95_od", "flag_998_od",
    "lower_95_mult", "upper_95_mult", "lower_998_mult", "upper_998_mult", "flag_95_mult", "flag_998_mult",
    "z", "z_od",
)


@dataclass(frozen=True)
class FunnelTable:
    """The areas of a file (in file order), their input lines, and the funnel computed on them."""

    path: Path
    kind: str
    areas: tuple[str, ...]
    lines: tuple[int, ...]
    result: FunnelResult

    @property
    def header(self) -> tuple[str, ...]:
        first, second = COLUMNS[self.kind]
        return ("area", first, second, *OUTPUT_COLUMNS)

    def rows(self) -> Iterator[tuple[object, ...]]:
        """One tuple per area, matching `header`: numbers as floats (NaN where undefined),
        flags as text."""
        r = self.result
        for i, area in enumerate(self.areas):
            values: list[object] = [area, float(r.numerator[i]), float(r.denominator[i])]
            for name in OUTPUT_COLUMNS:
                if name == "target":
                    values.append(r.target)
                else:
                    item = getattr(r, name)[i]
                    values.append(str(item) if name.startswith("flag") else float(item))
            yield tuple(values)

    def write_csv(self, dest: str | Path | TextIO) -> None:
        """Write `header` and `rows` as CSV to a path or an open text file. Numbers are written
        in full (repr) precision; an undefined number is an empty field."""
        if isinstance(dest, (str, Path)):
            with open(dest, "w", encoding="utf-8", newline="") as f:
                self._write(f)
        else:
            self._write(dest)

    def _write(self, f: TextIO) -> None:
        writer = csvsafe.writer(f, lineterminator="\n")
        writer.writerow(self.header)
        for row in self.rows():
            writer.writerow(["" if isinstance(v, float) and not math.isfinite(v) else v for v in row])


def _text(path: Path, header: Header) -> str:
    """The whole file as text (plain or gzip), or an InputError naming the line that is not UTF-8."""
    try:
        raw = gzip.open(path, "rb").read() if header.gzipped else path.read_bytes()
    except (EOFError, OSError, zlib.error) as exc:
        raise InputError(path, f"cannot decompress: {exc}; expected a complete gzip file") from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise InputError(path, "text is not UTF-8; expected a UTF-8 encoded file (re-save it as UTF-8)",
                         line=line) from None


_number = non_negative_number  # sources.base: one rule for a number cell of a user's file


def read_funnel_csv(path: str | Path, kind: Kind) -> tuple[list[str], list[int], np.ndarray, np.ndarray]:
    """Read and check the file: areas, their line numbers, numerators and denominators (or
    observed and expected). Raises InputError for anything wrong (module docstring)."""
    if kind not in KINDS:
        raise ValueError(f"kind {kind!r}: expected one of {', '.join(KINDS)}")
    path = Path(path)
    header = read_header(path)  # refuses a missing, empty or non-UTF-8-headed file
    reader = csv.reader(io.StringIO(_text(path, header), newline=""), delimiter=header.delimiter)
    fields = [f.strip() for f in next(reader, [])]
    first, second = COLUMNS[kind]
    wanted = ("area", first, second)
    by_name = {f.lower(): i for i, f in reversed(list(enumerate(fields)))}
    missing = [w for w in wanted if w not in by_name]
    if missing:
        hint = f" (a {kind} file has columns {', '.join(wanted)})"
        raise InputError(path, f"missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)}; "
                         f"found {', '.join(fields) or 'none'}{hint}", line=1)
    repeated = sorted({f for f in fields if [g.lower() for g in fields].count(f.lower()) > 1})
    if repeated:
        raise InputError(path, f"repeated column name(s) {', '.join(repeated)}; expected unique names", line=1)
    idx = {w: by_name[w] for w in wanted}
    described = {
        first: "a proportion's numerator, a count of zero or more" if kind == "proportion"
        else ("a count of zero or more" if kind == "rate" else "an observed count of zero or more"),
        second: "a denominator of zero or more" if kind != "ratio" else "an expected count of zero or more",
    }
    areas: list[str] = []
    lines: list[int] = []
    nums: list[float] = []
    dens: list[float] = []
    seen: dict[str, int] = {}
    line_before = reader.line_num
    for row in reader:
        line = line_before + 1  # the line the row starts on
        line_before = reader.line_num
        if not row or all(not v.strip() for v in row):
            continue  # a blank line
        if len(row) != len(fields):
            few = len(row) < len(fields)
            raise InputError(path, f"too {'few' if few else 'many'} fields ({len(row)}); expected {len(fields)}, "
                             "one per header column", line=line)
        area = row[idx["area"]].strip()
        if not area:
            raise InputError(path, "blank value; expected an area code or name", line=line, column=fields[idx["area"]])
        if area in seen:
            raise InputError(path, f"duplicate area {area!r} (first on line {seen[area]}); expected each area once",
                             line=line, column=fields[idx["area"]])
        seen[area] = line
        o = _number(path, line, fields[idx[first]], row[idx[first]], described[first])
        d = _number(path, line, fields[idx[second]], row[idx[second]], described[second])
        if kind == "proportion" and o > d:
            raise InputError(path, f"numerator {row[idx[first]].strip()} is greater than denominator "
                             f"{row[idx[second]].strip()}; expected a proportion's numerator to be at most "
                             "its denominator", line=line, column=fields[idx[first]])
        areas.append(area)
        lines.append(line)
        nums.append(o)
        dens.append(d)
    if not areas:
        raise InputError(path, "no data rows after the header; expected at least one row", line=2)
    return areas, lines, np.asarray(nums, dtype=float), np.asarray(dens, dtype=float)


def funnel_from_csv(
    path: str | Path,
    kind: Kind,
    *,
    target: float | None = None,
    multiplier: float = 1.0,
    method: Method = "winsorise",
    share: float = 0.1,
    scale: Scale | None = None,
) -> FunnelTable:
    """Read `path` (columns in the module docstring) and compute its funnel
    (`uptake.engine.stats.funnel.funnel` with the same keyword arguments)."""
    areas, lines, o, d = read_funnel_csv(path, kind)
    result = funnel(kind, o, d, target=target, multiplier=multiplier, method=method, share=share, scale=scale)
    return FunnelTable(Path(path), kind, tuple(areas), tuple(lines), result)
