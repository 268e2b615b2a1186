"""The fetch commands: `uptake fetch epd|scmd|ods|list-sizes|qof` and `uptake update`.

They download the publishers' files (see docs/fetching.md) and load them as `uptake ingest`
does; `uptake update` fetches everything new since the last load and then republishes the
scorecard the portal reads."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.progress import (BarColumn, DownloadColumn, Progress, SpinnerColumn, TaskID, TextColumn,
                           TimeElapsedColumn, TransferSpeedColumn)

from .cli import HomeOption, JsonOption, _errors, _home, _print_json, _warehouse, app, err, out
from .errors import UptakeError

fetch_app = typer.Typer(no_args_is_help=True, help="Download the publishers' open data and load it into the warehouse.")
app.add_typer(fetch_app, name="fetch")

MonthsOption = Annotated[Optional[str], typer.Option(
    "--months", help="Months: 2024-01..2024-12, 2024-03, or a list 2024-01,2024-03 (default: the latest published).")]
LoadOption = Annotated[bool, typer.Option("--load/--no-load", help="Load what is downloaded (default), or only "
                                                                   "download it (kept in the downloads directory).")]
KeepOption = Annotated[bool, typer.Option("--keep", help="Keep the downloaded files after loading them.")]
ForceOption = Annotated[bool, typer.Option("--force", help="Fetch and load even what is loaded and unchanged.")]
ListOption = Annotated[bool, typer.Option("--list", help="Only list what the publisher has, and what is loaded.")]
DownloadsOption = Annotated[Optional[Path], typer.Option(
    "--downloads", help="Where downloads go (default $UPTAKE_HOME/downloads).")]


class _Shown:
    """Shows a run: a Rich progress bar (bytes, speed) on stderr, and one line per item on stdout."""

    def __init__(self, bar: Progress, quiet: bool) -> None:
        self.bar = bar
        self.quiet = quiet
        self.task: TaskID | None = None
        self.label = ""

    def listing(self, src) -> None:
        self._describe(f"{src.id}: reading the publisher's listing")

    def begin(self, item, reason: str) -> None:
        self.label = f"{item.source} {item.period}"
        if self.task is not None:
            self.bar.remove_task(self.task)
        self.task = self.bar.add_task(f"{self.label}: starting", total=None)

    def progress(self, done: int, total: int | None) -> None:
        if self.task is not None:
            self.bar.update(self.task, completed=done, total=total, description=f"{self.label}: downloading")

    def stage(self, text: str) -> None:
        self._describe(f"{self.label}: {text}" if self.label else text)

    def _describe(self, text: str) -> None:
        if self.task is None:
            self.task = self.bar.add_task(text, total=None)
        else:
            self.bar.update(self.task, description=text)

    def end(self, o) -> None:
        if self.task is not None:
            self.bar.remove_task(self.task)
            self.task = None
        self.label = ""
        if self.quiet:
            return
        rows = {}
        for f in o.files:
            for ds, n in (f.get("rows") or {}).items():
                rows[ds] = rows.get(ds, 0) + n
        shown = ", ".join(f"{n:,} {ds} rows" for ds, n in rows.items())
        what = f"{o.source} {o.period} ({o.name})"
        resumed = f", resumed at {o.resumed_from:,} bytes" if o.resumed_from else ""
        if o.action == "loaded":
            formats = ", ".join(sorted({f["format"] for f in o.files}))
            out.print(f"[green]loaded[/] {what}: {o.bytes:,} bytes downloaded{resumed}, {shown} ({formats})",
                      highlight=False, soft_wrap=True)
        elif o.action == "unchanged":
            out.print(f"[yellow]unchanged[/] {what}: downloaded, the same bytes are already loaded",
                      highlight=False, soft_wrap=True)
        elif o.action == "not_modified":
            out.print(f"[yellow]not modified[/] {what}: the publisher's file has not changed since it was loaded",
                      highlight=False, soft_wrap=True)
        elif o.action == "up_to_date":
            out.print(f"[yellow]up to date[/] {what}: {o.reason}", highlight=False, soft_wrap=True)
        elif o.action == "downloaded":
            paths = ", ".join(f["path"] for f in o.files)
            out.print(f"[green]downloaded[/] {what}: {o.bytes:,} bytes{resumed} → {paths} (not loaded)",
                      highlight=False, soft_wrap=True)
        for note in o.notes:
            err.print(f"[yellow]note:[/] {note}", highlight=False, soft_wrap=True)


def _progress() -> Progress:
    return Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
                    TransferSpeedColumn(), TimeElapsedColumn(), console=err, transient=True,
                    disable=not err.is_terminal)


def _fetcher(home: Path | None, downloads: Path | None, reporter, keep: bool):
    from .sources.fetch import Fetcher, FetchSettings

    root = _home(home)
    return Fetcher(root, FetchSettings.load(root), downloads=downloads, reporter=reporter, keep=keep,
                   warehouse=_warehouse(home))


def _run(source: str, periods_text: Optional[str], kind: str, *, home, downloads, load, keep, force, list_only,
         as_json) -> None:
    from .sources.fetch import SOURCES
    from .sources.fetch.plan import parse_periods

    with _errors(), _progress() as progress:
        shown = _Shown(progress, quiet=as_json)
        fetcher = _fetcher(home, downloads, shown, keep)
        src = SOURCES[source]
        if list_only:
            rows = fetcher.status(src)
            progress.stop()
            _show_listing(src, rows, as_json)
            return
        periods = parse_periods(periods_text, kind) if periods_text else None
        outcomes = fetcher.run(src, fetcher.plan(src, periods, force), load)
    if as_json:
        _print_json([o.to_dict() for o in outcomes])


def _show_listing(src, rows: list[dict], as_json: bool) -> None:
    if as_json:
        _print_json(rows)
        return
    from rich.table import Table

    table = Table(title=f"{src.title} — {src.describe}", title_justify="left")
    for col in ("period", "name", "size", "state", "url"):
        table.add_column(col, justify="right" if col == "size" else "left", overflow="fold")
    for r in rows:
        table.add_row(r["period"], r["name"], f"{r['size']:,}" if r.get("size") else "—", r["state"],
                      r.get("url") or r.get("page") or "")
    out.print(table)


@fetch_app.command("epd")
def fetch_epd(
    months: MonthsOption = None,
    load: LoadOption = True,
    keep: KeepOption = False,
    force: ForceOption = False,
    list_only: ListOption = False,
    downloads: DownloadsOption = None,
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """English Prescribing Dataset months from the NHSBSA Open Data Portal ($UPTAKE_NHSBSA_URL)."""
    _run("epd", months, "month", home=home, downloads=downloads, load=load, keep=keep, force=force,
         list_only=list_only, as_json=as_json)


@fetch_app.command("scmd")
def fetch_scmd(
    months: MonthsOption = None,
    load: LoadOption = True,
    keep: KeepOption = False,
    force: ForceOption = False,
    list_only: ListOption = False,
    downloads: DownloadsOption = None,
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Secondary Care Medicines Data months from the NHSBSA Open Data Portal (final data where published)."""
    _run("scmd", months, "month", home=home, downloads=downloads, load=load, keep=keep, force=force,
         list_only=list_only, as_json=as_json)


