"""Readers for reference data: NICE's lists of technology appraisals, the NHSBSA BNF code
hierarchy and BNF code changes, and dm+d VMP → BNF → ATC → defined daily dose maps.

Formats (id → dataset):

- ``nice_ta_list_2012`` → nice_ta_list: the TA1–TA265 list scraped from guidance.nice.org.uk
  in 2012 (Date, link, Ref, rownumber, Title, Review). Titles carry their own status:
  ``Title (TA4) (replaced by TA71) (withdrawn)``.
- ``nice_ta_api`` → nice_ta_list: guidance_no, title, pub_date, mod_date, as pulled from
  NICE's syndication API.
- ``nice_ta_dates`` → nice_ta_list: medicine, ta_short, pub_date (the medicine stands in for
  the title).
- ``bnf_code_information`` → bnf_codes: NHSBSA BNF Code Information (BNF Chapter, ...,
  BNF Presentation Code).
- ``bnf_code_changes`` → bnf_code_changes: old_code, new_code; see `resolve_code_changes`.
- ``dmd_ddd`` → dmd_ddd: the dm+d BNF/ATC supplementary file flattened (VPID, BNF, ATC, DDD,
  DDD_UOMCD).
- ``dmd_ddd_codelist`` → dmd_ddd: a VMP codelist with DDDs (type, id, bnf_code, nm,
  ingredient, ddd).

The first part of this module holds the strict small-file helpers that `ods.py` and
`registers.py` share: files of a few thousand rows are read with Python's csv module, and every
problem is reported with the line (header = line 1) and the column.
"""

from __future__ import annotations

import csv
import gzip
import io
import re
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import pyarrow as pa

from ..errors import InputError, UptakeError
from ..schemas import dataset
from .base import Header, register
from .csvscan import (
    check_duplicates,
    check_not_negative,
    check_required,
    connect,
    count_complete_lines,
    query_arrow,
    quote_ident,
    resolve_columns,
    scan,
)

# --- strict reading of small files --------------------------------------------------------


@dataclass(frozen=True)
class SmallCsv:
    """A whole small file: column names and each data row with the line it starts on."""

    path: Path
    names: tuple[str, ...]
    rows: list[tuple[int, list[str]]]

    def index(self, name: str) -> int:
        upper = [n.upper() for n in self.names]
        return upper.index(name.upper())


def read_small(header: Header, *, headerless: bool = False, names: Sequence[str] | None = None) -> SmallCsv:
    """Read every row of a small file, refusing lines whose field count differs from the header's.

    `headerless` files have no header line: the first line is data and `names` name the fields.
    Blank lines are skipped. Rows keep their raw text (use the parse_* helpers on them). The
    whole file is decoded at once, so that bytes that are not UTF-8 are reported on their own line.
    """
    columns = tuple(names) if names is not None else header.fields
    try:
        with (gzip.open(header.path, "rb") if header.gzipped else open(header.path, "rb")) as raw:
            data = raw.read()
    except (EOFError, zlib.error, OSError) as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        raise InputError(header.path, "the compressed file ends early (truncated gzip); expected a complete file "
                         "— download it again", line=count_complete_lines(header)) from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(header.path, f"byte 0x{data[exc.start]:02x} is not UTF-8 text; expected a UTF-8 encoded "
                         "file (re-save it as UTF-8)", line=data.count(b"\n", 0, exc.start) + 1) from None
    rows: list[tuple[int, list[str]]] = []
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=header.delimiter, strict=True)
    last = 0
    try:
        if not headerless:
            next(reader, None)
            last = reader.line_num
        for fields in reader:
            line = last + 1
            last = reader.line_num
            if not fields or (len(fields) == 1 and not fields[0].strip()):
                continue
            if len(fields) != len(columns):
                raise InputError(header.path, f"{len(fields)} fields; expected {len(columns)}, "
                                 f"one per {'column of this layout' if headerless else 'header column'}", line=line)
            rows.append((line, fields))
    except csv.Error as exc:
        raise InputError(header.path, f"malformed CSV ({exc}); expected a well-formed CSV line",
                         line=last + 1) from None
    if not rows:
        raise InputError(header.path, "no data rows after the header; expected at least one row", line=2)
    return SmallCsv(header.path, columns, rows)


