"""The `uptake` command line."""

from __future__ import annotations

import json
import os
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from .config import home_dir, warehouse_dir
from .errors import UptakeError

app = typer.Typer(no_args_is_help=True, add_completion=False,
                  help="Measure, compare and accelerate the uptake of NICE-approved medicines in England.")
catalogue_app = typer.Typer(no_args_is_help=True, help="The NICE technology appraisals uptake knows about.")
app.add_typer(catalogue_app, name="catalogue")

out = Console()
err = Console(stderr=True)

HomeOption = Annotated[Optional[Path], typer.Option("--home", help="Warehouse home (default $UPTAKE_HOME or ~/.uptake).")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
EngineOption = Annotated[str, typer.Option("--engine", help="duckdb (embedded, default) or spark (extra [spark]).")]
CurrentOption = Annotated[bool, typer.Option("--current-orgs", help="Map every month through today's organisations "
                                                                    "(default: the membership valid in each month).")]
MonthOption = Annotated[Optional[str], typer.Option("--month", help="YYYY-MM (default: the latest loaded).")]
LevelOption = Annotated[str, typer.Option("--level", help="region, icb, sub_icb, pcn or practice (scorecard: or trust).")]
FormatOption = Annotated[str, typer.Option("--format", help="table, csv or json.")]
MinItemsOption = Annotated[int, typer.Option("--min-items", min=0, max=1_000_000,
                                                        help="Suppress observed figures below this many items.")]


class State:
    home: Path | None = None


CatalogueOption = Annotated[Optional[Path], typer.Option(
    "--catalogue", help="Your own catalogue folder (technology_appraisals/, measures/, areas.yaml), merged with the "
                        "built-in one (default $UPTAKE_CATALOGUE).")]


@app.callback()
def main(home: HomeOption = None, catalogue: CatalogueOption = None) -> None:
    State.home = home
    if catalogue is not None:
        from .catalogue.user import ENV

        os.environ[ENV] = str(catalogue)  # every later load_catalogue() and load_measures() reads it


def _home(home: Path | None) -> Path:
    return home_dir(home or State.home)


def _warehouse(home: Path | None):
    from .warehouse import Warehouse

    return Warehouse(warehouse_dir(home or State.home))


def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


@contextmanager
def _errors():
    """Show an UptakeError as one line on stderr and exit 1, never a traceback."""
    try:
        yield
    except UptakeError as exc:
        err.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None


def _progress(transient: bool = True) -> Progress:
    return Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=err, transient=transient, disable=not err.is_terminal)

@contextmanager
def _analysis(home: Path | None, engine: str, current_orgs: bool):
    from .services.analysis import open_analysis

    an = open_analysis(_warehouse(home), engine, current_orgs=current_orgs)
    try:
        yield an
    finally:
        an.close()


def _fmt(v, spec: str = ",.1f") -> str:
    return "—" if v is None else format(v, spec)


def _value_spec(headline: str) -> str:
    return ".0%" if headline in ("index", "proportion") else ",.2f"


def _emit(fmt: str, as_json: bool, data: dict, rows: list[dict], show) -> None:
    """--json / --format json prints `data`; --format csv prints `rows`; otherwise `show()`."""
    if as_json or fmt == "json":
        _print_json(data)
    elif fmt == "csv":
        from . import csvsafe

        if rows:
            w = csvsafe.SafeDictWriter(sys.stdout, fieldnames=list(rows[0]), lineterminator="\n")
            w.writeheader()
            w.writerows(rows)
    elif fmt == "table":
        show()
    else:
        raise UptakeError(f"--format {fmt!r}: expected table, csv or json")



# --- ingest / status -----------------------------------------------------------------------


