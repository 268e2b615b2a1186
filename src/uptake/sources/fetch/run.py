"""Fetch and load: for each item of a plan, download (resumable, verified), unpack and check its
columns, then load through the same readers and atomic loads as `uptake ingest`.

Downloads live under ``$UPTAKE_HOME/downloads`` (or ``--downloads``)::

    fetched.json                       what was fetched: the publisher's description, the files loaded
    lock                               held by the one process downloading here
    <source>/<period>/<file>           e.g. epd/2024-01/epd_202401.csv (removed once loaded, unless --keep)
    <source>/<period>/<file>.part      an interrupted download, continued by the next run

Items of a source are taken in order and the source stops at its first failure, so that a
month that failed is not passed over by a later month's load (`uptake update` starts after the
latest month loaded).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from ...errors import UptakeError
from ...fsutil import exclusive
from ...warehouse import Warehouse, load_is_current
from .check import Ready, prepare, remove
from .errors import Busy
from .http import Http
from .plan import Loaded, Record, Step, plan_periods, plan_update, same_remote
from .publishers import SOURCES, Context, Item, Source
from .settings import FetchSettings

UPDATE_ORDER = ("ods", "epd", "scmd", "list-sizes", "qof")


@dataclass
class Outcome:
    source: str
    period: str
    name: str
    action: str  # loaded | unchanged | not_modified | up_to_date | downloaded | failed
    url: str | None = None
    reason: str = ""
    bytes: int = 0
    resumed_from: int = 0
    files: list[dict] = field(default_factory=list)  # per file: path, format, status, rows, partitions
    notes: list[str] = field(default_factory=list)
    error: str | None = None

    def to_dict(self) -> dict:
        return dict(self.__dict__)

    @property
    def changed(self) -> bool:
        return self.action == "loaded"


class Reporter:
    """What a run tells its user; the CLI shows it with Rich. Every method may be a no-op."""

    def listing(self, src: Source) -> None: ...

    def begin(self, item: Item, reason: str) -> None: ...

    def progress(self, done: int, total: int | None) -> None: ...

    def stage(self, text: str) -> None: ...

    def end(self, outcome: Outcome) -> None: ...


class Fetcher:
    def __init__(self, home: Path, settings: FetchSettings | None = None, *, http: Http | None = None,
                 downloads: Path | None = None, reporter: Reporter | None = None, keep: bool = False,
                 warehouse: Warehouse | None = None) -> None:
        self.home = Path(home)
        self.settings = settings or FetchSettings.load(self.home)
        self.http = http or Http(self.settings)
        self.ctx = Context(self.settings, self.http)
        self.downloads = Path(downloads) if downloads else self.home / "downloads"
        self.warehouse = warehouse or Warehouse(self.home / "warehouse")
        self.reporter = reporter or Reporter()
        self.keep = keep
        self.record = Record(self.downloads / "fetched.json")

    # --- listing and planning ----------------------------------------------------------------

    def items(self, src: Source) -> list[Item]:
        self.reporter.listing(src)
        return src.lister(self.ctx)

    def loaded(self) -> Loaded:
        return Loaded(self.warehouse.state(), load_is_current)

    def plan(self, src: Source, periods: list[str] | None = None, force: bool = False) -> list[Step]:
        return plan_periods(src, self.items(src), periods, self.loaded(), self.record, force)

    def plan_update(self, src: Source, since: str | None = None) -> list[Step]:
        return plan_update(src, self.items(src), self.loaded(), self.record, since)

    def status(self, src: Source) -> list[dict]:
        """Every item the publisher lists, and whether it is loaded (`uptake fetch SOURCE --list`)."""
        loaded = self.loaded()
        rows = []
        for item in self.items(src):
            entry = self.record.get(item.key)
            if entry is not None and (files := entry.get("files")):
                state = ("loaded" if all(loaded.current(f.get("sha256")) for f in files) else "replaced since")
                if state == "loaded" and not same_remote(item, entry):
                    state = "revised by the publisher"
            elif src.period != "current" and loaded.has(src.dataset, item.period):
                state = "loaded from elsewhere"
            else:
                state = "not loaded"
            rows.append({**item.to_dict(), "state": state})
        return rows

    # --- running ------------------------------------------------------------------------------

    def _locked(self):
        return exclusive(self.downloads, lambda: Busy(
            f"{self.downloads}: another uptake process is downloading here; wait for it to finish"))

    def run(self, src: Source, steps: list[Step], load: bool = True,
            outcomes: list[Outcome] | None = None) -> list[Outcome]:
        """Carry out a plan: items in order, stopping at the first that fails (raised). Each
        outcome is appended to `outcomes` as it happens (so a caller keeps those before a failure)."""
        outcomes = [] if outcomes is None else outcomes
        with self._locked():
            for step in steps:
                if step.action == "skip":
                    outcome = Outcome(step.item.source, step.item.period, step.item.name, "up_to_date",
                                      step.item.url or step.item.page, step.reason)
                    self.reporter.end(outcome)
                    outcomes.append(outcome)
                    continue
                outcome = self.fetch_item(src, step, load)
                outcomes.append(outcome)
        return outcomes

    def fetch_item(self, src: Source, step: Step, load: bool = True) -> Outcome:
        item = step.item
        self.reporter.begin(item, step.reason)
        if item.url is None and src.resolver is not None:
            self.reporter.stage("reading the publication page")
            item = src.resolver(self.ctx, item)
        assert item.url is not None
        entry = self.record.get(item.key)
        dest = self.downloads / src.id / item.period / (item.filename or "download")
        validators = {}
        if step.conditional and entry is not None:
            validators = {"etag": entry.get("etag"), "last_modified": entry.get("last_modified")}
        self.reporter.stage("downloading")
        got = self.http.download(item.url, dest, size=item.size, checksum=item.hash,
                                 progress=self.reporter.progress, **validators)
        outcome = Outcome(item.source, item.period, item.name, "downloaded", item.url, step.reason,
                          bytes=got.size, resumed_from=got.resumed_from)
        if got.status == "not_modified":
            outcome.action = "not_modified"
            self.reporter.end(outcome)
            return outcome
        self.reporter.stage("checking columns")
        ready = prepare(dest, got.sha256, src, item)
        for r in ready:
            outcome.notes.extend(r.notes)
        if not load:
            outcome.files = [_file(r) for r in ready]
            self.reporter.end(outcome)
            return outcome
        statuses = []
        for r in ready:
            def stage(name: str, r: Ready = r) -> None:
                self.reporter.stage(f"loading {r.path.name}: {name}")

            result = self.warehouse.load(r.path, r.format.id, on_stage=stage)
            statuses.append(result.status)
            outcome.files.append({**_file(r), "status": result.status, "load_id": result.load_id,
                                  "rows": result.rows, "partitions": result.partitions})
        outcome.action = "loaded" if "loaded" in statuses else "unchanged"
        self.record.put(item.key, {
            "source": item.source, "period": item.period, "name": item.name, "url": item.url, "page": item.page,
            "size": item.size, "hash": item.hash, "modified": item.modified, "kind": item.kind,
            "etag": got.etag, "last_modified": got.last_modified, "download_sha256": got.sha256,
            "download_size": got.size, "fetched_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "files": [{"path": str(r.path), "sha256": r.sha256, "format": r.format.id, "member": r.member}
                      for r in ready],
        })
        if not self.keep:
            remove(sorted({dest, *(r.path for r in ready)}))
        self.reporter.end(outcome)
        return outcome

    # --- the commands ---------------------------------------------------------------------------

    def fetch(self, source: str, periods: list[str] | None = None, *, load: bool = True,
              force: bool = False) -> list[Outcome]:
        src = SOURCES[source]
        return self.run(src, self.plan(src, periods, force), load)

    def update(self, sources: tuple[str, ...] = UPDATE_ORDER, since: str | None = None,
               on_error: Callable[[str, UptakeError], None] | None = None) -> tuple[list[Outcome], dict[str, str]]:
        """Everything new since the last load, source by source. A source that fails is reported
        (and stops there), and the others go on; returns the outcomes and the errors by source."""
        outcomes: list[Outcome] = []
        errors: dict[str, str] = {}
        for name in sources:
            src = SOURCES[name]
            try:
                steps = self.plan_update(src, since)
                self.run(src, steps, outcomes=outcomes)
            except UptakeError as exc:
                errors[name] = str(exc)
                if on_error is not None:
                    on_error(name, exc)
        return outcomes, errors


def _file(r: Ready) -> dict:
    return {"path": str(r.path), "format": r.format.id, "sha256": r.sha256, "member": r.member}