def need_code(path: Path, line: int, column: str, value: str, what: str = "a code") -> str:
    """A non-blank identifying value, stripped."""
    value = value.strip()
    if not value:
        raise InputError(path, f"blank value; expected {what} in every row", line=line, column=column)
    return value


def blank_to_none(value: str, nulls: Iterable[str] = ("",)) -> str | None:
    value = value.strip()
    return None if value in nulls else value


_WHOLE = re.compile(r"[+-]?\d+")
_EUROPEAN_WHOLE = re.compile(r"[+-]?\d{1,3}(?:\.\d{3})+")


def parse_count(path: Path, line: int, column: str, value: str, *, what: str = "a count",
                european: bool = False, nulls: Iterable[str] = ()) -> int | None:
    """A whole number of zero or more. `european` also accepts '.' as the thousands separator
    (7.389 = 7389). Values in `nulls` give None; anything else that is not a whole number is refused."""
    text = value.strip()
    if text in nulls:
        return None
    if _WHOLE.fullmatch(text):
        number = int(text)
    elif european and _EUROPEAN_WHOLE.fullmatch(text):
        number = int(text.replace(".", ""))
    else:
        expected = f"{what}, a whole number" + (" ('.' as thousands separator)" if european else "")
        raise InputError(path, f"{value!r} is not a whole number; expected {expected}", line=line, column=column)
    if number < 0:
        raise InputError(path, f"{number} is negative; expected {what} of zero or more", line=line, column=column)
    return number


def parse_number(path: Path, line: int, column: str, value: str, *, what: str = "a number",
                 nulls: Iterable[str] = ("",), negative_ok: bool = False) -> float | None:
    text = value.strip()
    if text in nulls:
        return None
    try:
        number = float(text)
    except ValueError:
        raise InputError(path, f"{value!r} is not a number; expected {what}", line=line, column=column) from None
    if number != number or number in (float("inf"), float("-inf")):
        raise InputError(path, f"{value!r} is not a number; expected {what}", line=line, column=column)
    if number < 0 and not negative_ok:
        raise InputError(path, f"{text} is negative; expected {what} of zero or more", line=line, column=column)
    return number


# Date layouts seen in NHS files, by name: (pattern, strptime format, how to say it).
DATE_LAYOUTS: dict[str, tuple[re.Pattern[str], str, str]] = {
    "iso": (re.compile(r"\d{4}-\d{2}-\d{2}"), "%Y-%m-%d", "YYYY-MM-DD"),
    "yyyymmdd": (re.compile(r"\d{8}"), "%Y%m%d", "YYYYMMDD"),
    "dd-mon-yy": (re.compile(r"\d{1,2}-[A-Za-z]{3}-\d{2}"), "%d-%b-%y", "DD-Mon-YY (01-Sep-20)"),
    "dd-mon-yyyy": (re.compile(r"\d{1,2}-[A-Za-z]{3}-\d{4}"), "%d-%b-%Y", "DD-Mon-YYYY (01-Sep-2020)"),
    "ddmonyyyy": (re.compile(r"\d{2}[A-Za-z]{3}\d{4}"), "%d%b%Y", "DDMonYYYY (01SEP2020)"),
    "dd/mm/yyyy": (re.compile(r"\d{2}/\d{2}/\d{4}"), "%d/%m/%Y", "DD/MM/YYYY"),
}
EXTRACT_DATE_LAYOUTS = ("iso", "dd-mon-yy", "dd-mon-yyyy", "ddmonyyyy", "dd/mm/yyyy")


def parse_date(path: Path, line: int, column: str, value: str, layouts: Sequence[str],
               *, nulls: Iterable[str] = ("",), what: str = "a date") -> date | None:
    """A date written in one of `layouts` (names in DATE_LAYOUTS); values in `nulls` give None."""
    text = value.strip()
    if text in nulls:
        return None
    for name in layouts:
        pattern, fmt, _ = DATE_LAYOUTS[name]
        if pattern.fullmatch(text):
            try:
                return datetime.strptime(text, fmt).date()
            except ValueError:
                break
    said = " or ".join(DATE_LAYOUTS[n][2] for n in layouts)
    raise InputError(path, f"{value!r} is not {what}; expected {said}", line=line, column=column)


