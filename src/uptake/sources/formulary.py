"""Formulary decision files: which NICE TAs each local formulary includes, and since when.

Every NICE technology appraisal (TA) recommendation must be in each local formulary within 90
days of its publication (30 for some, e.g. TA733; the catalogue's `funding_deadline_days`). A
formulary decision file records, for each formulary and TA, the decisions taken and their dates,
one row per decision (several rows for one formulary and TA are its history):

    formulary,formulary_name,icbs,ta,decision,decision_date,restrictions,reason,evidence,recorded_by
    SYN-QHM,North East and North Cumbria formulary,QHM,TA733,included,2021-10-29,,,APC 2021-10 item 4,

Columns are matched case-insensitively and in any order; `restrictions`, `reason`, `evidence`
and `recorded_by` may be left out (they are then empty), the others are required. Values:

- `formulary`: the formulary's code, 1-40 letters, digits, '-' or '_', kept as written;
- `formulary_name`: its name; the same on every row of the formulary;
- `icbs`: the ODS codes of the ICBs it serves (3 characters starting with Q), separated by ';'
  (upper-cased, sorted and de-duplicated); the same on every row of the formulary;
- `ta`: the TA, as 'TA275', 'ta275', 'TA 275', 'TA-275' or '275' (leading zeros ignored), the
  forms the catalogue accepts; it becomes 'TA275';
- `decision`: one of `DECISIONS` (case-insensitive; spaces or '-' may stand for '_', so
  'Included with restrictions' is accepted);
- `decision_date`: ISO 8601, YYYY-MM-DD, nothing else (25/12/2021 is ambiguous across tools);
- `restrictions`: required for `included_with_restrictions` (e.g. "Red: hospital only");
- `reason`: required for `not_applicable` and `rejected`;
- `evidence` (a link or a minute reference) and `recorded_by`: free text, may be empty.

`read_formulary_decisions` returns nothing unless the whole file is good: it checks every row and
raises one `FormularyDecisionsError` (an `InputError`) listing every problem found (up to
`MAX_PROBLEMS`), each naming the file, the line, the column and what was expected. Problems with
the file itself (empty, not UTF-8, a truncated gzip, missing columns, no rows) raise a plain
`InputError` at once.
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
import re
import zlib
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from pathlib import Path

from .. import csvsafe
from ..errors import InputError
from .base import read_header

DECISIONS = ("included", "included_with_restrictions", "not_applicable", "rejected")
COLUMNS = ("formulary", "formulary_name", "icbs", "ta", "decision", "decision_date",
           "restrictions", "reason", "evidence", "recorded_by")
REQUIRED = COLUMNS[:6]
OPTIONAL = COLUMNS[6:]
# The columns that identify the format (a file with these is a formulary decision file, and is
# refused with the names of any other required column it lacks).
SIGNATURE = ("formulary", "ta", "decision", "decision_date")
MAX_PROBLEMS = 50

_CODE = re.compile(r"[A-Za-z0-9_-]{1,40}")
_ICB = re.compile(r"Q[A-Z0-9]{2}")
_TA = re.compile(r"(?:TA)?0*([1-9][0-9]*)")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_EXPECTED_DECISIONS = ", ".join(DECISIONS)


@dataclass(frozen=True)
class DecisionRow:
    """One formulary decision, as read from one line of a formulary decision file."""

    line: int  # 1-based line in the file (header = line 1)
    formulary: str  # formulary code, [A-Za-z0-9_-]{1,40}, as written
    formulary_name: str
    icbs: tuple[str, ...]  # ODS codes of the ICBs the formulary serves: upper case, sorted
    ta: str  # normalised: 'TA275'
    decision: str  # one of DECISIONS
    decision_date: dt.date
    restrictions: str  # non-empty for included_with_restrictions
    reason: str  # non-empty for not_applicable and rejected
    evidence: str  # a link or a minute reference; may be empty
    recorded_by: str  # may be empty


class FormularyDecisionsError(InputError):
    """A formulary decision file with bad rows: every problem found (up to MAX_PROBLEMS).

    `problems` holds one InputError per problem (with its path, line, column and message);
    `bad_rows` counts the rows with at least one problem, `total` every problem found. The
    error's own line and column are those of the first problem. str() is a first line saying how
    many rows are bad, then one line per problem.
    """

    def __init__(self, path: str | Path, problems: list[InputError], bad_rows: int, total: int) -> None:
        self.problems = list(problems)
        self.bad_rows = bad_rows
        self.total = total
        first = problems[0] if problems else None
        rows = f"{bad_rows} row{'s' if bad_rows != 1 else ''}"
        shown = f"; the first {len(problems)} are listed" if total > len(problems) else ""
        summary = (f"{rows} {'is' if bad_rows == 1 else 'are'} bad ({total} problem{'s' if total != 1 else ''}"
                   f"{shown}); nothing was read")
        super().__init__(path, summary, line=first.line if first else None, column=first.column if first else None)

    def __str__(self) -> str:
        head = f"{self.path}: {self.message}"
        return "\n".join([head, *(str(p) for p in self.problems)])


def normalise_ta(value: str) -> str | None:
    """'TA275', 'ta275', 'TA 275', 'TA-275', 'TA_275', 'TA0275' or '275' → 'TA275'; None if not a TA."""
    text = re.sub(r"[\s_-]", "", str(value)).upper()
    match = _TA.fullmatch(text)
    return f"TA{match.group(1)}" if match else None


def _normalise_decision(value: str) -> str:
    return re.sub(r"[\s-]+", "_", value.strip().lower())


def is_formulary_file(path: str | Path) -> bool:
    """Whether `path` looks like a formulary decision file, from its header alone.

    True when the header names (case-insensitively, any order) formulary, ta, decision and
    decision_date; plain or gzip, with or without a BOM. A file that cannot be read as text
    (missing, empty, not UTF-8) is not one: False, and the ordinary readers say what is wrong.
    """
    try:
        header = read_header(Path(path))
    except InputError:
        return False
    return header.has(*SIGNATURE)


def _columns(path: Path, fields: tuple[str, ...]) -> dict[str, int]:
    """Each known column's position; refuse a header lacking a required column or repeating one."""
    positions: dict[str, int] = {}
    repeated: list[str] = []
    for i, name in enumerate(fields):
        key = name.strip().lower()
        if key in COLUMNS:
            if key in positions:
                repeated.append(name)
            else:
                positions[key] = i
    missing = [c for c in REQUIRED if c not in positions]
    if missing:
        found = ", ".join(f for f in fields if f) or "none"
        raise InputError(path, f"missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
                         f"(found: {found}); expected the columns {', '.join(REQUIRED)} "
                         f"(and optionally {', '.join(OPTIONAL)})", line=1)
    if repeated:
        raise InputError(path, f"column{'s' if len(repeated) > 1 else ''} {', '.join(repeated)} named twice; "
                         "expected each column once", line=1)
    return positions


