"""Reader for the NHS Innovation Scorecard's utilisation files ("NICE Technology Appraisals in the
NHS in England", NHS Digital, now NHSBSA): one row per quarter × data source × medicine (×
organisation), with a numerator of daily doses (DDD or ADD) and a population denominator.

Two layouts are read (reference/methods.md §1.3; shared/data/SOURCES.md §4):

- NICE's wrangled extract (Prototype_BC_prescribing, `data/bc_meds_*_2022_10.csv`): the quarter
  as its last day (`date`, e.g. 2022-06-30), and `stp_ods_cd`/`stp_name` at STP level, none
  nationally;
- the published CSV: `year_quarter` (e.g. `2022/23 Q1`, or `year` `2022_23` with `quarter` 1-4),
  `provider_code`/`provider_name` for the organisation, and the published rate `value`.

Both need `data_source`, `treatment_name`, `numerator`, `numerator_unit`, `denominator` and
`denominator_unit` (which must be `Population`). A file without an organisation column is the
national (England) file: its rows get the organisation `ENG`.

The files are small; they are read with Python's csv module, and anything wrong is an
`InputError` naming the file, the line (header = 1) and the column.

The ISC's quarters are financial quarters: Q1 = April–June … Q4 = January–March, labelled
`2022/23 Q1` (methods.md §1.3, the published `year_quarter` variable).
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from ..errors import InputError
from .base import open_text, read_header

ENGLAND = "ENG"
REQUIRED = ("data_source", "treatment_name", "numerator", "numerator_unit", "denominator", "denominator_unit")
ORG_COLUMNS = (("stp_ods_cd", "stp_name"), ("provider_code", "provider_name"), ("icb_ods_cd", "icb_name"))
QUARTER_RE = re.compile(r"^(\d{4})/(\d{2}) Q([1-4])$")
YEAR_RE = re.compile(r"^(\d{4})[_/-](\d{2})$")
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


# --- financial quarters -------------------------------------------------------------------------


def quarter_of(day: date) -> str:
    """The ISC label of the financial quarter holding `day`: 2022-06-30 → '2022/23 Q1',
    2023-01-15 → '2022/23 Q4'."""
    start = day.year if day.month >= 4 else day.year - 1
    return f"{start}/{(start + 1) % 100:02d} Q{(day.month - 4) % 12 // 3 + 1}"


def quarter_months(label: str) -> list[date]:
    """The first days of the three months of an ISC quarter label ('2022/23 Q1' → Apr–Jun 2022)."""
    start, q = _parse_quarter(label)
    first = 4 + 3 * (q - 1)
    year = start if first <= 12 else start + 1
    first = first if first <= 12 else first - 12
    return [date(year, first + k, 1) for k in range(3)]


def quarter_end(label: str) -> date:
    last = quarter_months(label)[-1]
    return (last.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)


def _parse_quarter(label: str) -> tuple[int, int]:
    m = QUARTER_RE.match(label.strip())
    if not m or (int(m.group(1)) + 1) % 100 != int(m.group(2)):
        raise ValueError(f"{label!r} is not a financial quarter; expected e.g. 2022/23 Q1")
    return int(m.group(1)), int(m.group(3))


# --- the file -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ISCRow:
    line: int
    quarter: str  # '2022/23 Q1'
    data_source: str  # 'Primary Care' or 'Secondary Care'
    medicine: str  # treatment_name, as written
    org: str  # an ODS code, or ENG in a national file
    org_name: str | None
    numerator: float  # daily doses; may be negative (returns exceed issues)
    numerator_unit: str  # DDD or ADD
    denominator: float  # population
    value: float | None = None  # the published rate per 100,000, where the file has it


@dataclass(frozen=True)
class ISCFile:
    path: Path
    national: bool  # no organisation column: every row is England's
    has_value: bool  # the file carries the published rate (`value`)
    rows: tuple[ISCRow, ...]

    @property
    def medicines(self) -> list[str]:
        return sorted({r.medicine for r in self.rows})

    @property
    def quarters(self) -> list[str]:
        return sorted({r.quarter for r in self.rows})

    @property
    def orgs(self) -> list[str]:
        return sorted({r.org for r in self.rows})


def _number(path: Path, line: int, column: str, text: str, what: str) -> float:
    try:
        value = float(text.replace(",", ""))
    except ValueError:
        raise InputError(path, f"{text!r} is not a number; expected {what}" if text else f"blank value; expected {what}",
                         line=line, column=column) from None
    if value != value or value in (float("inf"), float("-inf")):
        raise InputError(path, f"{text!r} is not a finite number; expected {what}", line=line, column=column)
    return value


def _quarter(path: Path, line: int, row: dict[str, str], columns: dict[str, str]) -> str:
    if "date" in columns:
        col = columns["date"]
        text = row[col]
        try:
            day = date.fromisoformat(text) if DATE_RE.match(text) else None
        except ValueError:
            day = None
        if day is None or quarter_end(quarter_of(day)) != day:
            raise InputError(path, f"{text!r} is not the last day of a quarter; expected YYYY-MM-DD, one of "
                             "31 March, 30 June, 30 September or 31 December", line=line, column=col)
        return quarter_of(day)
    if "year_quarter" in columns:
        col = columns["year_quarter"]
        try:
            _parse_quarter(row[col])
        except ValueError:
            raise InputError(path, f"{row[col]!r} is not a financial quarter; expected e.g. 2022/23 Q1",
                             line=line, column=col) from None
        return " ".join(row[col].split())
    ycol, qcol = columns["year"], columns["quarter"]
    m = YEAR_RE.match(row[ycol])
    if not m or (int(m.group(1)) + 1) % 100 != int(m.group(2)):
        raise InputError(path, f"{row[ycol]!r} is not a financial year; expected e.g. 2022_23", line=line, column=ycol)
    if row[qcol] not in ("1", "2", "3", "4"):
        raise InputError(path, f"{row[qcol]!r} is not a quarter; expected 1 (April-June) to 4 (January-March)",
                         line=line, column=qcol)
    return f"{m.group(1)}/{m.group(2)} Q{row[qcol]}"


def _columns(path: Path, fields: tuple[str, ...]) -> dict[str, str]:
    by_lower = {f.strip().lower(): f for f in fields}
    repeated = sorted({f for f in fields if fields.count(f) > 1})
    if repeated:
        raise InputError(path, f"column(s) {', '.join(repeated)} named twice; expected each once", line=1)
    missing = [c for c in REQUIRED if c not in by_lower]
    quarter = [c for c in ("date", "year_quarter") if c in by_lower] or (
        ["year", "quarter"] if {"year", "quarter"} <= set(by_lower) else [])
    if not quarter:
        missing.append("date (or year_quarter, or year and quarter)")
    if missing:
        raise InputError(path, f"missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)}; found "
                         f"{', '.join(fields)}; expected an Innovation Scorecard utilisation file", line=1)
    wanted = list(REQUIRED) + quarter[:1] + (["quarter"] if quarter == ["year", "quarter"] else []) + ["value"]
    for code, name in ORG_COLUMNS:
        if code in by_lower:
            wanted += [code] + ([name] if name in by_lower else [])
            break
    return {c: by_lower[c] for c in wanted if c in by_lower}


def read_isc(path: str | Path) -> ISCFile:
    """Read and check an Innovation Scorecard utilisation file (module docstring)."""
    path = Path(path)
    header = read_header(path)
    columns = _columns(path, header.fields)
    org_col = next((columns[c] for c, _ in ORG_COLUMNS if c in columns), None)
    name_col = next((columns[n] for c, n in ORG_COLUMNS if c in columns and n in columns), None)
    width = len(header.fields)
    rows: list[ISCRow] = []
    seen: dict[tuple, int] = {}
    with open_text(path) as f:
        reader = csv.reader(f, delimiter=header.delimiter, strict=True)
        try:
            next(reader, None)
            last = reader.line_num
            for fields in reader:
                line, last = last + 1, reader.line_num
                if not fields or all(not x.strip() for x in fields):
                    continue
                if len(fields) != width:
                    raise InputError(path, f"{len(fields)} fields; expected {width}, one per header column", line=line)
                row = {name: value.strip() for name, value in zip(header.fields, fields)}
                rows.append(_row(path, line, row, columns, org_col, name_col))
                key = (rows[-1].quarter, rows[-1].org, rows[-1].data_source.lower(), rows[-1].medicine.lower())
                if key in seen:
                    raise InputError(path, f"a second row for {rows[-1].medicine}, {rows[-1].data_source}, {key[0]}, "
                                     f"{key[1]} (the first is line {seen[key]}); expected each once", line=line)
                seen[key] = line
        except csv.Error as exc:
            raise InputError(path, f"malformed CSV ({exc}); expected a well-formed CSV line", line=last + 1) from None
        except UnicodeDecodeError:
            raise InputError(path, "text is not UTF-8; expected a UTF-8 encoded file (re-save it as UTF-8)",
                             line=last + 1) from None
    if not rows:
        raise InputError(path, "no data rows after the header; expected at least one row", line=2)
    return ISCFile(path=path, national=org_col is None, has_value="value" in columns, rows=tuple(rows))


def _row(path: Path, line: int, row: dict[str, str], columns: dict[str, str], org_col: str | None,
         name_col: str | None) -> ISCRow:
    for c in ("data_source", "treatment_name", "numerator_unit"):
        if not row[columns[c]]:
            raise InputError(path, f"blank value; expected the {c.replace('_', ' ')} in every row", line=line,
                             column=columns[c])
    unit = row[columns["denominator_unit"]]
    if unit.lower() != "population":
        raise InputError(path, f"{unit!r}: expected Population (the rate is per 100,000 population)", line=line,
                         column=columns["denominator_unit"])
    org = ENGLAND
    if org_col is not None:
        org = row[org_col].upper()
        if not org:
            raise InputError(path, "blank value; expected an organisation code in every row", line=line, column=org_col)
    denominator = _number(path, line, columns["denominator"], row[columns["denominator"]], "a population")
    if denominator <= 0:
        raise InputError(path, f"{row[columns['denominator']]!r}: expected a population above zero", line=line,
                         column=columns["denominator"])
    value = None
    if "value" in columns and row[columns["value"]]:
        value = _number(path, line, columns["value"], row[columns["value"]], "the published rate, a number")
    return ISCRow(line=line, quarter=_quarter(path, line, row, columns), data_source=row[columns["data_source"]],
                  medicine=row[columns["treatment_name"]], org=org, org_name=(row[name_col] or None) if name_col else None,
                  numerator=_number(path, line, columns["numerator"], row[columns["numerator"]], "daily doses, a number"),
                  numerator_unit=row[columns["numerator_unit"]], denominator=denominator, value=value)