def parse_month_text(path: Path, line: int, column: str, value: str) -> date:
    """'YYYY-MM' (or YYYY-MM-DD) → the first day of that month."""
    text = value.strip()
    m = re.fullmatch(r"(\d{4})-(\d{2})(?:-\d{2})?", text)
    if m and 1 <= int(m.group(2)) <= 12:
        return date(int(m.group(1)), int(m.group(2)), 1)
    raise InputError(path, f"{value!r} is not a month; expected YYYY-MM", line=line, column=column)


class KeyCheck:
    """Remembers keys already seen and refuses a repeat, naming the line it first appeared on."""

    def __init__(self, path: Path, names: Sequence[str]):
        self.path = path
        self.names = tuple(names)
        self.seen: dict[tuple, int] = {}

    def add(self, key: tuple, line: int) -> None:
        first = self.seen.setdefault(key, line)
        if first != line:
            described = ", ".join(f"{n}={v}" for n, v in zip(self.names, key))
            raise InputError(self.path, f"duplicate row ({described}), first on line {first}; expected each once",
                             line=line)


def make_table(dataset_name: str, columns: dict[str, list]) -> pa.Table:
    """An Arrow table in a dataset's exact schema from a dict of column lists."""
    schema = dataset(dataset_name).schema
    return pa.table({f.name: pa.array(columns[f.name], type=f.type) for f in schema}, schema=schema)


def rows_to_table(dataset_name: str, rows: list[dict]) -> pa.Table:
    schema = dataset(dataset_name).schema
    return make_table(dataset_name, {f.name: [r.get(f.name) for r in rows] for f in schema})


def column_for(csvfile: SmallCsv, header: Header, wanted: Sequence[str],
               aliases: dict[str, Sequence[str]] | None = None) -> dict[str, int]:
    """Indexes of the wanted columns (case-insensitive, with aliases); missing ones refused on line 1."""
    found = resolve_columns(header, wanted, aliases)
    return {k: csvfile.index(v) for k, v in found.items()}


# --- NICE technology appraisal lists ------------------------------------------------------

TA_RE = re.compile(r"TA\d+")
_MARKER = re.compile(r"\(([^()]*)\)")
_REPLACED = re.compile(r"replaced by ((?:TA|CG|PH|NG|IPG|MTG|DG)\d+(?: and (?:TA|CG|PH|NG|IPG|MTG|DG)\d+)*)")
_PARTIAL = re.compile(r"partially updated by (?:TA|CG|PH|NG)\d+(?: and (?:TA|CG|PH|NG)\d+)*")


def _need_ta(path: Path, line: int, column: str, value: str) -> str:
    ta = need_code(path, line, column, value, "a TA number (TA1, TA2, ...)").upper()
    if not TA_RE.fullmatch(ta):
        raise InputError(path, f"{value!r} is not a TA number; expected TA followed by digits (e.g. TA71)",
                         line=line, column=column)
    return ta


def _split_2012_title(path: Path, line: int, column: str, ta: str, raw: str) -> tuple[str, str, str | None]:
    """'Title (TA4) (replaced by TA71) (withdrawn)' → ('Title', 'replaced', 'TA71')."""
    m = re.search(r"\(\s*" + re.escape(ta) + r"\s*\)", raw)
    if not m:
        raise InputError(path, f"title does not carry its number ({ta}); expected 'Title ({ta})' with optional "
                         "'(replaced by TAnn)' / '(withdrawn)' markers after it", line=line, column=column)
    title = " ".join(raw[: m.start()].split())
    rest = raw[m.end():]
    markers = _MARKER.findall(rest)
    if _MARKER.sub("", rest).strip():
        raise InputError(path, f"unexpected text after ({ta}): {rest.strip()!r}; expected only markers such as "
                         "'(replaced by TA71)' or '(withdrawn)'", line=line, column=column)
    replaced_by: list[str] = []
    withdrawn = False
    for marker in (" ".join(x.split()) for x in markers):
        if r := _REPLACED.fullmatch(marker):
            replaced_by += r.group(1).split(" and ")
        elif marker == "withdrawn":
            withdrawn = True
        elif _PARTIAL.fullmatch(marker):
            pass  # partly superseded but still current guidance
        else:
            raise InputError(path, f"unknown marker '({marker})' after ({ta}); expected '(replaced by TAnn)', "
                             "'(withdrawn)' or '(partially updated by ...)'", line=line, column=column)
    if not title:
        raise InputError(path, f"blank title before ({ta}); expected the appraisal's title", line=line, column=column)
    if replaced_by:
        status = "replaced"
    elif withdrawn:
        status = "withdrawn"
    elif title.lower().endswith("(terminated appraisal)"):
        status = "terminated"
    else:
        status = "current"
    return title, status, ";".join(replaced_by) or None


