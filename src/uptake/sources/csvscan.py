"""Fast, strict CSV scanning with DuckDB, and exact locations for anything wrong.

`scan` parses a whole file (plain or gzip) into a DuckDB table in one parallel pass. Values
that do not parse (a word where a number belongs, a line with too few fields, bytes that are
not UTF-8) are caught by DuckDB's reject log, which records the line and column, and turned
into an `InputError`. Checks on parsed values (negative counts, duplicates, unknown month
formats) run as SQL over the whole table; only when one fails does `locate` re-read the file
in Python to name the first offending line.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import gzip
import math
import os
import re
import tempfile
import zlib
from concurrent.futures import ThreadPoolExecutor
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import InputError
from .base import GZIP_MAGIC, Header, open_text

# Whole numbers are parsed as DOUBLE (see `_parse`), which holds every whole number exactly up to
# 2⁵³; no count in NHS data comes near it, and above it a figure would silently change.
MAX_WHOLE = 2**53
FRIENDLY_TYPES = {"BIGINT": "a whole number", "DOUBLE": "a number", "DATE": "a date", "VARCHAR": "text"}


def query_arrow(con: duckdb.DuckDBPyConnection, sql: str) -> pa.Table:
    """The result of a query as an Arrow table (DuckDB 1.4 and 2.x spell it differently)."""
    con.execute("SELECT 1").fetchall()  # finish any result a check left open with fetchone()
    rel = con.sql(sql)
    fetch = getattr(rel, "to_arrow_table", None) or rel.arrow
    return fetch()


def connect(memory_limit: str = "1GB") -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute(f"SET memory_limit = '{memory_limit}'")
    con.execute(f"SET temp_directory = '{tempfile.gettempdir()}/uptake-duckdb-{os.getpid()}'")
    return con


def resolve_columns(header: Header, wanted: Iterable[str], aliases: dict[str, Sequence[str]] | None = None) -> dict[str, str]:
    """Map canonical names to the file's actual column names (case-insensitive, with aliases).

    Raises an InputError on line 1 naming every missing column.
    """
    by_upper = {f.upper(): f for f in header.fields}
    found: dict[str, str] = {}
    missing: list[str] = []
    for name in wanted:
        options = [name, *((aliases or {}).get(name, ()))]
        match = next((by_upper[o.upper()] for o in options if o.upper() in by_upper), None)
        if match is None:
            missing.append(name if len(options) == 1 else f"{name} (or {', '.join(options[1:])})")
        else:
            found[name] = match
    if missing:
        raise InputError(
            header.path,
            f"missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)}; "
            f"found {', '.join(header.fields)}",
            line=1,
        )
    return found


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def scan(
    con: duckdb.DuckDBPyConnection,
    header: Header,
    types: dict[str, str],
    select: Sequence[str],
    table: str = "raw",
    what: dict[str, str] | None = None,
    nulls: Sequence[str] = ("",),
    trim: Sequence[str] = (),
) -> int:
    """Parse `header.path` into table `table` holding the columns `select` (actual names).

    `types` maps actual column names to DuckDB types (others are VARCHAR). `what` says in
    words what a column holds, for error messages. Columns in `trim` (text) are stored with
    surrounding spaces removed, so that checks and the reader's result need not trim every
    value again. Returns the number of rows.
    """
    _parse(con, header, types, select, table, what, nulls, trim, arrow=False)
    return con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def scan_arrow(
    con: duckdb.DuckDBPyConnection,
    header: Header,
    types: dict[str, str],
    select: Sequence[str],
    table: str = "raw",
    what: dict[str, str] | None = None,
    nulls: Sequence[str] = ("",),
    trim: Sequence[str] = (),
) -> pa.Table:
    """`scan`, making the same checks, but returning the rows as an Arrow table, which is
    also registered on `con` under the name `table` for the checks that follow.

    For a reader whose result is the parsed columns (little changed), this saves copying
    every row into a DuckDB table and out again: the parse writes the Arrow buffers that
    the result, and the Parquet written from it, use."""
    result = _parse(con, header, types, select, table, what, nulls, trim, arrow=True)
    assert result is not None
    return result


def _parse(con: duckdb.DuckDBPyConnection, header: Header, types: dict[str, str], select: Sequence[str],
           table: str, what: dict[str, str] | None, nulls: Sequence[str], trim: Sequence[str],
           arrow: bool) -> pa.Table | None:
    # Whole-number columns are parsed as DOUBLE and checked below: DuckDB's cast to BIGINT
    # would silently round "2.5" to 3.
    whole = [f for f in header.fields if types.get(f) == "BIGINT"]
    # A blank-named column (the row index R's write.csv puts first) is given a name of its own:
    # DuckDB cannot bind an empty one, and no reader asks for it.
    columns = {(f or f"column{i + 1}"): ("DOUBLE" if f in whole else types.get(f, "VARCHAR"))
               for i, f in enumerate(header.fields)}
    if len(columns) != len(header.fields):
        dupes = sorted({f for f in header.fields if header.fields.count(f) > 1})
        raise InputError(header.path, f"repeated column name(s) {', '.join(dupes)}; expected unique names", line=1)
    projection = ", ".join(f"trim({quote_ident(c)}) AS {quote_ident(c)}" if c in trim else quote_ident(c)
                           for c in select)
    path = str(header.path).replace("'", "''")
    delim = header.delimiter.replace("'", "''")
    query = (
        f"SELECT {projection} FROM read_csv('{path}', "
        f"header = true, auto_detect = false, delim = '{delim}', quote = '\"', escape = '\"', "
        f"columns = {columns!r}, store_rejects = true, rejects_table = 'rejects_{table}', "
        f"rejects_scan = 'rejects_scan_{table}', compression = '{'gzip' if header.gzipped else 'none'}', "
        f"null_padding = false, strict_mode = true, nullstr = {list(nulls)!r})"
    )
    result = None
    # DuckDB checks the encoding only of the columns it keeps; the whole file is checked here,
    # alongside the parse, so that text that is not UTF-8 anywhere is refused with its line.
    with ThreadPoolExecutor(1) as pool:
        encoding = pool.submit(find_invalid_utf8, header)
        try:
            if arrow:
                result = query_arrow(con, query)
                con.register(table, result)
            else:
                con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS {query}")
        except duckdb.Error as exc:
            raise _translate(header, exc) from None
        if (problem := encoding.result()) is not None:
            raise problem
    first = con.execute(
        f"SELECT line, column_name, error_type, error_message, csv_line FROM rejects_{table} "
        "ORDER BY line LIMIT 1"
    ).fetchone()
    if first:
        line, column, kind, message, csv_line = first
        raise InputError(header.path, _reject_message(kind, column, message, csv_line, types, what or {}),
                         line=int(line), column=column if kind == "CAST" or "ENCODING" in kind or "UNICODE" in kind else None)
    numeric = [c for c in select if columns.get(c) == "DOUBLE"]
    check_finite(con, header, table, numeric, what or {})
    for column in (c for c in whole if c in select):
        col = quote_ident(column)
        big = con.execute(f"SELECT 1 FROM {table} WHERE abs({col}) > {MAX_WHOLE} LIMIT 1").fetchone()
        if big:
            hit = locate(header, number_where(column, lambda v: abs(v) > MAX_WHOLE))
            raw = hit.row.get(column, "").strip() if hit else "?"
            described = (what or {}).get(column, "a whole number")
            raise InputError(header.path, f"{raw!r} is too large; expected {described} no larger than "
                             f"{MAX_WHOLE:,}", line=hit.line if hit else None, column=column)
        bad = con.execute(f"SELECT {col} FROM {table} WHERE {col} <> trunc({col}) LIMIT 1").fetchall()
        if bad:
            hit = locate(header, number_where(column, lambda v: v != int(v)))
            described = (what or {}).get(column, "a whole number")
            raise InputError(header.path, f"{bad[0][0]!r} is not a whole number; expected {described}",
                             line=hit.line if hit else None, column=column)
    return result


def check_finite(con: duckdb.DuckDBPyConnection, header: Header, table: str, columns: Sequence[str],
                 what: dict[str, str]) -> None:
    """Refuse NaN and infinite values (DuckDB reads 'NaN', 'inf' and '1e400' as numbers): a
    figure in a data file is a finite number or missing."""
    if not columns:
        return
    tests = ", ".join(f"bool_or(isnan({quote_ident(c)}) OR isinf({quote_ident(c)}))" for c in columns)
    flags = con.execute(f"SELECT {tests} FROM {table}").fetchone()
    for column, bad in zip(columns, flags):
        if not bad:
            continue
        hit = locate(header, number_where(column, lambda v: not math.isfinite(v)))
        raw = hit.row.get(column, "").strip() if hit else "?"
        described = what.get(column, "a number")
        raise InputError(header.path, f"{raw!r} is not a finite number; expected {described}",
                         line=hit.line if hit else None, column=column)


def _open_bytes(header: Header):
    return gzip.open(header.path, "rb") if header.gzipped else open(header.path, "rb")


def find_invalid_utf8(header: Header, chunk: int = 1 << 24) -> InputError | None:
    """The first place where the file's bytes are not UTF-8, as an InputError naming the line
    and column, or None. Reads the (decompressed) file once, in large blocks.

    A block of ASCII bytes (almost every block of a real file) is valid UTF-8 by itself, and
    `bytes.isascii` tells so at memory speed; only other blocks go through the decoder. Lines
    are counted only once a bad byte has been found (`_utf8_error`)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset = 0  # bytes of the file before `block`
    try:
        with _open_bytes(header) as f:
            while True:
                block = f.read(chunk)
                pending = decoder.getstate()[0]  # the start of a character split between blocks
                if block and block.isascii() and not pending:
                    offset += len(block)
                    continue
                try:
                    decoder.decode(block, final=not block)
                except UnicodeDecodeError as exc:
                    return _utf8_error(header, offset - len(pending) + exc.start)
                if not block:
                    return None
                offset += len(block)
    except (EOFError, OSError, zlib.error):
        return None  # a damaged gzip is reported by the parse, with its own message


