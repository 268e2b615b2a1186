"""Where the portal's reports are kept, and the queue of reports asked for that are not made yet.

A report is never made inside a web request (it takes seconds of CPU per report, minutes on a
busy machine). The report builder (`reports.builder`, started by `uptake serve`) makes them in
the background; the portal only hands over files that exist, or queues the report and says it
is being prepared.

    <published>/reports/<stamp>/<CODE>_<YYYY-MM>_<YYYY-MM-DD>.<pdf|html>   made reports
    <published>/reports/queue/<stamp>_<CODE>_<YYYY-MM>_<YYYY-MM-DD>.<fmt>.job  asked for, not made

`<stamp>` names the publication a report was made from (services.downloads.stamp), so a new
publication starts a new folder; the folders of all but the two newest publications are removed.
The queue holds at most QUEUE_LIMIT jobs, and the made reports are bounded in number and bytes
(UPTAKE_REPORT_CACHE_FILES, UPTAKE_REPORT_CACHE_MB): the oldest are removed first, except the
reports of the current publication's default day, which the builder keeps made.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

FOLDER = "reports"
QUEUE = "queue"
FORMATS = ("pdf", "html")
QUEUE_LIMIT = 20
KEEP_PUBLICATIONS = 2


def limits() -> tuple[int, int]:
    """(files, bytes) the made reports may take."""
    files = int(os.environ.get("UPTAKE_REPORT_CACHE_FILES") or 400)
    megabytes = float(os.environ.get("UPTAKE_REPORT_CACHE_MB") or 2000)
    return files, int(megabytes * 1_000_000)


@dataclass(frozen=True, order=True)
class Key:
    """One report: an ICB's (or England's, ENG) for a month, deadlines counted to a day, in a
    format, from a publication."""

    stamp: str
    code: str
    month: str  # YYYY-MM
    day: str  # YYYY-MM-DD
    fmt: str  # pdf or html

    @property
    def name(self) -> str:
        return f"{self.code}_{self.month}_{self.day}.{self.fmt}"

    @property
    def job(self) -> str:
        return f"{self.stamp}_{self.name}.job"

    @classmethod
    def from_job(cls, name: str) -> Key | None:
        try:
            stamp, code, month, rest = name.removesuffix(".job").split("_")
            day, fmt = rest.split(".")
        except ValueError:
            return None
        return cls(stamp, code, month, day, fmt) if fmt in FORMATS else None


def root(published: Path) -> Path:
    return Path(published).parent / FOLDER


def path(published: Path, key: Key) -> Path:
    return root(published) / key.stamp / key.name


def newest_like(published: Path, key: Key, *, latest_month: bool = False) -> Path | None:
    """What is handed over while `key` is being made: the newest made report of its organisation,
    month and format (any day), in its publication, else in the newest earlier publication that
    has one — for any month when `key` is of the latest month (a new publication adds one)."""
    base = root(published)
    if not base.exists():
        return None
    others = sorted((p for p in base.iterdir() if p.is_dir() and p.name not in (QUEUE, key.stamp)), reverse=True)
    for i, folder in enumerate([base / key.stamp, *others]):
        month = "*" if i and latest_month else key.month
        found = sorted(folder.glob(f"{key.code}_{month}_*.{key.fmt}"), reverse=True)
        if found:
            return found[0]
    return None


def enqueue(published: Path, key: Key, limit: int = QUEUE_LIMIT) -> bool:
    """Ask the builder for `key`; False when the queue is full (and it is not already asked for)."""
    queue = root(published) / QUEUE
    queue.mkdir(parents=True, exist_ok=True)
    job = queue / key.job
    if job.exists():
        return True
    if sum(1 for _ in queue.glob("*.job")) >= limit:
        return False
    job.touch()
    return True


def queued(published: Path) -> list[Key]:
    """The jobs asked for, oldest first."""
    queue = root(published) / QUEUE
    if not queue.exists():
        return []
    jobs = []
    for p in queue.glob("*.job"):
        try:
            jobs.append((p.stat().st_mtime_ns, p.name))
        except FileNotFoundError:
            continue
    return [k for _, name in sorted(jobs) if (k := Key.from_job(name)) is not None]


def done(published: Path, key: Key) -> None:
    (root(published) / QUEUE / key.job).unlink(missing_ok=True)


def prune(published: Path, keep: set[Path] = frozenset()) -> list[Path]:
    """Remove the reports of all but the newest KEEP_PUBLICATIONS publications, then the oldest
    made reports (not those in `keep`) until the rest are within `limits()`. Returns what went."""
    import shutil

    base = root(published)
    if not base.exists():
        return []
    removed = []
    stamps = sorted((p for p in base.iterdir() if p.is_dir() and p.name != QUEUE), reverse=True)
    for old in stamps[KEEP_PUBLICATIONS:]:
        shutil.rmtree(old, ignore_errors=True)
        removed.append(old)
    files = []
    for folder in stamps[:KEEP_PUBLICATIONS]:
        for p in folder.iterdir():
            if p.name.startswith("."):
                continue  # being written
            try:
                st = p.stat()
            except FileNotFoundError:
                continue
            files.append((st.st_mtime_ns, st.st_size, p))
    for p in base.iterdir():  # reports kept by earlier versions, flat in the folder
        if p.is_file() and p.suffix.lstrip(".") in FORMATS:
            p.unlink(missing_ok=True)
            removed.append(p)
    max_files, max_bytes = limits()
    count, size = len(files), sum(s for _, s, _ in files)
    for _, s, p in sorted(files):
        if count <= max_files and size <= max_bytes:
            break
        if p in keep:
            continue
        p.unlink(missing_ok=True)
        removed.append(p)
        count, size = count - 1, size - s
    return removed