@register("nice_ta_list_2012", "nice_ta_list",
          "NICE technology appraisals TA1-TA265 as listed on guidance.nice.org.uk in 2012 (Date, link, Ref, Title)",
          columns=("Date", "link", "Ref", "Title"))
def read_nice_ta_list_2012(header: Header) -> pa.Table:
    """Each row: ta = Ref; published = the first day of Date (YYYY-MM); url = link.

    The title is cleaned of line breaks and of the markers NICE appended: '(TAnn)' itself, then
    '(replaced by TAxx[ and TAyy])' → status 'replaced' and replaced_by 'TAxx[;TAyy]' (which may
    name a clinical guideline, CGnn), '(withdrawn)' → 'withdrawn', '(partially updated by ...)'
    → still 'current'; a title ending '(terminated appraisal)' → 'terminated'.
    """
    f = read_small(header)
    c = column_for(f, header, ["Date", "link", "Ref", "Title"])
    keys = KeyCheck(header.path, ["ta"])
    out = []
    for line, r in f.rows:
        ta = _need_ta(header.path, line, f.names[c["Ref"]], r[c["Ref"]])
        keys.add((ta,), line)
        title, status, replaced_by = _split_2012_title(header.path, line, f.names[c["Title"]], ta, r[c["Title"]])
        out.append({"ta": ta, "title": title,
                    "published": parse_month_text(header.path, line, f.names[c["Date"]], r[c["Date"]]),
                    "modified": None, "url": blank_to_none(r[c["link"]]), "status": status,
                    "replaced_by": replaced_by, "source": "nice_ta_list_2012"})
    return rows_to_table("nice_ta_list", out)


@register("nice_ta_api", "nice_ta_list",
          "NICE technology appraisals from NICE's syndication API (guidance_no, title, pub_date, mod_date)",
          columns=("guidance_no", "title", "pub_date", "mod_date"))
def read_nice_ta_api(header: Header) -> pa.Table:
    """guidance_no → ta, title, pub_date → published, mod_date → modified (dates YYYY-MM-DD).
    The API pull has no status or URL: both are left empty."""
    f = read_small(header)
    c = column_for(f, header, ["guidance_no", "title", "pub_date", "mod_date"])
    keys = KeyCheck(header.path, ["ta"])
    out = []
    for line, r in f.rows:
        ta = _need_ta(header.path, line, f.names[c["guidance_no"]], r[c["guidance_no"]])
        keys.add((ta,), line)
        title = " ".join(need_code(header.path, line, f.names[c["title"]], r[c["title"]], "a title").split())
        out.append({"ta": ta, "title": title,
                    "published": parse_date(header.path, line, f.names[c["pub_date"]], r[c["pub_date"]], ["iso"]),
                    "modified": parse_date(header.path, line, f.names[c["mod_date"]], r[c["mod_date"]], ["iso"]),
                    "url": None, "status": None, "replaced_by": None, "source": "nice_ta_api"})
    return rows_to_table("nice_ta_list", out)


@register("nice_ta_dates", "nice_ta_list",
          "NICE TA publication dates by medicine (medicine, ta_short, pub_date)",
          columns=("medicine", "ta_short", "pub_date"))
def read_nice_ta_dates(header: Header) -> pa.Table:
    """ta_short → ta, medicine → title (the file has no title), pub_date (YYYY-MM-DD) → published."""
    f = read_small(header)
    c = column_for(f, header, ["medicine", "ta_short", "pub_date"])
    keys = KeyCheck(header.path, ["ta"])
    out = []
    for line, r in f.rows:
        ta = _need_ta(header.path, line, f.names[c["ta_short"]], r[c["ta_short"]])
        keys.add((ta,), line)
        out.append({"ta": ta, "title": need_code(header.path, line, f.names[c["medicine"]], r[c["medicine"]],
                                                 "a medicine name"),
                    "published": parse_date(header.path, line, f.names[c["pub_date"]], r[c["pub_date"]], ["iso"]),
                    "modified": None, "url": None, "status": None, "replaced_by": None, "source": "nice_ta_dates"})
    return rows_to_table("nice_ta_list", out)