def _utf8_error(header: Header, position: int, chunk: int = 1 << 24) -> InputError:
    """The error for a byte that is not UTF-8 at `position` of the (decompressed) file: re-reads
    the file up to that line to count lines and name the column."""
    lines = 0  # newlines before the line holding `position`
    start = b""  # that line, from its beginning up to `position`
    with _open_bytes(header) as f:
        offset = 0
        while offset < position and (block := f.read(min(chunk, position - offset))):
            offset += len(block)
            lines += block.count(b"\n")
            newline = block.rfind(b"\n")
            start = block[newline + 1:] if newline >= 0 else start + block
        text = (start + f.readline()).rstrip(b"\r\n")
    column = None
    try:
        fields = next(csv.reader([text.decode("latin-1")], delimiter=header.delimiter))
        encoded = [v.encode("latin-1") for v in fields]
        bad = next((i for i, v in enumerate(encoded) if not _is_utf8(v)), None)
        if bad is None:  # the bad byte ends a field whose character continues in the next
            bad = next(i for i, v in enumerate(encoded) if not v.isascii())
        column = header.fields[bad] if bad < len(header.fields) else None
    except (StopIteration, csv.Error):
        pass
    return InputError(header.path, "text is not UTF-8; expected a UTF-8 encoded file (re-save it as UTF-8)",
                      line=lines + 1, column=column)


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _reject_message(kind: str, column: str, message: str, csv_line: str, types: dict[str, str],
                    what: dict[str, str]) -> str:
    if kind == "CAST":
        m = re.search(r'Could not convert string "(.*?)" to', message or "")
        value = m.group(1) if m else "?"
        described = what.get(column) or FRIENDLY_TYPES.get(types.get(column, ""), types.get(column, "a value"))
        return f"{value!r} is not {FRIENDLY_TYPES.get(types.get(column, ''), 'valid')}; expected {described}"
    if kind == "INVALID ENCODING" or kind == "INVALID UNICODE":
        return "text is not UTF-8; expected a UTF-8 encoded file (re-save it as UTF-8)"
    if kind in ("TOO FEW COLUMNS", "TOO MANY COLUMNS", "MISSING COLUMNS"):
        m = re.search(r"Expected Number of Columns: (\d+) Found: (\d+)", message or "")
        found = m.group(2) if m else len(next(csv.reader([(csv_line or "").strip()]), []))
        few = kind != "TOO MANY COLUMNS"
        expected = m.group(1) if m else "one per header column"
        return f"too {'few' if few else 'many'} fields ({found}); expected {expected}, one per header column"
    if kind == "UNQUOTED VALUE" or kind == "LINE SIZE OVER MAXIMUM":
        return f"malformed line ({kind.lower()}); expected a well-formed CSV line"
    return f"{kind.lower()}: {message}"


