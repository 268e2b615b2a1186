"""The full downloads of a publication: the whole TA scorecard (every TA × level × month) as CSV
and as Parquet, with small counts hidden as on the pages. They are written when the scorecard is
published (before the new publication is swapped in), never while someone waits for a page.

They live in `<published>/downloads/` as `scorecard_<stamp>.<fmt>`, named after the publication
they were made from. Each is written to a temporary file and renamed, so a reader sees a whole
file or none; the files of the publication before the current one are kept, so a download that
started just before a new publication still finds its file, and older ones are removed.
"""

from __future__ import annotations

import re
from pathlib import Path

import duckdb

from ..fsutil import atomic_file
from .scorecard import DEFAULT_MIN_ITEMS, SUPPRESSIBLE

FORMATS = {"csv": "(HEADER, DELIMITER ',')", "parquet": "(FORMAT PARQUET, COMPRESSION ZSTD)"}
FOLDER = "downloads"
KEEP = 2  # publications whose files are kept: the current one and the one before


def stamp(published_at: str) -> str:
    """A publication's time as a file-name part: '2024-03-01T03:41:12+00:00' → '20240301T0341120000'."""
    return re.sub(r"[^0-9A-Za-z]", "", published_at)


def folder(published: Path) -> Path:
    return Path(published).parent / FOLDER


def scorecard_file(published: Path, published_at: str, fmt: str) -> Path:
    return folder(published) / f"scorecard_{stamp(published_at)}.{fmt}"


def suppressed_sql(con: duckdb.DuckDBPyConnection) -> str:
    """Every published TA row with figures from 1–4 items hidden, as on the pages (England never)."""
    small = f"(level <> 'england' AND items > 0 AND items < {DEFAULT_MIN_ITEMS})"
    columns = [r[0] for r in con.execute("DESCRIBE ta_scorecard").fetchall()]
    hidden = (*SUPPRESSIBLE, "treatment_days")  # treatment_days ÷ days in the month is `patients`
    select = [f"CASE WHEN {small} THEN NULL ELSE {c} END AS {c}" if c in hidden else c for c in columns]
    return (f"SELECT {', '.join(select)}, {small} AS suppressed FROM ta_scorecard "
            "ORDER BY ta, level, month, org")


def write_scorecards(con: duckdb.DuckDBPyConnection, published: Path, published_at: str) -> list[Path]:
    """Write the scorecard downloads of the publication open in `con` (which will be, or is, at
    `published`) for every format, each atomically. Returns the files."""
    folder(published).mkdir(parents=True, exist_ok=True)
    written = []
    for fmt, options in FORMATS.items():
        target = scorecard_file(published, published_at, fmt)
        with atomic_file(target) as tmp:
            con.execute(f"COPY ({suppressed_sql(con)}) TO '{tmp}' {options}")
        written.append(target)
    return written


def current_or_previous(published: Path, published_at: str, fmt: str) -> Path | None:
    """The download of the current publication, else the newest one kept (a new publication's is
    being written), else None."""
    target = scorecard_file(published, published_at, fmt)
    if target.exists():
        return target
    kept = sorted(folder(published).glob(f"scorecard_*.{fmt}"), reverse=True)
    return kept[0] if kept else None


def prune(published: Path) -> list[Path]:
    """Remove the downloads of all but the newest KEEP publications (stamps sort by time)."""
    removed = []
    for fmt in FORMATS:
        for old in sorted(folder(published).glob(f"scorecard_*.{fmt}"), reverse=True)[KEEP:]:
            old.unlink(missing_ok=True)
            removed.append(old)
    return removed