# --- BNF codes ----------------------------------------------------------------------------

# canonical column → the NHSBSA header (spaces) and the underscore spelling of its open-data portal
BNF_COLUMNS = {
    "presentation_code": "BNF Presentation Code",
    "presentation": "BNF Presentation",
    "product_code": "BNF Product Code",
    "product": "BNF Product",
    "chemical_code": "BNF Chemical Substance Code",
    "chemical": "BNF Chemical Substance",
    "paragraph_code": "BNF Paragraph Code",
    "paragraph": "BNF Paragraph",
    "section_code": "BNF Section Code",
    "section": "BNF Section",
    "chapter_code": "BNF Chapter Code",
    "chapter": "BNF Chapter",
}
BNF_ALIASES = {k: [v, v.replace(" ", "_")] for k, v in BNF_COLUMNS.items()}


@register("bnf_code_information", "bnf_codes",
          "NHSBSA BNF Code Information: the BNF hierarchy for every presentation code",
          columns=(("BNF Presentation Code", "BNF_PRESENTATION_CODE"), ("BNF Chapter Code", "BNF_CHAPTER_CODE")))
def read_bnf_code_information(header: Header) -> pa.Table:
    """One row per BNF presentation code with its product, chemical, paragraph, section and
    chapter codes and names. The sub-paragraph level has no column in the canonical schema and
    is dropped (it is the paragraph code plus one digit, in the chemical code's 7th position)."""
    cols = resolve_columns(header, list(BNF_COLUMNS), BNF_ALIASES)
    con = connect()
    scan(con, header, {}, list(cols.values()))
    check_required(con, header, "raw", [cols["presentation_code"]])
    q = {k: quote_ident(v) for k, v in cols.items()}
    check_duplicates(con, header, "raw", {"presentation_code": f"trim({q['presentation_code']})"},
                     lambda r: (r[cols["presentation_code"]].strip(),))
    select = ", ".join(f"nullif(trim({q[k]}), '') AS {k}" for k in BNF_COLUMNS)
    table = query_arrow(con, f"SELECT {select}, 'bnf_code_information' AS source FROM raw")
    return table.select(dataset("bnf_codes").schema.names).cast(dataset("bnf_codes").schema)


@register("bnf_code_changes", "bnf_code_changes",
          "Retired BNF presentation codes and their replacements (old_code, new_code)",
          columns=("old_code", "new_code"))
def read_bnf_code_changes(header: Header) -> pa.Table:
    """old_code → new_code, each old code once. A code replaced by itself, or a chain of
    replacements that comes back to where it started, is refused (with the line that closes the
    loop), so that `resolve_code_changes` always ends. Codes are kept as written: a few real
    replacement codes are not 15 characters long (e.g. 09050220V0AAAAAA) and are not 'fixed'."""
    f = read_small(header)
    c = column_for(f, header, ["old_code", "new_code"])
    keys = KeyCheck(header.path, ["old_code"])
    mapping: dict[str, str] = {}
    lines: dict[str, int] = {}
    for line, r in f.rows:
        old = need_code(header.path, line, f.names[c["old_code"]], r[c["old_code"]], "a BNF code")
        new = need_code(header.path, line, f.names[c["new_code"]], r[c["new_code"]], "a BNF code")
        keys.add((old,), line)
        if old == new:
            raise InputError(header.path, f"{old} is replaced by itself; expected a different new code",
                             line=line, column=f.names[c["new_code"]])
        mapping[old] = new
        lines[old] = line
    cycle = _find_cycle(mapping)
    if cycle:
        closing = max(lines[c_] for c_ in cycle[:-1])
        raise InputError(header.path, f"code changes form a loop ({' → '.join(cycle)}); expected every chain of "
                         "replacements to end at a current code", line=closing)
    return make_table("bnf_code_changes", {"old_code": list(mapping), "new_code": list(mapping.values()),
                                           "source": ["bnf_code_changes"] * len(mapping)})


def _find_cycle(mapping: dict[str, str]) -> list[str] | None:
    done: set[str] = set()
    for start in mapping:
        path: list[str] = []
        on_path: set[str] = set()
        code = start
        while code in mapping and code not in done:
            if code in on_path:
                return path[path.index(code):] + [code]
            on_path.add(code)
            path.append(code)
            code = mapping[code]
        done.update(path)
    return None