def _translate(header: Header, exc: duckdb.Error) -> InputError:
    text = str(exc)
    if "GZIP" in text.upper() or "gzip" in text:
        line = count_complete_lines(header)
        trailing = bytes_after_gzip(header.path)
        if trailing:
            return InputError(header.path, f"the compressed data is complete but followed by {trailing:,} bytes "
                              "that are not gzip data; expected the file to end with its compressed data — "
                              "download it again (or remove what was appended)", line=line)
        return InputError(header.path, "the compressed file ends early (truncated gzip); expected a complete "
                          "file — download it again", line=line)
    if "unicode" in text.lower() or "utf-8" in text.lower():
        return InputError(header.path, "text is not UTF-8; expected a UTF-8 encoded file")
    return InputError(header.path, f"cannot parse as CSV: {text.splitlines()[0]}")


def bytes_after_gzip(path, chunk: int = 1 << 20) -> int:
    """How many bytes follow the last complete gzip member of `path` that are not themselves a
    gzip member (0 when the file ends with its compressed data, or ends early inside it)."""
    size = path.stat().st_size
    with open(path, "rb") as f:
        start = 0
        while start < size:
            f.seek(start)
            if f.read(2) != GZIP_MAGIC:
                return size - start
            f.seek(start)
            d = zlib.decompressobj(zlib.MAX_WBITS | 16)
            while not d.eof:
                block = f.read(chunk)
                if not block:
                    return 0  # ends inside a member: truncated, not followed by anything
                try:
                    d.decompress(block)
                except zlib.error:
                    return 0  # damaged inside a member
            start = f.tell() - len(d.unused_data)
    return 0