@app.command()
def ingest(
    files: Annotated[list[Path], typer.Argument(help="Files to load (CSV, plain or gzip).")],
    format: Annotated[Optional[str], typer.Option("--format", help="Force a format (see `uptake formats`).")] = None,
    replace: Annotated[bool, typer.Option(
        "--replace", help="Accept a load that removes much of a month, or rows of a month the file barely holds.")] = False,
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Load files into the warehouse. Each load is atomic; loading the same file twice changes nothing;
    a file replaces only the earlier rows it covers (same months, organisations and products)."""
    from .sources.formulary import is_formulary_file

    wh = _warehouse(home)
    results = []
    decisions = []  # formulary decision files go to the portal's database, not the warehouse
    with _errors(), _progress() as progress:
        task = progress.add_task("loading", total=len(files))
        for path in files:
            def stage(name: str, p: Path = path) -> None:
                progress.update(task, description=f"{p.name}: {name}")

            if format in (None, "formulary_decisions") and path.is_file() and is_formulary_file(path):
                from .cli_compliance import import_formulary

                stage("formulary decisions")
                decisions.append(import_formulary(path, home, who=f"uptake ingest {path.name}"))
            else:
                results.append(wh.load(path, format, on_stage=stage, replace=replace))
            progress.advance(task)
    if as_json:
        _print_json([r.to_dict() for r in results] + decisions)
        return
    for d in decisions:
        out.print(f"[green]loaded[/] {d['file']} (formulary decisions): {d['created']} new, {d['changed']} changed, "
                  f"{d['unchanged']} unchanged, for {d['formularies']} formularies serving {d['icbs']} ICBs")
    for r in results:
        rows = ", ".join(f"{n:,} {ds} rows" for ds, n in r.rows.items())
        if r.status == "unchanged":
            out.print(f"[yellow]unchanged[/] {r.file} ({r.format}): already loaded, nothing changed")
        else:
            parts = sum(len(p) for p in r.partitions.values())
            out.print(f"[green]loaded[/] {r.file} ({r.format}): {rows} in {parts} partition(s), {r.seconds:.1f}s")
            for gone in r.replaced:
                out.print(f"  replaced {gone['rows']:,} {gone['dataset']} rows of {gone['partition']} "
                          f"loaded from {gone['file']}")


@app.command()
def status(home: HomeOption = None, as_json: JsonOption = False) -> None:
    """What is loaded: datasets, months, rows, sources and load times."""
    with _errors():
        st = _warehouse(home).status()
    if as_json:
        _print_json(st)
        return
    if not st["datasets"]:
        out.print(f"The warehouse at {st['home']} is empty. Load files with `uptake ingest FILE` or run `uptake demo`.")
        return
    table = Table(title=f"Warehouse {st['home']} — {st['loads']} loads")
    for col in ("dataset", "partitions", "from", "to", "rows", "sources", "last loaded"):
        table.add_column(col, justify="right" if col in ("partitions", "rows") else "left")
    for name, d in st["datasets"].items():
        sources = d["sources"]
        shown = Path(sources[0]).name + (f" (+{len(sources) - 1} more)" if len(sources) > 1 else "")
        table.add_row(name, f"{d['partitions']:,}", d["first"], d["last"], f"{d['rows']:,}", shown, d["last_loaded"])
    out.print(table)


@app.command()
def formats(as_json: JsonOption = False) -> None:
    """The file formats uptake reads, and the dataset each becomes."""
    from .sources import formats as known

    rows = [{"format": f.id, "dataset": f.dataset, "also": sorted(f.extras), "description": f.description}
            for f in sorted(known().values(), key=lambda f: (f.dataset, f.id))]
    if as_json:
        _print_json(rows)
        return
    table = Table(title="Formats")
    for col in ("format", "dataset", "description"):
        table.add_column(col)
    for r in rows:
        table.add_row(r["format"], ", ".join([r["dataset"], *r["also"]]), r["description"])
    out.print(table)


# --- catalogue -----------------------------------------------------------------------------


@catalogue_app.command("list")
def catalogue_list(
    area: Annotated[Optional[str], typer.Option("--area", help="Only this clinical area.")] = None,
    as_json: JsonOption = False,
) -> None:
    """The NICE technology appraisals and the measures known, by clinical area, with where each
    came from (built-in, or your own catalogue folder)."""
    from .catalogue import load_catalogue
    from .catalogue.measures import load_measures, measure_origin

    with _errors():
        cat = load_catalogue()
        groups = cat.by_area()
        if area:
            cat.area(area)  # raises a helpful error for an unknown area
            groups = {area: groups.get(area, [])}
        measures = [m for m in load_measures() if not area or m.clinical_area == area]
    if as_json:
        _print_json({a: [ta.to_dict() | {"origin": cat.origin(ta.id)} for ta in tas] for a, tas in groups.items()}
                    | {"measures": [m.to_dict() | {"origin": measure_origin(m.id)} for m in measures]})
        return
    from .catalogue import figures

    for area_id, tas in groups.items():
        if not tas:
            continue
        table = Table(title=cat.area(area_id).name, title_justify="left")
        for col in ("TA", "published", "recommendation", "deadline", "products", "eligible", "expected", "title",
                    "origin"):
            table.add_column(col, overflow="fold")
        for ta in tas:
            table.add_row(ta.id, str(ta.published), ta.recommendation.replace("_", " "),
                          f"{ta.funding_deadline_days} days", ", ".join(p.name for p in ta.products) or "—",
                          figures.eligible_label(ta), figures.expected_label(ta),
                          ta.title + ("" if ta.verified else " [dim](unverified)[/]"), cat.origin(ta.id))
        out.print(table)
    listed = [ta for tas in groups.values() for ta in tas]
    summary = Table(title=f"Eligible population and expected uptake of {len(listed)} TAs, by source type",
                    title_justify="left")
    for col in ("figure", *figures.KINDS):
        summary.add_column(col)
    for name, row in figures.counts(listed).items():
        summary.add_row(name, *(str(row[k]) for k in figures.KINDS))
    out.print(summary)
    table = Table(title="Measures", title_justify="left")
    for col in ("measure", "area", "title", "origin"):
        table.add_column(col, overflow="fold")
    for m in measures:
        table.add_row(m.id, m.clinical_area, m.title, measure_origin(m.id))
    out.print(table)


@catalogue_app.command("show")
def catalogue_show(ta_id: Annotated[str, typer.Argument(help="e.g. TA275")], as_json: JsonOption = False) -> None:
    """Everything the catalogue holds about one technology appraisal."""
    from .catalogue import load_catalogue

    with _errors():
        ta = load_catalogue().ta(ta_id)
    if as_json:
        _print_json(ta.to_dict() | {"origin": load_catalogue().origin(ta.id)})
        return
    out.print(f"[bold]{ta.id}[/]  {ta.title}")
    out.print(f"Published {ta.published}; {ta.recommendation.replace('_', ' ')}; funding within "
              f"{ta.funding_deadline_days} days (by {ta.funding_deadline}); commissioned by {ta.commissioner}; "
              f"area: {ta.clinical_area}. {ta.url}")
    if ta.summary:
        out.print(ta.summary)
    from .catalogue import figures
    from .services.expected import why_no_expected

    pop = ta.eligible_population
    out.print(f"Eligible: {figures.eligible_label(ta)} ({pop.source})"
              + (f" Apportioned by {pop.driver}: {pop.driver_reason}" if pop.driver else ""))
    for n in (*pop.national, *ta.expected_uptake.national):
        out.print(f"  {n.count:,.0f}{' a year' if n.per_year else ''} ({n.kind}): \"{n.quote}\" — {n.source}")
    out.print(f"Expected uptake: {figures.expected_label(ta)} ({ta.expected_uptake.source})")
    for name, end in (("low", ta.expected_uptake.low), ("high", ta.expected_uptake.high)):
        if end is not None:
            out.print(f"  {name} {end.value:.3g} ({end.kind}): {end.source}")
    why = why_no_expected(ta)
    if why:
        out.print(f"[bold]No expected use:[/] {why}")
    table = Table(title="Products")
    for col in ("product", "setting", "BNF", "daily dose", "presentations"):
        table.add_column(col, overflow="fold")
    for p in ta.products:
        dose = "—" if p.ddd is None else f"{_fmt(p.ddd.value, 'g')} {p.ddd.unit} ({p.ddd.basis})"
        table.add_row(p.name, p.setting, p.bnf_chemical or "—", dose,
                      "\n".join(f"{x.bnf_code} {x.name} — {x.units_per_day:g}/day" for x in p.presentations))
    out.print(table)
    out.print(f"Verified: {'yes' if ta.verified else 'no'}; reviewed {ta.reviewed}. Sources: " + "; ".join(ta.sources))
    out.print(f"Origin: {load_catalogue().origin(ta.id)}")
    if ta.notes:
        out.print(f"Notes: {ta.notes}")


# --- national picture and demo -------------------------------------------------------------


@app.command()
def national(
    month: MonthOption = None,
    engine: EngineOption = "duckdb",
    current_orgs: CurrentOption = False,
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """England's uptake of every catalogue TA this month, and how many ICBs lag."""
    from .services.national import national_picture

    with _errors(), _analysis(home, engine, current_orgs) as an:
        picture = national_picture(an, month)
    if as_json:
        _print_json(picture.to_dict())
        return
    _show_national(picture)


def _show_national(picture) -> None:
    table = Table(title=f"NICE technology appraisals in England — {picture.month}",
                  caption="England's value is the uptake index (patients treated ÷ expected: the eligible population × "
                          "the expected share, or people expected to be treated; the range from the catalogue's sources) "
                          "where the catalogue has them, else patients per 1,000 "
                          f"registered (‰). An ICB lags when it is {picture.lag_rule}.")
    from .formats import about, people_range

    for col, justify in (("TA", "left"), ("area", "left"), ("medicine(s)", "left"), ("patients treated", "right"),
                         ("expected (range)", "right"), ("England", "right"), ("not reached (range)", "right"),
                         ("ICBs lagging", "right")):
        table.add_column(col, justify=justify, overflow="fold")
    for row in picture.rows:
        if row.value is None:
            shown = "—"
        elif row.headline == "index":
            shown = f"{row.value:.0%} of expected"
        else:
            shown = f"{row.value:,.2f}‰"
        expected = "—"
        if row.expected:
            expected = f"{about(row.expected)} ({people_range(row.expected_low, row.expected_high)})"
        gap = "—"
        if row.not_reached is not None:
            gap = (f"{about(max(row.not_reached, 0))} ({people_range(max(row.not_reached_low, 0), max(row.not_reached_high, 0))})"
                   + (f", {row.position}" if row.position else ""))
        table.add_row(row.ta, row.area.replace("_", " "), row.products[:40],
                      f"{row.patients:,.0f}" if row.patients is not None else "—", expected, shown, gap,
                      f"{row.icbs_lagging} of {row.icbs}" if row.icbs else "—")
    out.print(table)
    for note in picture.notes:
        out.print(note)


DEMO_USERS = (("editor@example.org", "uptake-demo-editor", "formulary editor of {icb}"),
              ("member@example.org", "uptake-demo-member", "member"),
              ("moderator@example.org", "uptake-demo-moderator", "moderator"),
              ("admin@example.org", "uptake-demo-admin", "administrator"))


DEMO_CHOOSERS = 12  # ICBs given example opportunity choices


def _demo_portal(home: Path | None, generated, fresh: bool, published: Path) -> dict:
    """The demo's portal content: its formulary decisions, its frozen today, example accounts
    (an editor of the first laggard ICB, an administrator) with the passwords printed, and example
    opportunity choices for a few ICBs (their top five by the spend that would change), each
    marked as an example."""
    from datetime import date

    from .cli_compliance import portal_database
    from .config import freeze_today

    today = date.fromisoformat(generated.summary["formulary_as_of"])
    freeze_today(_home(home), today)
    portal_database(home)
    from .web.accounts.users import add_user
    from .web.compliance.models import DecisionChange, Formulary
    from .web.compliance.store import import_file

    if fresh:
        Formulary.objects.all().delete()
        DecisionChange.objects.all().delete()
    decisions = import_file(generated.formulary, who="uptake demo (synthetic)").to_dict()
    from .web.opportunities.models import Choice

    if fresh:
        Choice.objects.all().delete()
    chose = _demo_choices(published)
    icb = (generated.summary.get("laggards") or ["QHM"])[0]
    users, accounts = [], {}
    for email, password, role in DEMO_USERS:
        accounts[role] = add_user(email, password, editor_of=[icb] if "editor" in role else [],
                                  admin="admin" in role, moderator="moderator" in role, check_password=False)
        users.append((email, password, role.format(icb=icb)))
    from .web.knowledge.seed import clear_examples, load_examples

    if fresh:
        clear_examples()
    knowledge = load_examples(accounts["member"], accounts["moderator"])
    from .web.impact.seed import load_examples as load_impact_examples

    knowledge.update(load_impact_examples(accounts["member"], accounts["moderator"]))
    from .web.alerts.seed import load_examples as load_alert_examples

    alerts = load_alert_examples(icb, fresh=fresh)
    return {"today": today.isoformat(), "decisions": decisions, "users": users, "opportunity_choices": chose,
            "knowledge": knowledge, "alerts": alerts}


def _demo_choices(published: Path) -> int:
    from .services import opportunities as so
    from .services.published import Published
    from .web.opportunities.store import choose

    with Published(published) as pub:
        views = so.all_views(pub)
        icbs = sorted(o["code"] for o in pub.organisations() if o["level"] == "icb")[::3][:DEMO_CHOOSERS]
        for icb in icbs:
            top = [r for r in so.rank_for_icb(views, icb) if r.rank is not None][:5]
            choose(icb, {r.opportunity.id: f"Example (synthetic): ranked {r.rank} of the measured opportunities "
                                           "for this ICB by the spend closing its gap would change."
                         for r in top}, who="uptake demo (example)")
    return len(icbs)


@app.command()
def demo(
    scale: Annotated[str, typer.Option(help="tiny, small or national.")] = "small",
    seed: Annotated[int, typer.Option(min=0, max=2**32 - 1, help="Random seed: the same seed gives the same NHS.")] = 42,
    start: Annotated[str, typer.Option(help="First month, YYYY-MM.")] = "2019-04",
    end: Annotated[str, typer.Option(help="Last month, YYYY-MM.")] = "2022-09",
    fresh: Annotated[bool, typer.Option(help="Empty the warehouse first.")] = True,
    boundaries: Annotated[Optional[Path], typer.Option(
        help="GeoJSON boundaries for the portal's maps (e.g. ../shared/data/geo/sub_icb_locations_2022_buc.geojson).")] = None,
    serve: Annotated[bool, typer.Option(help="Then serve the portal on http://127.0.0.1:8000.")] = False,
    public_data: Annotated[Optional[Path], typer.Option(
        "--public-data", help="Also load the real recorded trials and postcode lookup from this folder "
        "(../shared/data) for the public pages, marked there as a sample.")] = None,
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Generate a synthetic NHS, load it through the official-format readers, show England's picture,
    publish the scorecard for the portal (and serve it with --serve)."""
    from .services.national import national_picture
    from .sources.synthetic import generate

    wh = _warehouse(home)
    files_dir = _home(home) / "demo-files"
    with _errors():
        if fresh:
            wh.clear()
        with _progress() as progress:
            tasks: dict[str, int] = {}

            def on_progress(stage: str, done: int, total: int) -> None:
                if stage not in tasks:
                    tasks[stage] = progress.add_task(f"generating {stage}", total=total)
                progress.update(tasks[stage], completed=done, total=total)

            generated = generate(files_dir, scale=scale, seed=seed, start=start, end=end, progress=on_progress)
            task = progress.add_task("loading", total=len(generated.files))
            for path in generated.files:
                progress.update(task, description=f"loading {path.name}")
                wh.load(path)
                progress.advance(task)
        public = None
        if public_data is not None:
            from .services.public_sample import load_public_sample

            public = load_public_sample(wh, public_data)
        from .services.analysis import open_analysis

        with open_analysis(wh) as an:
            picture = national_picture(an)
        from .cli_portal import publish_home

        report, maps = publish_home(home, boundaries=boundaries)
        demo_portal = _demo_portal(home, generated, fresh, report.path)
    if as_json:
        _print_json({"generated": generated.summary, "national": picture.to_dict(), "published": report.to_dict(),
                     "maps": maps, "portal": demo_portal, "public_sample": public})
    else:
        s = generated.summary
        out.print(f"Synthetic NHS (seed {seed}, scale {scale}): {s.get('regions')} regions, {s.get('icbs')} ICBs, "
                  f"{s.get('sub_icbs')} sub-ICB locations, {s.get('pcns')} PCNs, {s.get('practices')} practices; "
                  f"loaded into {wh.root}")
        _show_national(picture)
        out.print(f"Published the scorecard for the portal: {report.path}")
        d = demo_portal
        out.print(f"Formulary decisions: {d['decisions']['created']:,} loaded for {d['decisions']['formularies']} "
                  f"formularies; the demo's today is {d['today']} (its data's end), so deadlines count to that day")
        out.print(f"Example opportunity choices (marked as examples) for {d['opportunity_choices']} ICBs")
        k = d["knowledge"]
        out.print(f"Example implementation knowledge (marked as examples): {k['case_studies']} case studies, "
                  f"{k['guides']} guides, {k['wiki']} wiki pages, {k['barriers']} barriers, {k['threads']} discussions")
        a = d["alerts"]
        out.print(f"Example alert subscriptions: {a['subscriptions']} for {a['people']} of these accounts; "
                  "`uptake alerts send` e-mails their digests (to <home>/outbox unless UPTAKE_SMTP_HOST is set)")
        if public:
            out.print(f"Public pages (/my-area/): {public['rows'].get('postcodes', 0):,} postcodes and "
                      f"{public['rows'].get('trials', 0):,} real recorded trials (marked as a sample)")
        for email, password, role in d["users"]:
            out.print(f"Example account: {email} / {password} ({role})")
    if serve:
        from .cli_portal import serve as serve_portal

        serve_portal(home=home)


from . import cli_analysis  # noqa: E402,F401  (registers scorecard, profile, variation, diffusion, funnel, peers, impact)
from . import cli_portal  # noqa: E402,F401  (registers publish, serve)
from . import cli_compliance  # noqa: E402,F401  (registers compliance, user)
from . import cli_alerts  # noqa: E402,F401  (registers alerts send, subscribe, list, log)
from . import cli_fetch  # noqa: E402,F401  (registers fetch, update)
from . import cli_ops  # noqa: E402,F401  (registers backup, restore, migrate)
from . import cli_reports  # noqa: E402,F401  (registers report)

if __name__ == "__main__":  # pragma: no cover
    app()