def _text(path: Path, gzipped: bool) -> str:
    """The whole file as text (formulary files are small), with a clear error for bad bytes."""
    try:
        with (gzip.open(path, "rb") if gzipped else open(path, "rb")) as f:
            data = f.read()
    except (EOFError, zlib.error, OSError) as exc:
        if isinstance(exc, FileNotFoundError):
            raise InputError(path, "no such file") from None
        raise InputError(path, "the compressed file ends early (truncated gzip); expected a complete gzip file "
                         "— copy or download it again") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise InputError(path, f"byte 0x{data[exc.start]:02x} is not UTF-8 text; expected a UTF-8 encoded file "
                         "(re-save it as UTF-8)", line=line) from None


class _Problems:
    """Problems found so far: every one counted, the first MAX_PROBLEMS kept."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.kept: list[InputError] = []
        self.total = 0
        self.bad_lines: set[int] = set()

    def add(self, line: int, column: str | None, message: str) -> None:
        self.total += 1
        self.bad_lines.add(line)
        if len(self.kept) < MAX_PROBLEMS:
            self.kept.append(InputError(self.path, message, line=line, column=column))


def read_formulary_decisions(path: str | Path, known_tas: Collection[str] | None = None) -> list[DecisionRow]:
    """Read and check a formulary decision file; return its rows in file order.

    `known_tas` (e.g. the catalogue's TA ids; any form `normalise_ta` accepts) refuses rows for
    any other TA. Raises `FormularyDecisionsError` listing every bad row, or `InputError` for a
    file that cannot be read as one (see the module's docstring): rows are returned only when
    the whole file is good.
    """
    path = Path(path)
    header = read_header(path)
    positions = _columns(path, header.fields)
    known = None if known_tas is None else {t for t in (normalise_ta(k) for k in known_tas) if t}
    text = _text(path, header.gzipped)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=header.delimiter, strict=True)
    problems = _Problems(path)
    rows: list[DecisionRow] = []
    width = len(header.fields)
    try:
        next(reader, None)
        last = reader.line_num
        for fields in reader:
            line = last + 1
            last = reader.line_num
            if not fields or all(not f.strip() for f in fields):
                continue
            if len(fields) != width:
                problems.add(line, None, f"{len(fields)} fields; expected {width}, one per header column")
                continue
            row = _row(problems, line, {c: fields[i].strip() for c, i in positions.items()}, known)
            if row is not None:
                rows.append(row)
    except csv.Error as exc:
        problems.add(last + 1, None, f"malformed CSV ({exc}); expected a well-formed CSV line")
    if not rows and not problems.total:
        raise InputError(path, "no decision rows after the header; expected at least one row", line=2)
    _consistency(problems, rows)
    if problems.total:
        raise FormularyDecisionsError(path, sorted(problems.kept, key=lambda p: p.line or 0),
                                      len(problems.bad_lines), problems.total)
    return rows


def _row(problems: _Problems, line: int, v: dict[str, str], known: set[str] | None) -> DecisionRow | None:
    """One row checked value by value; every problem is recorded, and None returned if any."""
    before = problems.total

    def bad(column: str, message: str) -> None:
        problems.add(line, column, message)

    for column in REQUIRED:
        if not v[column]:
            bad(column, f"blank; expected {_WHAT[column]} in every row")
    formulary = v["formulary"]
    if formulary and not _CODE.fullmatch(formulary):
        bad("formulary", f"{formulary!r}; expected a formulary code of 1-40 letters, digits, '-' or '_'")
    icbs: tuple[str, ...] = ()
    if v["icbs"]:
        parts = [p.strip().upper() for p in v["icbs"].split(";")]
        wrong = [p for p in parts if p and not _ICB.fullmatch(p)]
        if wrong:
            which = "" if len(parts) == 1 else f": {', '.join(repr(w) for w in wrong)}"
            bad("icbs", f"{v['icbs']!r}{which} {'is not an ICB code' if len(wrong) == 1 else 'are not ICB codes'}; "
                        "expected ICB ODS codes (3 characters starting with Q, e.g. QHM) separated by ';'")
        icbs = tuple(sorted({p for p in parts if p}))
        if not icbs and not wrong:
            bad("icbs", f"{v['icbs']!r}; expected at least one ICB ODS code (e.g. QHM), several separated by ';'")
    ta = ""
    if v["ta"]:
        ta = normalise_ta(v["ta"]) or ""
        if not ta:
            bad("ta", f"{v['ta']!r}; expected a NICE technology appraisal number, e.g. TA275 or 275")
        elif known is not None and ta not in known:
            bad("ta", f"{v['ta']!r} is not in the catalogue; expected a TA the catalogue knows "
                      "(see `uptake catalogue list`)")
    decision = _normalise_decision(v["decision"]) if v["decision"] else ""
    if decision and decision not in DECISIONS:
        bad("decision", f"{v['decision']!r}; expected one of {_EXPECTED_DECISIONS}")
    date = None
    if v["decision_date"]:
        text = v["decision_date"]
        if not _ISO_DATE.fullmatch(text):
            bad("decision_date", f"{text!r}; expected a date written YYYY-MM-DD (ISO 8601), e.g. 2021-11-04")
        else:
            try:
                date = dt.date.fromisoformat(text)
            except ValueError:
                bad("decision_date", f"{text!r} is not a date in the calendar; expected a valid date written "
                                     "YYYY-MM-DD, e.g. 2021-11-04")
    restrictions, reason = v.get("restrictions", ""), v.get("reason", "")
    if decision == "included_with_restrictions" and not restrictions:
        bad("restrictions", "blank; expected the restrictions (e.g. 'Red: hospital only') for a decision "
                            "of included_with_restrictions")
    if decision in ("not_applicable", "rejected") and not reason:
        bad("reason", f"blank; expected the reason for a decision of {decision}")
    if problems.total > before or date is None:
        return None
    return DecisionRow(line, formulary, v["formulary_name"], icbs, ta, decision, date, restrictions, reason,
                       v.get("evidence", ""), v.get("recorded_by", ""))


_WHAT = {
    "formulary": "the formulary's code",
    "formulary_name": "the formulary's name",
    "icbs": "the ODS codes of the ICBs the formulary serves",
    "ta": "the NICE TA (e.g. TA275)",
    "decision": f"the decision ({_EXPECTED_DECISIONS})",
    "decision_date": "the date of the decision (YYYY-MM-DD)",
}


def _consistency(problems: _Problems, rows: Iterable[DecisionRow]) -> None:
    """One name and ICB list per formulary; one decision per formulary, TA and date."""
    first: dict[str, DecisionRow] = {}
    seen: dict[tuple[str, str, dt.date], int] = {}
    for r in rows:
        f = first.setdefault(r.formulary, r)
        if r.formulary_name != f.formulary_name:
            problems.add(r.line, "formulary_name",
                         f"{r.formulary_name!r} differs from {f.formulary_name!r} on line {f.line}; expected "
                         f"one name for formulary {r.formulary} on every row")
        if r.icbs != f.icbs:
            problems.add(r.line, "icbs",
                         f"{';'.join(r.icbs)!r} differs from {';'.join(f.icbs)!r} on line {f.line}; expected "
                         f"one list of ICBs for formulary {r.formulary} on every row")
        key = (r.formulary, r.ta, r.decision_date)
        if key in seen:
            problems.add(r.line, "decision_date",
                         f"duplicate of line {seen[key]} (formulary {r.formulary}, {r.ta}, "
                         f"{r.decision_date.isoformat()}); expected one decision per formulary, TA and date")
        else:
            seen[key] = r.line


def write_formulary_decisions(path: str | Path, rows: Iterable[DecisionRow]) -> int:
    """Write `rows` as a formulary decision file (all COLUMNS, in order; '\\n' line ends) and
    return how many were written. The rows' `line` is ignored."""
    path = Path(path)
    n = 0
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csvsafe.writer(f, lineterminator="\n")
        w.writerow(COLUMNS)
        for r in rows:
            w.writerow([r.formulary, r.formulary_name, ";".join(r.icbs), r.ta, r.decision,
                        r.decision_date.isoformat(), r.restrictions, r.reason, r.evidence, r.recorded_by])
            n += 1
    return n


__all__ = [
    "COLUMNS",
    "DECISIONS",
    "MAX_PROBLEMS",
    "DecisionRow",
    "FormularyDecisionsError",
    "is_formulary_file",
    "normalise_ta",
    "read_formulary_decisions",
    "write_formulary_decisions",
]