@fetch_app.command("list-sizes")
def fetch_list_sizes(
    months: MonthsOption = None,
    load: LoadOption = True,
    keep: KeepOption = False,
    force: ForceOption = False,
    list_only: ListOption = False,
    downloads: DownloadsOption = None,
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Patients registered at a GP practice, by month, from NHS England's publications ($UPTAKE_NHSE_URL)."""
    _run("list-sizes", months, "month", home=home, downloads=downloads, load=load, keep=keep, force=force,
         list_only=list_only, as_json=as_json)


@fetch_app.command("qof")
def fetch_qof(
    year: Annotated[Optional[str], typer.Option(
        "--year", help="Financial years: 2023-24, 2021-22..2023-24 or a list (default: the latest published).")] = None,
    load: LoadOption = True,
    keep: KeepOption = False,
    force: ForceOption = False,
    list_only: ListOption = False,
    downloads: DownloadsOption = None,
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """QOF disease registers for a financial year from NHS England's publications ($UPTAKE_NHSE_URL)."""
    _run("qof", year, "year", home=home, downloads=downloads, load=load, keep=keep, force=force,
         list_only=list_only, as_json=as_json)


@fetch_app.command("ods")
def fetch_ods(
    load: LoadOption = True,
    keep: KeepOption = False,
    force: ForceOption = False,
    list_only: ListOption = False,
    downloads: DownloadsOption = None,
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """The current ODS GP practice file (epraccur) from ODS Data Search and Export ($UPTAKE_ODS_URL)."""
    _run("ods", None, "current", home=home, downloads=downloads, load=load, keep=keep, force=force,
         list_only=list_only, as_json=as_json)


@fetch_app.command("trials")
def fetch_trials(
    condition: Annotated[Optional[str], typer.Option(
        "--condition", help="Only these condition groups (comma-separated, e.g. atrial_fibrillation); "
        "default: every group of the catalogue's trial_conditions.yaml.")] = None,
    load: LoadOption = True,
    keep: KeepOption = False,
    downloads: DownloadsOption = None,
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Trials recruiting in the UK for each TA's condition, from ClinicalTrials.gov ($UPTAKE_CTGOV_URL),
    page by page; an interrupted run continues from the page it reached."""
    from .sources.fetch import FetchSettings, Http
    from .sources.fetch.trials import fetch_trials as run

    with _errors():
        root = _home(home)
        settings = FetchSettings.load(root)
        say = (lambda g, n, k: None) if as_json else (lambda g, n, k: err.print(f"{g}: page {n}, {k} studies"))
        outcomes = run(Http(settings), settings.ctgov_url, downloads or root / "downloads",
                       _warehouse(home).load if load else None,
                       groups=[g.strip() for g in condition.split(",") if g.strip()] if condition else None,
                       keep=keep or not load, on_page=say)
    if as_json:
        _print_json([o.to_dict() for o in outcomes])
        return
    for o in outcomes:
        resumed = f", continued from page {o.resumed_from + 1}" if o.resumed_from else ""
        action = "loaded" if o.loaded else "fetched"
        out.print(f"{action} trials {o.group}: {o.studies} studies in {o.pages} pages{resumed}")


@app.command("update")
def update(
    since: Annotated[Optional[str], typer.Option(
        "--since", help="Also fetch every period from this month (YYYY-MM) that is not loaded; for a source "
                        "with nothing loaded, start here instead of at the latest published.")] = None,
    only: Annotated[Optional[str], typer.Option(
        "--only", help="Only these sources, comma-separated (ods, epd, scmd, list-sizes, qof).")] = None,
    publish: Annotated[bool, typer.Option(
        "--publish/--no-publish", help="Rebuild the scorecard tables when anything new was loaded (default).")] = True,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only say what would be fetched.")] = False,
    keep: KeepOption = False,
    downloads: DownloadsOption = None,
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Fetch everything published since the last load (ODS, EPD, SCMD, list sizes, QOF), load it, then
    rebuild the scorecard tables the portal reads. Exits 1 if any source failed (the others still run)."""
    from .sources.fetch import SOURCES, UPDATE_ORDER
    from .sources.fetch.plan import parse_month

    with _errors():
        sources = UPDATE_ORDER
        if only:
            sources = tuple(s.strip() for s in only.split(",") if s.strip())
            unknown = [s for s in sources if s not in SOURCES]
            if unknown:
                raise UptakeError(f"--only {only}: unknown source(s) {', '.join(unknown)}; expected some of "
                                  f"{', '.join(UPDATE_ORDER)}")
        if since:
            since = parse_month(since)
    failed: dict[str, str] = {}
    published = None
    with _errors(), _progress() as progress:
        shown = _Shown(progress, quiet=as_json)
        fetcher = _fetcher(home, downloads, shown, keep)
        if dry_run:
            plan = []
            for name in sources:
                try:
                    plan.extend(s.to_dict() for s in fetcher.plan_update(SOURCES[name], since))
                except UptakeError as exc:
                    failed[name] = str(exc)
            progress.stop()
            _show_plan(plan, failed, as_json)
            if failed:
                raise typer.Exit(1)
            return

        def on_error(name: str, exc: UptakeError) -> None:
            if not as_json:
                err.print(f"[bold red]error:[/] {name}: {exc}", highlight=False, soft_wrap=True)

        outcomes, failed = fetcher.update(sources, since, on_error=on_error)
        loaded = [o for o in outcomes if o.changed]
        nothing_to_publish = not fetcher.loaded().partitions.get("prescribing")
        if loaded and publish and not nothing_to_publish:
            from .cli_portal import publish_home

            shown.stage("rebuilding the scorecard tables")
            report, _maps = publish_home(home)
            published = report.to_dict()
    if as_json:
        _print_json({"outcomes": [o.to_dict() for o in outcomes], "errors": failed, "published": published})
    else:
        if published:
            out.print(f"Published the scorecard: {published['ta_rows']:,} TA rows for {published['months']} months "
                      f"({published['first_month']} to {published['last_month']}) → {published['path']}",
                      highlight=False, soft_wrap=True)
        elif not loaded:
            out.print("Nothing new was loaded" + (" (some sources failed)" if failed else "")
                      + "; the published scorecard is unchanged.", soft_wrap=True)
        elif nothing_to_publish:
            out.print("Loaded new data; no prescribing is loaded yet, so there is no scorecard to publish.",
                      soft_wrap=True)
        else:
            out.print("Loaded new data; the scorecard was not rebuilt (--no-publish): run `uptake publish`.")
    if failed:
        raise typer.Exit(1)


def _show_plan(plan: list[dict], failed: dict[str, str], as_json: bool) -> None:
    if as_json:
        _print_json({"plan": plan, "errors": failed})
        return
    if not plan:
        out.print("Nothing new to fetch.")
    for step in plan:
        out.print(f"{step['action']} {step['source']} {step['period']} ({step['name']}): {step['reason']}",
                  highlight=False, soft_wrap=True)
    for name, message in failed.items():
        err.print(f"[bold red]error:[/] {name}: {message}", highlight=False, soft_wrap=True)
