"""CSV formula injection (OWASP, "CSV Injection"): a spreadsheet runs a cell that begins with
=, +, -, @, a tab or a carriage return as a formula. Every CSV that uptake writes (the portal's
downloads and API, the CLI's --format csv, funnel tables, formulary decision files) passes its text
through `cell`, which puts a single quote before such a text so that it is shown as typed and never
run. Numbers are left alone: -0.11 is a number, not a formula, and stays one."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import Any, TextIO

TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def cell(value: Any) -> Any:
    """`value` as it may go into a CSV cell: a text starting with a trigger gets a leading quote."""
    if isinstance(value, str) and value.startswith(TRIGGERS) and not _is_number(value):
        return "'" + value
    return value


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return text.strip() == text


def row(values: Iterable[Any]) -> list[Any]:
    return [cell(v) for v in values]


def writer(f: TextIO, **kwargs) -> "SafeWriter":
    """csv.writer whose rows are neutralised cell by cell."""
    return SafeWriter(csv.writer(f, **kwargs))


class SafeWriter:
    def __init__(self, inner):
        self._inner = inner

    def writerow(self, values: Iterable[Any]):
        return self._inner.writerow(row(values))

    def writerows(self, rows: Iterable[Iterable[Any]]):
        for r in rows:
            self.writerow(r)


class SafeDictWriter(csv.DictWriter):
    """csv.DictWriter whose values are neutralised (the header is ours and needs nothing)."""

    def writerow(self, rowdict):
        return super().writerow({k: cell(v) for k, v in rowdict.items()})

    def writerows(self, rowdicts):
        for r in rowdicts:
            self.writerow(r)


def sql_select(con, query: str) -> str:
    """`query` (DuckDB SQL) wrapped so that every text column is neutralised as `cell` does, for a
    COPY ... TO '...csv'."""
    columns = con.execute(f"DESCRIBE ({query})").fetchall()
    out = []
    for name, kind, *_ in columns:
        q = '"' + name.replace('"', '""') + '"'
        if kind == "VARCHAR":
            out.append(f"CASE WHEN regexp_matches({q}, '^[=+\\-@\\t\\r]') AND TRY_CAST({q} AS DOUBLE) IS NULL "
                       f"THEN '''' || {q} ELSE {q} END AS {q}")
        else:
            out.append(q)
    return f"SELECT {', '.join(out)} FROM ({query})"