def count_complete_lines(header: Header) -> int | None:
    """How far a damaged file can be read: the number of the last line read before it broke."""
    n = 0
    try:
        with open_text(header.path, encoding="latin-1") as f:
            for n, _ in enumerate(f, start=1):  # noqa: B007 (n, the last line, is read below)
                pass
    except (EOFError, OSError):
        pass
    return n or None


def number_where(column: str, test: Callable[[float], bool]) -> Callable[[dict[str, str]], bool]:
    """A `locate` predicate: the raw value of `column` is a number passing `test`."""
    def predicate(r: dict[str, str]) -> bool:
        try:
            return test(float(r.get(column) or 0))
        except ValueError:
            return False

    return predicate


@dataclass(frozen=True)
class Located:
    line: int
    row: dict[str, str]


def locate(header: Header, predicate: Callable[[dict[str, str]], bool]) -> Located | None:
    """Re-read the file and return the first line (header = 1) whose row satisfies `predicate`.

    Only used after a whole-table check has found a problem, so its speed matters little.
    """
    with open_text(header.path) as f:
        reader = csv.reader(f, delimiter=header.delimiter)
        next(reader, None)
        for fields in reader:
            row = {name: (fields[i] if i < len(fields) else "") for i, name in enumerate(header.fields)}
            if predicate(row):
                return Located(reader.line_num, row)
    return None


MONTH_SQL = """CASE
  WHEN regexp_full_match(trim({c}), '\\d{{6}}') THEN make_date(CAST(substr(trim({c}), 1, 4) AS INT), CAST(substr(trim({c}), 5, 2) AS INT), 1)
  WHEN regexp_full_match(trim({c}), '\\d{{4}}[-_/]\\d{{2}}') THEN make_date(CAST(substr(trim({c}), 1, 4) AS INT), CAST(substr(trim({c}), 6, 2) AS INT), 1)
  WHEN regexp_full_match(trim({c}), '\\d{{4}}-\\d{{2}}-01') THEN CAST(trim({c}) AS DATE)
  WHEN regexp_full_match(trim({c}), '\\d{{2}}/\\d{{2}}/\\d{{4}}') AND substr(trim({c}), 1, 2) = '01' THEN make_date(CAST(substr(trim({c}), 7, 4) AS INT), CAST(substr(trim({c}), 4, 2) AS INT), 1)
  ELSE NULL END"""