def resolve_code_changes(table: pa.Table) -> dict[str, str]:
    """Map every retired code to the code that finally replaced it, following chains
    (A → B, B → C gives A → C and B → C). Refuses a loop (A → B → A) with an UptakeError."""
    mapping = dict(zip(table.column("old_code").to_pylist(), table.column("new_code").to_pylist()))
    cycle = _find_cycle(mapping)
    if cycle:
        raise UptakeError(f"BNF code changes form a loop ({' → '.join(cycle)}); expected every chain of "
                          "replacements to end at a current code")
    resolved: dict[str, str] = {}
    for old in mapping:
        chain = [old]
        code = mapping[old]
        while code in mapping and code not in resolved:
            chain.append(code)
            code = mapping[code]
        final = resolved.get(code, code)
        for c in chain:
            resolved[c] = final
    return resolved


# --- dm+d → BNF → ATC → DDD ---------------------------------------------------------------


@register("dmd_ddd", "dmd_ddd",
          "dm+d BNF/ATC/DDD supplementary file, flattened (VPID, BNF, ATC, DDD, DDD_UOMCD)",
          columns=("VPID", "DDD", "DDD_UOMCD"))
def read_dmd_ddd(header: Header) -> pa.Table:
    """VPID → vmp_code; BNF, ATC, DDD (a number) and DDD_UOMCD (the SNOMED code of the DDD's
    unit, e.g. 258684004 = mg) may be blank and become nulls. One row per VPID."""
    cols = resolve_columns(header, ["VPID", "BNF", "ATC", "DDD", "DDD_UOMCD"])
    con = connect()
    scan(con, header, {cols["DDD"]: "DOUBLE"}, list(cols.values()),
         what={cols["DDD"]: "the defined daily dose, a number"})
    check_required(con, header, "raw", [cols["VPID"]])
    q = {k: quote_ident(v) for k, v in cols.items()}
    check_not_negative(con, header, "raw", [cols["DDD"]], {cols["DDD"]: "a defined daily dose of zero or more"})
    check_duplicates(con, header, "raw", {"vmp_code": f"trim({q['VPID']})"}, lambda r: (r[cols["VPID"]].strip(),))
    return query_arrow(con, f"""SELECT trim({q['VPID']}) AS vmp_code, nullif(trim({q['BNF']}), '') AS bnf_code,
        nullif(trim({q['ATC']}), '') AS atc_code, {q['DDD']} AS ddd, nullif(trim({q['DDD_UOMCD']}), '') AS ddd_unit,
        'dmd_ddd' AS source FROM raw""")


@register("dmd_ddd_codelist", "dmd_ddd",
          "A dm+d VMP codelist with BNF codes and WHO DDDs (type, id, bnf_code, nm, ingredient, ddd)",
          columns=("type", "id", "bnf_code", "nm", "ddd"))
def read_dmd_ddd_codelist(header: Header) -> pa.Table:
    """Rows must be VMPs (type 'vmp'): id → vmp_code, bnf_code and ddd may be blank. The
    codelist names no ATC code and no DDD unit: both are left empty."""
    f = read_small(header)
    c = column_for(f, header, ["type", "id", "bnf_code", "ddd"])
    keys = KeyCheck(header.path, ["vmp_code"])
    out = []
    for line, r in f.rows:
        kind = r[c["type"]].strip().lower()
        if kind != "vmp":
            raise InputError(header.path, f"{r[c['type']]!r} is not 'vmp'; expected VMP rows only (this dataset "
                             "maps VMPs to DDDs)", line=line, column=f.names[c["type"]])
        vmp = need_code(header.path, line, f.names[c["id"]], r[c["id"]], "a dm+d VMP id")
        if not vmp.isdigit():
            raise InputError(header.path, f"{vmp!r} is not a dm+d id; expected digits (a SNOMED CT code)",
                             line=line, column=f.names[c["id"]])
        keys.add((vmp,), line)
        out.append({"vmp_code": vmp, "bnf_code": blank_to_none(r[c["bnf_code"]]), "atc_code": None,
                    "ddd": parse_number(header.path, line, f.names[c["ddd"]], r[c["ddd"]],
                                        what="the defined daily dose, a number"),
                    "ddd_unit": None, "source": "dmd_ddd_codelist"})
    return rows_to_table("dmd_ddd", out)
