"""The analysis commands: scorecard, profile, variation, diffusion, runchart, official and funnel
(registered on
`uptake.cli.app`; the shared options and helpers live there)."""

from __future__ import annotations

import math
import os
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich import box
from rich.table import Table

from .cli import (
    CurrentOption,
    EngineOption,
    FormatOption,
    HomeOption,
    JsonOption,
    LevelOption,
    MinItemsOption,
    MonthOption,
    _analysis,
    _emit,
    _home,
    _errors,
    _fmt,
    _print_json,
    _value_spec,
    app,
    out,
)
from .errors import UptakeError

SPARK_BARS = "▁▂▃▄▅▆▇█"


def _sparkline(values) -> str:
    v = [x for x in values if x is not None]
    if not v:
        return ""
    lo, hi = min(v), max(v)
    return "".join(" " if x is None else SPARK_BARS[int((x - lo) / (hi - lo) * 7) if hi > lo else 3] for x in values)


# --- scorecard -------------------------------------------------------------------------------


@app.command()
def scorecard(
    subject: Annotated[Optional[str], typer.Argument(help="A TA (e.g. TA275) or a measure id (e.g. doac_share).")] = None,
    area: Annotated[Optional[str], typer.Option("--area", help="Every TA of a clinical area instead of one.")] = None,
    level: LevelOption = "icb",
    month: MonthOption = None,
    fmt: FormatOption = "table",
    min_items: MinItemsOption = 5,
    engine: EngineOption = "duckdb",
    current_orgs: CurrentOption = False,
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Every organisation of a level for a TA or measure: value, England, percentile, funnel flags."""
    from .services.scorecard import scorecard as build

    with _errors():
        if (subject is None) == (area is None):
            raise UptakeError("name a TA or measure (e.g. TA275), or give --area (e.g. --area stroke)")
        with _analysis(home, engine, current_orgs) as an:
            if subject:
                subjects = [subject]
            else:
                subjects = [t.id for t in an.catalogue.by_area().get(an.catalogue.area(area).id, [])]
            cards = [build(an, s, level, month, min_items) for s in subjects]
    rows = [{"subject": c.subject, **asdict(r)} for c in cards for r in ([c.england] if c.england else []) + c.rows]
    data = cards[0].to_dict() if subject else {"area": area, "scorecards": [c.to_dict() for c in cards]}
    _emit(fmt, as_json, data, rows, lambda: [_show_scorecard(c) for c in cards])


def _show_scorecard(card) -> None:
    spec = _value_spec(card.headline)
    table = Table(title=f"{card.subject} — {card.title}", title_justify="left",
                  caption=f"{card.level} · {card.month} · ranked on {card.headline_label} · {card.membership} · "
                          f"engine {card.engine}; figures from fewer than {card.min_items} items are suppressed (*)")
    everyone = ([card.england] if card.england else []) + card.rows
    hospital = any(r.secondary_patients is not None for r in everyone)
    table.add_column("organisation", max_width=38, no_wrap=True, overflow="ellipsis")
    for col in ("code", "value", "percentile", "items", "patients", *(("in hospital",) if hospital else ()),
                "expected (range)", "vs range", "funnel 99.8%", "adjusted"):
        table.add_column(col, justify="left" if col in ("code", "funnel 99.8%", "adjusted", "vs range") else "right")
    for r in everyone:
        hidden = r.suppressed
        expected = "—" if r.expected is None else \
            f"{_fmt(r.expected, ',.0f')} ({_fmt(r.expected_low, ',.0f')}–{_fmt(r.expected_high, ',.0f')})"
        table.add_row(r.name or "", r.org, "*" if hidden else _fmt(r.value, spec), _fmt(r.percentile, ".0f"),
                      "*" if hidden else _fmt(r.items if card.kind == "ta" else r.numerator, ",.0f"),
                      "*" if hidden else _fmt(r.patients, ",.0f"),
                      *((_fmt(r.secondary_patients, ",.0f"),) if hospital else ()), expected,
                      "*" if hidden else (r.position or ""),
                      r.flag_998 or "", r.flag_998_od or "", style="bold" if r.org == "ENG" else None)
    out.print(table)
    if card.expected_use and card.expected_use.get("why_none"):
        out.print(f"No expected use: {card.expected_use['why_none']}")
    elif card.england:
        from .services.expected import not_reached_sentence

        gap = not_reached_sentence("England", card.subject, asdict(card.england))
        if gap:
            out.print(gap)
    if card.funnel:
        f = card.funnel
        out.print(f"Funnel ({f.kind}): {f.areas} organisations; outside 99.8% limits: {f.outside_998_low} low, "
                  f"{f.outside_998_high} high; with overdispersion (φ={_fmt(f.phi, '.2f')}, τ²={_fmt(f.tau2, '.3g')}): "
                  f"{f.outside_998_low_od} low, {f.outside_998_high_od} high.")
    if card.deciles:
        out.print("Deciles: " + "  ".join(f"{k}: {format(v, spec)}" for k, v in card.deciles.items()))
    for note in card.notes:
        out.print(f"[dim]{note}[/]")


# --- profile ---------------------------------------------------------------------------------


@app.command()
def profile(
    org: Annotated[str, typer.Argument(help="An ODS code: region, ICB, sub-ICB, PCN or practice (e.g. QHM).")],
    month: MonthOption = None,
    fmt: FormatOption = "table",
    min_items: MinItemsOption = 5,
    engine: EngineOption = "duckdb",
    current_orgs: CurrentOption = False,
    home: HomeOption = None,
    as_json: JsonOption = False,
    with_peers: Annotated[bool, typer.Option(
        "--peers", help="Add each TA's median among the organisation's peers and its rank among them.")] = False,
) -> None:
    """One organisation against England and its peers for every catalogue TA."""
    from .services.scorecard import profile as build

    with _errors(), _analysis(home, engine, current_orgs) as an:
        p = build(an, org, month, min_items)
        vs = _peer_rows(an, p, min_items) if with_peers else None
    rows = [{k: v for k, v in asdict(r).items() if k != "trend"} for r in p.rows]
    data = p.to_dict()
    if vs is not None:
        data["peers"] = {"peers": vs[0], "by_ta": {ta: r.to_dict() for ta, r in vs[1].items()}}
        for r in rows:
            pr = vs[1].get(r["ta"])
            r.update(peer_median=pr.peer_median if pr else None, peer_rank=pr.rank if pr else None,
                     peers_ranked=pr.of if pr else None)
    _emit(fmt, as_json, data, rows, lambda: _show_profile(p, vs))


def _peer_rows(an, p, min_items: int):
    from .services.analysis import parse_month
    from .services.peer_compare import peer_rows
    from .services.peers import peers_of

    peers = [x.peer for x in peers_of(an, p.org, p.level)]
    return peers, peer_rows(an, p.org, p.level, parse_month(p.month), [r.ta for r in p.rows], min_items)


def _show_profile(p, vs=None) -> None:
    parent = f"; part of {p.parent['name'] or p.parent['org']} ({p.parent['org']})" if p.parent else ""
    out.print(f"[bold]{p.name or p.org}[/] ({p.org}, {p.level}) — {p.month}{parent}. {p.membership}; engine {p.engine}.")
    if vs is not None:
        out.print(f"Peers: {', '.join(vs[0])}" if vs[0] else "Peers: none computed for this organisation "
                  "(see `uptake peers`)")
    table = Table()
    cols = [("area", "left"), ("TA", "left"), ("medicine", "left"), ("value", "right"), ("England", "right"),
            ("percentile", "right"), ("funnel (adjusted)", "left"), ("last 12 months", "left")]
    if vs is not None:
        cols[5:5] = [("peer median", "right"), ("rank in peers", "right")]
    for col, justify in cols:
        table.add_column(col, justify=justify)
    for r in p.rows:
        spec = _value_spec(r.headline)
        cells = [r.area.replace("_", " "), r.ta, r.title.split(" for ")[0][:32],
                 "*" if r.suppressed else _fmt(r.value, spec), _fmt(r.england_value, spec),
                 _fmt(r.percentile, ".0f"), r.flag_998_od or "", _sparkline(r.trend)]
        if vs is not None:
            pr = vs[1].get(r.ta)
            cells[5:5] = [_fmt(pr.peer_median if pr else None, spec),
                          f"{pr.rank} of {pr.of}" if pr and pr.rank else "—"]
        table.add_row(*cells)
    out.print(table)


# --- variation -------------------------------------------------------------------------------


@app.command()
def variation(
    subject: Annotated[str, typer.Argument(help="A TA (e.g. TA275) or a measure id.")],
    level: LevelOption = "sub_icb",
    month: MonthOption = None,
    trim: Annotated[float, typer.Option("--trim", help="Share excluded at each extreme for the trimmed range.")] = 0.05,
    fmt: FormatOption = "table",
    min_items: MinItemsOption = 5,
    engine: EngineOption = "duckdb",
    current_orgs: CurrentOption = False,
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Funnel-plot data (limits at 95% and 99.8%, with and without overdispersion), the variation
    summary (extremal quotient, P90/P10, CV, systematic component) and the opportunity."""
    from .services.variation import variation as build

    with _errors(), _analysis(home, engine, current_orgs) as an:
        v = build(an, subject, level, month, min_items, trim)
    _emit(fmt, as_json, v.to_dict(), [asdict(p) for p in v.points], lambda: _show_variation(v))


def _show_variation(v) -> None:
    c, s = v.scorecard, v.summary
    spec = _value_spec(c.headline)
    out.print(f"[bold]{c.subject}[/] {c.title} — {c.level}, {c.month}; {c.headline_label}.")
    table = Table(title="Variation", title_justify="left")
    table.add_column("statistic")
    table.add_column("value", justify="right")
    for label, key, f in (("organisations with a value", "n_areas", ",d"), ("lowest", "minimum", spec),
                          ("highest", "maximum", spec), ("highest ÷ lowest", "extremal_quotient", ".2f"),
                          (f"highest ÷ lowest, {s['trimmed_k']} excluded at each end", "extremal_quotient_trimmed", ".2f"),
                          ("P90 ÷ P10", "p90_p10", ".2f"), ("Q3 ÷ Q1", "interquartile_ratio", ".2f"),
                          ("coefficient of variation", "cv", ".3f"),
                          ("population-weighted coefficient of variation", "cv_weighted", ".3f"),
                          ("systematic component of variation (×100)", "scv", ".2f")):
        table.add_row(label, _fmt(s.get(key), f))
    out.print(table)
    if c.funnel:
        f = c.funnel
        out.print(f"Funnel ({f.kind}, target {_fmt(f.target, spec)}): outside 99.8% limits {f.outside_998_low} low and "
                  f"{f.outside_998_high} high; allowing for overdispersion (φ = {_fmt(f.phi, '.2f')}, "
                  f"τ² = {_fmt(f.tau2, '.3g')}) {f.outside_998_low_od} low and {f.outside_998_high_od} high.")
    low = [p for p in v.points if p.flag_998_od == "low"]
    hidden = sum(p.suppressed for p in v.points)
    if low:
        out.print("Significantly low after allowing for overdispersion: "
                  + ", ".join(f"{p.name or p.org} ({p.org})" for p in low)
                  + (f" (and any among the {hidden} suppressed)" if hidden else ""))
    o = v.opportunity
    if o and o.organisations_below:
        cost = f", about £{o.additional_cost:,.0f} a month" if o.additional_cost is not None else ""
        out.print(f"Opportunity: if the {o.organisations_below} organisations below the {o.centile}th centile "
                  f"({format(o.benchmark, spec)}) reached it, {o.additional_patients:,.0f} more patients would be "
                  f"treated{cost}.")
    for note in s.get("notes") or []:
        out.print(f"[dim]{note}[/]")


# --- diffusion -------------------------------------------------------------------------------


@app.command()
def diffusion(
    ta: Annotated[str, typer.Argument(help="A TA, e.g. TA275.")],
    level: LevelOption = "icb",
    fmt: FormatOption = "table",
    engine: EngineOption = "duckdb",
    current_orgs: CurrentOption = False,
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """England's uptake since publication with fitted logistic and Bass curves, months to 50% and
    80% of expected use, and each organisation's lag behind England."""
    from .services.diffusion import diffusion as build

    with _errors(), _analysis(home, engine, current_orgs) as an:
        d = build(an, ta, level)
    _emit(fmt, as_json, d.to_dict(), [asdict(o) for o in d.organisations], lambda: _show_diffusion(d))


def _show_diffusion(d) -> None:
    spec = _value_spec(d.headline)
    out.print(f"[bold]{d.ta}[/] {d.title}\nPublished {d.published}; funding by {d.funding_deadline}. "
              f"{d.headline_label}; 50% and 80% are of {d.target_label}.")
    out.print(f"England {d.months[0]}–{d.months[-1]}: " + _sparkline(d.england)
              + f"  {_fmt(d.england[0], spec)} → {_fmt(d.england[-1], spec)}")
    table = Table(title="Fitted curves (t in months since publication)", title_justify="left")
    for col in ("model", "parameters", "R²", "t50", "t80", "note"):
        table.add_column(col)
    for f in d.fits:
        note = ("did not converge: " + f.message) if not f.converged else ("a parameter at its bound" if f.at_bound else "")
        table.add_row(f.model, ", ".join(f"{k}={v:.3g}" for k, v in f.params.items()), _fmt(f.r2, ".3f"),
                      _fmt(f.t50, ".1f"), _fmt(f.t80, ".1f"), note)
    out.print(table)
    out.print(f"Observed: 50% first reached at month {_fmt(d.t50_empirical, '.0f')}, "
              f"80% at month {_fmt(d.t80_empirical, '.0f')}.")
    behind = sorted((o for o in d.organisations if o.lag50 is not None), key=lambda o: -o.lag50)[:10]
    if behind:
        table = Table(title=f"Furthest behind England ({d.level}, months at 50%)", title_justify="left")
        table.add_column("organisation", max_width=38, no_wrap=True, overflow="ellipsis")
        for col in ("code", "latest", "lag at 50%", "lag at 80%"):
            table.add_column(col)
        for o in behind:
            table.add_row(o.name or "", o.org, _fmt(o.latest, spec), _fmt(o.lag50, "+.1f"), _fmt(o.lag80, "+.1f"))
        out.print(table)
    never = [o for o in d.organisations if o.t50 is None]
    if never:
        out.print(f"{len(never)} organisations have not reached 50% yet.")
    if d.england_forecast:
        out.print(f"Forecast, England: {d.england_forecast.text}.")
        later = [o for o in d.organisations if o.forecast and o.forecast.status != "reached"]
        if later:
            table = Table(title=f"When each {d.level} not yet there reaches its central expected use",
                          title_justify="left")
            table.add_column("organisation", max_width=38, no_wrap=True, overflow="ellipsis")
            for col in ("code", "forecast"):
                table.add_column(col)
            for o in later:
                table.add_row(o.name or "", o.org, o.forecast.text)
            out.print(table)
    for note in d.notes:
        out.print(f"[dim]{note}[/]")


# --- run chart -------------------------------------------------------------------------------


@app.command()
def runchart(
    subject: Annotated[str, typer.Argument(help="A TA (e.g. TA275) or a measure id (e.g. doac_share).")],
    org: Annotated[str, typer.Option("--org", help="An ODS code (e.g. QHM), or ENG for England.")] = "ENG",
    level: Annotated[Optional[str], typer.Option(
        "--level", help="region, icb, sub_icb, pcn or practice (default: the level the code is used at).")] = None,
    baseline: Annotated[Optional[int], typer.Option(
        "--baseline", min=1, max=1200, help="Set the limits from the first N months charted (default: all).")] = None,
    fmt: FormatOption = "table",
    min_items: MinItemsOption = 5,
    engine: EngineOption = "duckdb",
    current_orgs: CurrentOption = False,
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """One organisation's monthly series as an XmR chart with the NHS "Making Data Count" rules:
    limits, special causes (improvement or concern) and what changed, in words."""
    from .services.runchart import runchart as build

    with _errors(), _analysis(home, engine, current_orgs) as an:
        c = build(an, subject, org, level, baseline, min_items)
    _emit(fmt, as_json, c.to_dict(), [{**asdict(p), "rules": " ".join(p.rules)} for p in c.points],
          lambda: _show_runchart(c))


def _show_runchart(c) -> None:
    spec = _value_spec(c.headline)
    better = {"increase": "higher is better", "decrease": "lower is better"}.get(c.improvement, "no better direction")
    out.print(f"[bold]{c.subject}[/] {c.title}\n{c.name or c.org} ({c.org}, {c.level}): {c.headline_label}; "
              f"{better}. {c.membership}; engine {c.engine}.")
    if c.mean is not None:
        out.print(f"Mean {_fmt(c.mean, spec)}; process limits {_fmt(c.lower_limit, spec)} to {_fmt(c.upper_limit, spec)}"
                  f"; 2σ {_fmt(c.lower_2sigma, spec)} to {_fmt(c.upper_2sigma, spec)} (baseline: {c.baseline} months, "
                  f"{c.baseline_from} to {c.baseline_to}).")
        out.print(_sparkline([p.value for p in c.points]))
    table = Table()
    for col, justify in (("month", "left"), ("value", "right"), ("moving range", "right"), ("", "left"),
                         ("rules", "left")):
        table.add_column(col, justify=justify)
    style = {"improvement": "green", "concern": "red", "special cause high": "blue", "special cause low": "blue"}
    for p in c.points:
        value = "*" if p.suppressed else _fmt(p.value, spec)
        table.add_row(p.month, value, _fmt(p.moving_range, spec), p.label, ", ".join(r.replace("_", " ") for r in p.rules),
                      style=style.get(p.label))
    out.print(table)
    out.print(c.summary)
    for note in c.notes:
        out.print(f"[dim]{note}[/]")


# --- the official Innovation Scorecard figure ---------------------------------------------------


@app.command()
def official(
    tas: Annotated[Optional[list[str]], typer.Argument(help="Catalogue TAs (e.g. TA275), from the warehouse.")] = None,
    published: Annotated[Optional[list[Path]], typer.Option(
        "--published", help="A published Innovation Scorecard utilisation CSV (organisation-level and/or national; "
                            "repeat for both) to recompute and check.")] = None,
    level: LevelOption = "icb",
    fmt: FormatOption = "table",
    engine: EngineOption = "duckdb",
    current_orgs: CurrentOption = False,
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """The Innovation Scorecard's figure, daily doses per 100,000 population per financial quarter:
    for catalogue TAs from the warehouse, or recomputed and checked from published ISC files."""
    from .services.official import check_published, official_figure

    with _errors():
        if bool(tas) == bool(published):
            raise UptakeError("name catalogue TAs (e.g. TA275) or give --published FILE, not both")
        if published:
            from .catalogue import load_catalogue
            from .sources.isc import read_isc

            check = check_published([read_isc(p) for p in published], load_catalogue())
            _emit(fmt, as_json, check.to_dict(), [asdict(s) for s in check.sums] or [asdict(r) for r in check.rates],
                  lambda: _show_published(check))
            return
        with _analysis(home, engine, current_orgs) as an:
            figs = [official_figure(an, t, level) for t in tas]
    rows = [{"ta": f.ta, "unit": f.unit, **asdict(r)} for f in figs for r in f.england + f.rows]
    data = figs[0].to_dict() if len(figs) == 1 else {"figures": [f.to_dict() for f in figs]}
    _emit(fmt, as_json, data, rows, lambda: [_show_official(f) for f in figs])


def _show_official(f) -> None:
    out.print(f"[bold]{f.ta}[/] {f.title}\n{f.unit_label} per 100,000 {f.population}, per financial quarter. "
              f"{f.membership}; engine {f.engine}.")
    latest = f.quarters[-1]
    table = Table(title=f"England, and each {f.level} in {latest}: {f.unit}s per 100,000", title_justify="left",
                  box=box.SIMPLE_HEAD)
    table.add_column("organisation", max_width=22, no_wrap=True, overflow="ellipsis")
    for col in ("code", "quarter", f"{f.unit}s", "population", "/100k"):
        table.add_column(col, no_wrap=True, justify="left" if col in ("code", "quarter") else "right")
    for r in f.england:
        table.add_row("England", r.org, r.quarter, _fmt(r.doses, ",.0f"), _fmt(r.population, ",.0f"),
                      _fmt(r.rate, ",.1f"), style="bold")
    for r in sorted((r for r in f.rows if r.quarter == latest), key=lambda r: -(r.rate or 0.0)):
        table.add_row(r.name or "", r.org, r.quarter, _fmt(r.doses, ",.0f"), _fmt(r.population, ",.0f"),
                      _fmt(r.rate, ",.1f"))
    out.print(table)
    for note in f.notes:
        out.print(f"[dim]{note}[/]")


def _show_published(c) -> None:
    out.print(f"[bold]Innovation Scorecard[/]: {len(c.files)} file(s), {c.rows:,} rows, {len(c.medicines)} medicines, "
              f"{c.quarters[0]} to {c.quarters[-1]}" + (f", {c.organisations} organisations." if c.organisations else "."))
    for m, tas in c.catalogue.items():
        out.print(f"  {m}: " + (f"catalogue {', '.join(tas)}" if tas else "not in our catalogue"))
    if c.published_values:
        out.print(f"Published rates reproduced (within 0.005): {c.published_reproduced} of {c.published_values}; "
                  f"largest difference {_fmt(c.published_max_difference, '.3g')}.")
    p = c.population
    if p:
        nat = f"the national denominator {_fmt(p['national'], ',.0f')}" if p["national"] is not None else "no national file"
        out.print(f"Population: {p['organisations']} organisations, "
                  f"{'one population each' if p['one_population_per_organisation'] else 'varying: ' + ', '.join(p['varying'])}"
                  f"; together {_fmt(p['organisations_total'], ',.0f')} against {nat}"
                  + (" (equal)." if p["organisations_add_up_to_national"] else "."))
    if c.sums:
        counts = ", ".join(f"{n} {k}" for k, n in sorted(c.sum_counts.items()))
        worst = max((abs(s.difference) for s in c.sums if s.difference is not None), default=None)
        out.print(f"Organisations' numerators against the national one, per medicine, data source and quarter: "
                  f"{counts}; largest difference {_fmt(worst, ',.0f')} daily doses.")
        england = {(r.subject, r.setting, r.quarter): r for r in c.england}
        short = {"exact": "exact", "within rounding": "rounding", "differs": "DIFFERS", "national only": "nat. only",
                 "organisations only": "orgs only"}
        for medicine, source in sorted({(s.medicine, s.data_source) for s in c.sums}):
            table = Table(title=f"{medicine}, {source.lower()}: England per 100,000; organisations with a row and "
                                f"without (absent)",
                          title_justify="left", box=box.SIMPLE_HEAD)
            for col in ("quarter", "/100k", "rows", "absent", "Σ rows", "national", "diff", "status"):
                table.add_column(col, no_wrap=True, justify="left" if col in ("quarter", "status") else "right")
            for s in (s for s in c.sums if (s.medicine, s.data_source) == (medicine, source)):
                e = england.get((s.medicine, s.data_source, s.quarter))
                table.add_row(s.quarter, _fmt(e.rate if e else None, ",.2f"), str(s.organisations), str(s.absent),
                              _fmt(s.organisation_sum, ",.0f"), _fmt(s.national, ",.0f"), _fmt(s.difference, "+,.0f"),
                              short.get(s.status, s.status))
            out.print(table)
        out.print("[dim]rounding: the difference is no more than rounding each row to whole daily doses can explain "
                  "((rows + 1) ÷ 2).[/]")
    for note in c.notes:
        out.print(f"[dim]{note}[/]")


# --- funnel on any table ---------------------------------------------------------------------


@app.command()
def funnel(
    file: Annotated[Path, typer.Argument(help="CSV with area,numerator,denominator (or area,observed,expected).")],
    kind: Annotated[str, typer.Option("--type", help="proportion, rate or ratio.")] = "proportion",
    multiplier: Annotated[float, typer.Option("--multiplier", help="Scale rates for output (e.g. 1000).")] = 1.0,
    as_json: JsonOption = False,
) -> None:
    """Funnel-plot limits and flags for any table, as Fingertips computes them, plus overdispersion."""
    from .services.funnel_file import funnel_from_csv

    with _errors():
        if kind not in ("proportion", "rate", "ratio"):
            raise UptakeError(f"--type {kind!r}: expected proportion, rate or ratio")
        result = funnel_from_csv(file, kind, multiplier=multiplier)
    if as_json:
        od = result.result.overdispersion
        _print_json({"kind": kind, "target": result.result.target, "phi": od.phi, "tau2": od.tau2,
                     "overdispersion_p_value": od.p_value,
                     "areas": [{k: (None if isinstance(v, float) and not math.isfinite(v) else v)
                                for k, v in zip(result.header, r)} for r in result.rows()]})
        return
    result.write_csv(sys.stdout)


# --- peers and impact ------------------------------------------------------------------------


ImdOption = Annotated[Optional[Path], typer.Option(
    "--imd", help="Practice IMD scores (practice_code, imd_score), e.g. "
                  "../shared/data/deprivation/practice_imd2019_score_decile_subicb_2023.csv.gz")]


@app.command()
def peers(
    level: Annotated[str, typer.Argument(help="practice, pcn, sub_icb or icb")] = "sub_icb",
    org: Annotated[Optional[str], typer.Option("--org", help="Show only this organisation's peers.")] = None,
    imd: ImdOption = None,
    compare: Annotated[Optional[Path], typer.Option(
        "--compare", help="A published nearest-neighbour file (orig, dest, distance) to measure the overlap with.")] = None,
    month: Annotated[Optional[str], typer.Option("--month", help="The list sizes' month (YYYY-MM); default the latest.")] = None,
    engine: EngineOption = "duckdb",
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Peer groups from the loaded data: NHS England's Similar-10 for sub-ICB locations and ICBs,
    nearest neighbours for practices and PCNs (docs/metrics.md, "Peers")."""
    from .services.peers import load_imd, overlap, peer_groups
    from .sources.peers import read_neighbours

    with _errors(), _analysis(home, engine, False) as an:
        g = peer_groups(an, level, imd=load_imd(imd), month=month)
        names = an.names()
        cmp = overlap(g, read_neighbours(compare)) if compare else None
    if org:
        code = org.strip().upper()
        if code not in g.values:
            with _errors():
                raise UptakeError(f"{code}: not among the {len(g.values)} {level}s with peers (see the notes of `uptake peers {level}`)")
        g.peers = g.of(code)
    data = {**g.to_dict(), "overlap": cmp}
    rows = [{"org": p.org, "peer": p.peer, "rank": p.rank, "distance": p.distance} for p in g.peers]

    def show() -> None:
        out.print(f"[bold]{g.method}[/] peers of {len(g.values)} {level}s on {', '.join(g.variables)} "
                  f"(list sizes {g.month})")
        for n in g.notes:
            out.print(f"  note: {n}")
        t = Table()
        for c in ("organisation", "rank", "peer", "distance"):
            t.add_column(c)
        for p in g.peers if org else g.peers[: 10 * 5]:
            t.add_row(f"{names.get((level, p.org)) or p.org} ({p.org})", str(p.rank),
                      f"{names.get((level, p.peer)) or p.peer} ({p.peer})", f"{p.distance:.3f}")
        out.print(t)
        if not org and len(g.peers) > 50:
            out.print(f"… {len(g.values)} organisations in all; --org CODE for one, --json for every one")
        if cmp:
            out.print(f"Overlap with {compare.name}: {cmp['mean_overlap']:.1%} of peers shared on average over "
                      f"{cmp['organisations']:,} organisations ({cmp['any_overlap']:.0%} share at least one); "
                      f"chance alone: {cmp['chance']:.2%}")

    _emit("table", as_json, data, rows, show)


@app.command()
def impact(
    target: Annotated[str, typer.Argument(help="An organisation's ODS code, or a case study (CS-12 or its slug).")],
    ta: Annotated[str, typer.Option("--ta", help="The TA, e.g. TA275.")],
    date: Annotated[Optional[str], typer.Option(
        "--date", help="The intervention's month (YYYY-MM); a case study's implementation date by default.")] = None,
    engine: EngineOption = "duckdb",
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Did uptake change after an intervention? Difference-in-differences against the peers and an
    interrupted time series, each with its 95% interval (associations, not proof of cause)."""
    from .services.impact import describe
    from .services.impact import impact as measure

    with _errors():
        org, when = _target(target, date, home)
        with _analysis(home, engine, False) as an:
            im = measure(an, org, ta, when)

    def show() -> None:
        out.print(f"[bold]{im.ta}[/] in {im.name or im.org} ({im.org}, {im.level}), intervention {im.month}; "
                  f"peers: {', '.join(im.peers) or 'none'}")
        out.print("  " + describe(im.did, im.headline))
        out.print("  " + describe(im.its, im.headline))
        out.print(f"  {im.caveat}")

    _emit("table", as_json, im.to_dict(), [], show)


def _target(target: str, date: str | None, home) -> tuple[str, str]:
    """(organisation, month) from an ODS code and --date, or from a case study."""
    t = target.strip()
    if not (t.upper().startswith("CS-") or "-" in t and not t.upper().startswith("ENG")):
        if not date:
            raise UptakeError("--date YYYY-MM is needed with an organisation code")
        return t.upper(), date
    os.environ["UPTAKE_HOME"] = str(_home(home))  # the portal's database, as `uptake serve` opens it
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "uptake.web.settings")
    import django

    django.setup()
    from .web.impact.store import case_study_intervention

    org, when = case_study_intervention(t)
    return org, date or f"{when:%Y-%m}"