MONTH_RE = re.compile(r"^(\d{4})[-_/]?(\d{2})(?:-01)?$|^01/(\d{2})/(\d{4})$")
MONTH_FORMATS = "YYYYMM, YYYY_MM, YYYY-MM, YYYY-MM-01 or 01/MM/YYYY"


def month_sql(column: str) -> str:
    """SQL turning a month written in any accepted way into the first day of that month.

    Returns NULL for anything else (and DuckDB raises for a month number outside 1-12,
    which is caught by `check_months`)."""
    return MONTH_SQL.format(c=f"CAST({quote_ident(column)} AS VARCHAR)")


def month_dates(con: duckdb.DuckDBPyConnection, texts: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """The first day of the month each text names (texts already passed by `check_months`),
    converting each distinct text once: a monthly file has one."""
    distinct = pc.unique(texts)
    con.execute("SELECT 1").fetchall()  # finish any result a check left open with fetchone()
    con.register("__month_texts", pa.table({"text": distinct}))
    try:
        lookup = query_arrow(con, f"SELECT text, {MONTH_SQL.format(c='CAST(text AS VARCHAR)')} AS month "
                                  "FROM __month_texts")
    finally:
        con.unregister("__month_texts")
    months = lookup.column("month").combine_chunks()
    if len(texts) and lookup.num_rows == 1 and texts.null_count == 0:
        return pa.repeat(months[0], len(texts))
    return pc.take(months, pc.index_in(texts, value_set=lookup.column("text").combine_chunks()))


def valid_month_text(value: str) -> bool:
    m = MONTH_RE.match(value.strip())
    if not m:
        return False
    month = int(m.group(2) or m.group(3))
    return 1 <= month <= 12


def check_months(con: duckdb.DuckDBPyConnection, header: Header, table: str, column: str, what: str = "month") -> None:
    """Refuse the file if any value of `column` is not a month in an accepted format.

    The pattern is matched against each distinct value (a monthly file has one), not each row."""
    col = quote_ident(column)
    bad = con.execute(
        f"SELECT v FROM (SELECT DISTINCT {col} AS v FROM {table}) WHERE v IS NULL OR NOT regexp_full_match("
        r"trim(CAST(v AS VARCHAR)), '(\d{4}[-_/]?(0[1-9]|1[0-2])(-01)?)|(01/(0[1-9]|1[0-2])/\d{4})') LIMIT 1"
    ).fetchone()
    if bad is not None:
        hit = locate(header, lambda r: not valid_month_text(r.get(column, "")))
        value = hit.row.get(column, "") if hit else (bad[0] or "")  # the value on the line named
        raise InputError(
            header.path,
            f"{value!r} is not a {what}; expected {MONTH_FORMATS}",
            line=hit.line if hit else None,
            column=column,
        )
    check_not_future(con, header, table, column, what)


def this_month() -> dt.date:
    """The first day of the current month (UTC): no activity can be recorded for a later one."""
    return dt.datetime.now(dt.timezone.utc).date().replace(day=1)


def check_not_future(con: duckdb.DuckDBPyConnection, header: Header, table: str, column: str,
                     what: str = "month") -> None:
    """Refuse a month after the current one (e.g. 2099-12): a typing slip, or a file's dates
    in another convention, never activity that has happened."""
    now = this_month()
    col = quote_ident(column)
    later = con.execute(
        f"SELECT v FROM (SELECT DISTINCT {col} AS v FROM {table}) "
        f"WHERE {MONTH_SQL.format(c='CAST(v AS VARCHAR)')} > DATE '{now.isoformat()}' LIMIT 1").fetchone()
    if later is None:
        return

    def future(r: dict[str, str]) -> bool:
        m = MONTH_RE.match((r.get(column) or "").strip())
        return bool(m) and (int(m.group(1) or m.group(4)), int(m.group(2) or m.group(3))) > (now.year, now.month)

    hit = locate(header, future)
    value = hit.row.get(column, "").strip() if hit else str(later[0])
    raise InputError(header.path, f"{value!r} is a {what} in the future; expected a {what} up to "
                     f"{now:%Y-%m}, the current one", line=hit.line if hit else None, column=column)


def check_not_negative(con: duckdb.DuckDBPyConnection, header: Header, table: str, columns: Sequence[str],
                       what: dict[str, str] | None = None) -> None:
    for column in columns:
        col = quote_ident(column)
        bad = con.execute(f"SELECT {col} FROM {table} WHERE {col} < 0 LIMIT 1").fetchone()
        if bad is None:
            continue
        hit = locate(header, number_where(column, lambda v: v < 0))
        described = (what or {}).get(column, "a count of zero or more")
        raise InputError(header.path, f"{bad[0]!r} is negative; expected {described}",
                         line=hit.line if hit else None, column=column)


def check_present(con: duckdb.DuckDBPyConnection, header: Header, table: str, columns: Sequence[str],
                  what: dict[str, str] | None = None, nulls: Sequence[str] = ("",)) -> None:
    """Refuse missing values (empty, or written as one of `nulls`) in columns the dataset
    requires in every row."""
    for column in columns:
        col = quote_ident(column)
        if con.execute(f"SELECT count(*) FROM {table} WHERE {col} IS NULL").fetchone()[0] == 0:
            continue
        missing = {n.strip() for n in nulls}
        hit = locate(header, lambda r, c=column: (r.get(c) or "").strip() in missing)
        described = (what or {}).get(column, "a value in every row")
        raise InputError(header.path, f"blank value; expected {described}", line=hit.line if hit else None,
                         column=column)


def check_required(con: duckdb.DuckDBPyConnection, header: Header, table: str, columns: Sequence[str]) -> None:
    """Refuse blank values (missing, empty or only spaces) in columns that identify a row.

    A blank value sorts before '!' (it is empty or starts with a space), so each column's
    test is a range, which DuckDB answers from a table's per-block minimums or pushes down into
    an Arrow scan; only values that pass it are trimmed."""
    for column in columns:
        c = quote_ident(column)
        n = con.execute(f"SELECT count(*) FROM {table} WHERE {c} IS NULL OR ({c} < '!' AND trim({c}) = '')"
                        ).fetchone()[0]
        if n:
            hit = locate(header, lambda r, c=column: not (r.get(c) or "").strip())
            raise InputError(header.path, "blank value; expected a code in every row",
                             line=hit.line if hit else None, column=column)


def check_duplicates(con: duckdb.DuckDBPyConnection, header: Header, table: str, key_sql: dict[str, str],
                     key_raw: Callable[[dict[str, str]], tuple] | None = None) -> None:
    """Refuse the file if two rows share a key. `key_sql` maps names to SQL expressions over
    the parsed table; `key_raw` computes the same key from a raw row to locate the repeat."""
    total, distinct = con.execute(
        f"SELECT count(*), count(DISTINCT hash({', '.join(key_sql.values())})) FROM {table}").fetchone()
    if total == distinct:
        return  # no two rows share a key hash, so no two share a key
    exprs = ", ".join(f"{sql} AS {quote_ident(name)}" for name, sql in key_sql.items())
    names = ", ".join(quote_ident(n) for n in key_sql)
    dup = con.execute(
        f"SELECT {names}, count(*) AS n FROM (SELECT {exprs} FROM {table}) GROUP BY ALL HAVING count(*) > 1 LIMIT 1"
    ).fetchone()
    if dup is None:
        return
    values = dup[:-1]
    described = ", ".join(f"{n}={v}" for n, v in zip(key_sql, values))
    line = None
    if key_raw is not None:
        target = tuple(str(v) for v in values)
        seen = 0

        def second(r: dict[str, str]) -> bool:
            nonlocal seen
            if tuple(str(v) for v in key_raw(r)) == target:
                seen += 1
            return seen == 2

        hit = locate(header, second)
        line = hit.line if hit else None
    raise InputError(header.path, f"duplicate row ({described}) appears {dup[-1]} times; expected each once",
                     line=line)
