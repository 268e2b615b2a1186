"""The monthly report of an ICB, and England's, as a `model.Report`: where the ICB leads and
lags England across every catalogue TA; each clinical area with its figures against England and
the other ICBs, its funnel-plot position and its trend since NICE published each TA; its
sub-ICB locations and the PCNs furthest behind; formulary compliance; its chosen medicines
optimisation opportunities; the barriers reported for it and the case studies that bear on it.

Figures come from the published scorecard (the same services as the portal's pages, so a
report and a page never disagree); formulary decisions, opportunity choices, barriers and case
studies from the portal's database (`portal_data`). One `Context` serves many reports: what
every ICB's report shares (the scorecards of every TA at every level, the deciles, compliance)
is computed once.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from functools import cached_property

from .. import charts
from .. import formats as f
from ..catalogue.opportunities import load_opportunities
from ..engine.hierarchy import ENGLAND, ENGLAND_CODE
from ..engine.prepare import headline as catalogue_headline
from ..errors import UptakeError
from ..services import expected as expected_words
from ..services import opportunities as so
from ..services import scorecard as sc
from ..services import variation as var
from . import portal_data
from .model import Column, Figure, Report, Section, Table, Text
from .trials_section import icb_trials_section

UNIT = {"index": "uptake index", "per_1000": "patients per 1,000 registered", "items_per_1000": "items per 1,000",
        "proportion": "share", "rate_per_1000": "per 1,000 registered"}
MEASURED = ("index", "per_1000", "items_per_1000")
WORST_PCNS = 3
TREND_HEIGHT = 180  # a trend chart per TA: short, so that a page holds three
SUB_ICB_COLUMNS = 5  # TAs per sub-ICB table (more would not fit a page)
EPD = "English Prescribing Dataset (NHSBSA)"
LIST_SIZES = "registered patients (NHS Digital)"
QOF = "QOF disease registers (NHS Digital)"


class Context:
    """What reports of one month share: the publication, the day deadlines count to, the portal's
    address, and memoised scorecards, deciles and compliance."""

    def __init__(self, pub, *, month: str | None = None, as_of: date | None = None, site_url: str = ""):
        from .. import config

        self.pub = pub
        self.when = pub.month(month)
        self.month = f"{self.when:%Y-%m}"
        self.as_of = as_of or config.today()
        self.site_url = site_url.rstrip("/")
        self._cards: dict[tuple[str, str], sc.Scorecard] = {}
        self._deciles: dict[tuple[str, str], list[dict]] = {}
        self._variation: dict[tuple[str, str], var.Variation] = {}

    # --- the publication --------------------------------------------------------------------

    @cached_property
    def tas(self) -> list:
        return list(self.pub.catalogue.technology_appraisals)

    @cached_property
    def areas(self) -> list:
        return [a for a in self.pub.catalogue.areas if any(t.clinical_area == a.id for t in self.tas)]

    def card(self, ta: str, level: str) -> sc.Scorecard:
        key = (ta, level)
        if key not in self._cards:
            self._cards[key] = sc.scorecard(self.pub, ta, level, self.month)
        return self._cards[key]

    def variation(self, ta: str, level: str) -> var.Variation:
        key = (ta, level)
        if key not in self._variation:
            self._variation[key] = var.variation(self.pub, ta, level, self.month)
        return self._variation[key]

    def deciles(self, ta: str, level: str) -> list[dict]:
        """The level's deciles of the headline value, every month up to the report's."""
        key = (ta, level)
        if key not in self._deciles:
            months = [m for m in self.pub.months() if m <= self.when]
            rows = self.pub.ta_table([ta], months, (level,)).to_pylist()
            by_month: dict = {}
            for r in rows:
                if r["level"] == level and r["value"] is not None:
                    by_month.setdefault(r["month"], []).append(r["value"])
            self._deciles[key] = [{"month": f"{m:%Y-%m}", **sc.decile_dict(by_month[m])}
                                  for m in months if m in by_month]
        return self._deciles[key]

    def series(self, code: str, level: str) -> dict[str, list[dict]]:
        """TA → the organisation's monthly headline values ({month, value}), small counts hidden."""
        months = [m for m in self.pub.months() if m <= self.when]
        out: dict[str, list[dict]] = {}
        for r in sorted(self.pub.org_series(code, level, [t.id for t in self.tas], months),
                        key=lambda r: r["month"]):
            hidden = level != ENGLAND and sc.is_small(r["items"], sc.DEFAULT_MIN_ITEMS)
            out.setdefault(r["ta"], []).append({"month": f"{r['month']:%Y-%m}",
                                                "value": None if hidden else r["value"]})
        return out

    @cached_property
    def _children(self) -> dict[tuple[str, str], list[dict]]:
        out: dict[tuple[str, str], list[dict]] = {}
        for o in self.pub.organisations():
            out.setdefault((o["parent_level"], o["parent"]), []).append(o)
        return out

    def descendants(self, code: str, level: str) -> dict[str, list[dict]]:
        """Level → the organisations under `code` in the publication's hierarchy."""
        out: dict[str, list[dict]] = {}
        frontier = [(level, code)]
        while frontier:
            for o in self._children.get(frontier.pop(), []):
                out.setdefault(o["level"], []).append(o)
                frontier.append((o["level"], o["code"]))
        return out

    # --- the portal's database --------------------------------------------------------------

    @cached_property
    def compliance(self):
        return portal_data.compliance(self.pub, self.as_of)

    @cached_property
    def opportunity_views(self) -> list[so.OpportunityView]:
        return so.all_views(self.pub, self.month)

    @cached_property
    def choices(self) -> tuple[str, dict[str, set[str]]]:
        return portal_data.opportunity_choices()

    def url(self, path: str) -> str:
        return f"{self.site_url}{path}"

    # --- text shared by tables ---------------------------------------------------------------

    def period(self) -> str:
        return f"Prescribing in {f.month_name(self.month)}"

    def sources(self, ta=None) -> str:
        parts = [EPD, LIST_SIZES]
        if ta is None or catalogue_headline(ta) == "index":
            parts.append(QOF)
        return "; ".join(parts) + "; NICE TA catalogue (uptake)"

    def compliance_sources(self) -> str:
        return ("formulary decisions recorded in uptake by each ICB's editors; NICE publication dates and funding "
                "deadlines from the uptake catalogue")


# --- helpers ----------------------------------------------------------------------------------


def _short(title: str, n: int = 70) -> str:
    return title if len(title) <= n else title[: n - 1].rstrip() + "…"


def _relative(value, england) -> float | None:
    if f.missing(value) or f.missing(england) or not england:
        return None
    return 100.0 * value / england


def _since(series: list[dict], published: date) -> list[dict]:
    start = f"{published:%Y-%m}"
    return [r for r in series if r["month"] >= start]


def _value(v, headline: str) -> str:
    return f.headline_value(v, headline)


def short_name(name: str) -> str:
    """'NHS Kent and Medway Integrated Care Board' → 'Kent and Medway ICB': for table headings."""
    name = name.replace(" Integrated Care Board", " ICB")
    return name[4:] if name.startswith("NHS ") else name


def _ta_label(t) -> str:
    return f"{t.id} {_short(t.title, 48)}"


def _profile_rows(ctx: Context, code: str) -> dict[str, sc.ProfileRow]:
    return {r.ta: r for r in sc.profile(ctx.pub, code, ctx.month).rows}


# --- the ICB report ---------------------------------------------------------------------------


def icb_report(ctx: Context, code: str) -> Report:
    pub = ctx.pub
    code = code.strip().upper()
    org = pub.organisation(code)
    if org["level"] != "icb":
        raise UptakeError(f"{code} is a {org['level'].replace('_', '-')}, not an ICB: reports are for ICBs "
                          "(and England: `uptake report ENG`)")
    full = org["name"] or code
    name = short_name(full)
    rows = _profile_rows(ctx, code)
    series = ctx.series(code, "icb")
    below = ctx.descendants(code, "icb")
    report = Report(
        code=code, name=full, level="icb", month=ctx.month, as_of=ctx.as_of.isoformat(),
        title=f"{full}: uptake of NICE-approved medicines",
        subtitle=(f"Monthly report for {f.month_name(ctx.month)} · {code} · prescribing to "
                  f"{f.month_name(ctx.month)}, formulary decisions to {f.day(ctx.as_of)}"),
        published_at=pub.published_at, portal_url=ctx.url(f"/org/{code}/"))
    report.summary, headline = _icb_headline(ctx, name, rows)
    report.sections.append(headline)
    from .peers_section import icb_peers

    report.sections.extend(s for s in [icb_peers(ctx, code, name, _value)] if s is not None)
    for area in ctx.areas:
        report.sections.append(_icb_area(ctx, area, code, name, rows, series, below))
    report.sections.append(_icb_compliance(ctx, code, name))
    report.sections.append(_icb_opportunities(ctx, code, name))
    report.sections.append(icb_trials_section(ctx, code, name))
    codes = {code} | {o["code"] for lv in below.values() for o in lv}
    lagging = {r.ta for r in rows.values() if r.value is not None and r.england_value and r.value < r.england_value}
    report.sections.append(_barriers(portal_data.barriers(codes=codes), f"Barriers reported for {name}",
                                     f"Open barriers to implementation that members linked to {name} or one of its "
                                     "sub-ICB locations, PCNs or practices, most supported first.", ctx))
    report.sections.append(_case_studies(portal_data.case_studies(codes=codes, tas=lagging), ctx,
                                         f"Published case studies from {name}'s organisations, or on the TAs where "
                                         f"{name} is below England."))
    report.about = _about(ctx)
    return report


def _against_expected(r, ta) -> str:
    """The expected range, where the organisation stands in it, and the month it gets there."""
    if r.suppressed:
        return "hidden"
    if r.expected is None:
        return "no expected use" if expected_words.why_no_expected(ta) else "—"
    return expected_words.range_text(asdict(r)) or "—"


def _gaps(rows: dict, place: str, ctx: Context) -> list[str]:
    """The report's lead: 'About N people in <place> eligible for TAxxx are not receiving it
    (range a–b).' for the TAs with most people not reached (at most three)."""
    return [g["sentence"] for g in expected_words.gaps([asdict(r) for r in rows.values()], place,
                                                        ctx.pub.catalogue)[:3]]


def _icb_headline(ctx: Context, name: str, rows: dict) -> tuple[list[str], Section]:
    measured = [r for r in rows.values() if r.headline in MEASURED and r.value is not None and r.england_value]
    for r in measured:
        r.relative = _relative(r.value, r.england_value)
    measured.sort(key=lambda r: -r.relative)
    above = [r for r in measured if r.relative > 100]
    low = [r for r in measured if r.flag_998_od == "low"]
    summary = _gaps(rows, name, ctx)
    summary += [f"Of the {len(measured)} NICE TAs with a figure for {name} in {f.month_name(ctx.month)}, "
                f"{len(above)} are above England's value and {len(measured) - len(above)} at or below it."]
    if measured:
        lead = ", ".join(f"{r.ta} ({r.relative:.0f}% of England)" for r in measured[:3])
        lag = ", ".join(f"{r.ta} ({r.relative:.0f}% of England)" for r in reversed(measured[-3:]))
        summary += [f"Furthest ahead: {lead}.", f"Furthest behind: {lag}."]
    summary.append(f"{len(low)} TA{'s' if len(low) != 1 else ''} below the 99.8% funnel limit allowing for "
                   f"overdispersion{': ' + ', '.join(r.ta for r in low) if low else ''}.")
    section = Section("headline", "At a glance")
    section.add(Text(items=summary))
    if measured:
        chart = charts.relative_to_england(
            [{"ta": r.ta, "label": f"{r.ta} {_short(r.title, 40)}", "relative": r.relative,
              "flag_998_od": r.flag_998_od} for r in measured],
            title=f"{name} against England, {f.month_name(ctx.month)}", name=name)
        section.add(Figure(chart, caption=f"Each TA's value for {name} as a percentage of England's (England = 100). "
                                          "Colour and shape give its funnel-plot position.",
                           period=ctx.period(), sources=ctx.sources()))
    return summary, section


def _icb_area(ctx: Context, area, code: str, name: str, rows: dict, series: dict, below: dict) -> Section:
    section = Section(f"area-{area.id}", area.name)
    tas = [t for t in ctx.tas if t.clinical_area == area.id]
    shown = [t for t in tas if t.id in rows and rows[t.id].headline in MEASURED]
    hospital = [t for t in tas if t not in shown]
    table_rows = []
    for t in shown:
        r = rows[t.id]
        card = ctx.card(t.id, "icb")
        d = card.deciles
        year_ago = next((s["value"] for s in series.get(t.id, [])[-13:-12]), None)
        table_rows.append([
            _ta_label(t), UNIT[r.headline],
            "hidden (fewer than 5 items)" if r.suppressed else _value(r.value, r.headline),
            _value(r.england_value, r.headline),
            f"{_value(d.get('p10'), r.headline)} to {_value(d.get('p90'), r.headline)}" if d else "—",
            f.percent(r.percentile), f.flag(r.flag_998_od), _value(year_ago, r.headline),
            _against_expected(r, t)])
    section.add(Table(
        caption=f"{area.name}: {name} against England and the other ICBs",
        columns=[Column("TA"), Column("Measured as"), Column(name, True), Column("England", True),
                 Column("ICBs, 10th to 90th centile", True), Column("Percentile among ICBs", True),
                 Column("Funnel plot"), Column("12 months earlier", True), Column("Against expected use")],
        rows=table_rows, period=ctx.period(), sources=ctx.sources(),
        empty=f"No TA in {area.name} is measured in primary-care prescribing."))
    if hospital:
        section.add(Text(f"Not measured here (issued in hospitals, or no figure for {name} this month): "
                         + ", ".join(_ta_label(t) for t in hospital) + ".", kind="note"))
    for t in shown:
        r = rows[t.id]
        mine = _since(series.get(t.id, []), t.published)
        spec = charts.deciles(_since(ctx.deciles(t.id, "icb"), t.published), highlight=mine, highlight_label=name,
                              title=f"{t.id}: {name} among the ICBs since NICE published it",
                              value_label=sc.HEADLINE_LABEL[r.headline])
        section.add(Figure(spec, caption=f"{_ta_label(t)}: {name} (red) against the deciles of the 42 ICBs each "
                                         f"month since {f.day(t.published)}.",
                           period=f"{f.month_name(mine[0]['month']) if mine else ''} to {f.month_name(ctx.month)}",
                           sources=ctx.sources(t), height=TREND_HEIGHT))
        if r.flag_998_od in ("low", "high"):
            v = ctx.variation(t.id, "icb")
            spec = charts.funnel(v.to_dict(), title=f"{t.id}: funnel plot of the ICBs, {f.month_name(ctx.month)}",
                                 value_label=sc.HEADLINE_LABEL[r.headline], highlight=code)
            section.add(Figure(spec, caption=f"{_ta_label(t)}: {name} is {f.flag(r.flag_998_od).lower()} "
                                             "allowing for overdispersion (ringed).",
                               period=ctx.period(), sources=ctx.sources(t)))
    section.subsections += _icb_children(ctx, area, shown, code, name, below)
    return section


def _icb_children(ctx: Context, area, shown: list, code: str, name: str, below: dict) -> list[Section]:
    out = []
    subs = sorted(below.get("sub_icb", []), key=lambda o: o["name"] or o["code"])
    if subs and shown:
        sub_codes = {o["code"] for o in subs}
        for i in range(0, len(shown), SUB_ICB_COLUMNS):
            part = shown[i:i + SUB_ICB_COLUMNS]
            cards = {t.id: ctx.card(t.id, "sub_icb") for t in part}
            cells = {t: {r.org: r for r in c.rows if r.org in sub_codes} for t, c in cards.items()}
            headline = {t: c.headline for t, c in cards.items()}
            rows = []
            for o in subs:
                row = [f"{o['name'] or o['code']} ({o['code']})"]
                for t in part:
                    r = cells[t.id].get(o["code"])
                    text = "—" if r is None else ("hidden" if r.suppressed else _value(r.value, headline[t.id]))
                    if r is not None and r.flag_998_od == "low":
                        text += " (below limit)"
                    row.append(text)
                rows.append(row)
            rows.append(["England"] + [_value(cards[t.id].england.value if cards[t.id].england else None,
                                              headline[t.id]) for t in part])
            s = Section(f"area-{area.id}-sub-icb-{i}", f"{area.name}: {name}'s sub-ICB locations")
            s.add(Table(caption=f"{area.name}: each sub-ICB location of {name}",
                        columns=[Column("Sub-ICB location")] + [Column(t.id, True) for t in part],
                        rows=rows, period=ctx.period(), sources=ctx.sources(),
                        note="'below limit': below the 99.8% funnel limit among all sub-ICB locations, allowing for "
                             "overdispersion."))
            out.append(s)
    pcns = {o["code"] for o in below.get("pcn", [])}
    if pcns and shown:
        rows = []
        for t in shown:
            card = ctx.card(t.id, "pcn")
            mine = sorted((r for r in card.rows if r.org in pcns and r.value is not None), key=lambda r: r.value)
            for r in mine[:WORST_PCNS]:
                rows.append([_ta_label(t), f"{r.name or r.org} ({r.org})", _value(r.value, card.headline),
                             _value(card.england.value if card.england else None, card.headline),
                             f.percent(r.percentile), f.flag(r.flag_998_od)])
        s = Section(f"area-{area.id}-pcns", f"{area.name}: the PCNs furthest behind")
        s.add(Table(caption=f"{area.name}: the {WORST_PCNS} PCNs in {name} with the lowest value for each TA",
                    columns=[Column("TA"), Column("PCN"), Column("Value", True), Column("England", True),
                             Column("Percentile among all PCNs", True), Column("Funnel plot (99.8%)")],
                    rows=rows, period=ctx.period(), sources=ctx.sources()))
        out.append(s)
    return out


def _icb_compliance(ctx: Context, code: str, name: str) -> Section:
    from ..services.compliance import STATUS_LABELS

    section = Section("compliance", "NICE TAs in the local formulary")
    statuses = ctx.compliance.for_icb(code)
    summary = next((s for s in ctx.compliance.summaries() if s.icb == code), None)
    overdue = sorted((s for s in statuses if s.status in ("overdue", "rejected")), key=lambda s: s.deadline)
    soon = sorted((s for s in statuses if s.status == "due_soon"), key=lambda s: s.deadline)
    if summary is None or summary.formulary is None:
        section.add(Text(f"No formulary is recorded for {name}, so every TA past its deadline counts as not "
                         "included. An editor for the ICB can record its formulary's decisions on the portal.",
                         kind="warning"))
    if summary is not None:
        on_time = f"{summary.on_time_pct:.0f}%" if summary.on_time_pct is not None else "—"
        rank = f", ranked {summary.rank} of {len(ctx.compliance.icbs)} ICBs" if summary.rank else ""
        section.add(Text(f"As of {f.day(ctx.as_of)}: {on_time} of the {summary.judged} TAs past their deadline were "
                         f"in the formulary on time{rank}; {len(overdue)} overdue or rejected and {len(soon)} due "
                         "within 14 days."))
    period = f"As of {f.day(ctx.as_of)}"
    section.add(Table(caption=f"Overdue: NICE TAs past their funding deadline without a positive decision in {name}'s "
                              "formulary",
                      columns=[Column("TA"), Column("Published"), Column("Deadline"), Column("Days overdue", True),
                               Column("Status")],
                      rows=[[_ta_label_of(ctx, s.ta), f.day(s.published), f.day(s.deadline),
                             f.number(s.days_overdue), STATUS_LABELS[s.status]] for s in overdue],
                      period=period, sources=ctx.compliance_sources(), empty="None overdue."))
    section.add(Table(caption=f"Due soon: deadlines in the next 14 days without a decision in {name}'s formulary",
                      columns=[Column("TA"), Column("Published"), Column("Deadline"), Column("Days left", True)],
                      rows=[[_ta_label_of(ctx, s.ta), f.day(s.published), f.day(s.deadline), f.number(s.days_left)]
                            for s in soon],
                      period=period, sources=ctx.compliance_sources(), empty="Nothing due in the next 14 days."))
    return section


def _ta_label_of(ctx: Context, ta: str) -> str:
    try:
        return _ta_label(ctx.pub.catalogue.ta(ta))
    except LookupError:
        return ta


def _icb_opportunities(ctx: Context, code: str, name: str) -> Section:
    year, chooser = ctx.choices
    section = Section("opportunities", "Medicines optimisation opportunities")
    chosen = {o for o, icbs in chooser.items() if code in icbs}
    views = {v.opportunity.id: v for v in ctx.opportunity_views}
    columns = [Column("Opportunity"), Column(name, True), Column("Benchmark", True), Column("Spend a year on the gap",
               True), Column("12 months earlier", True), Column("Moved the right way"),
               Column("Chosen ICBs improving", True)]
    rows = []
    period = "—"
    for o in sorted(load_opportunities(), key=lambda o: o.number):
        if o.id not in chosen:
            continue
        v = views.get(o.id)
        s = v.for_icb(code) if v is not None and v.measured else None
        if v is not None and v.month is not None:
            period = f"{f.month_name(f'{v.before:%Y-%m}')} to {f.month_name(f'{v.month:%Y-%m}')}" if v.before else \
                f.month_name(f"{v.month:%Y-%m}")
        if s is None or s.value is None:
            rows.append([f"{o.number}. {o.title}", "not measured", "—", "—", "—", "—",
                         f"not measured: {o.data_needed or 'no figure this month'}"])
            continue
        m = so.movement(v, chooser.get(o.id, set()))["chosen"]
        fmt = _measure_format(v.measure)
        rows.append([f"{o.number}. {o.title}", fmt(s.value), fmt(s.benchmark), f.money(s.spend_a_year),
                     fmt(s.value_before), {True: "yes", False: "no"}.get(s.improved, "—"),
                     f"{m['improved']} of {m['icbs']}"])
    if chosen:
        section.add(Text(f"{name} chose {len(chosen)} of NHS England's 16 national opportunities for {year}. "
                         "'Spend a year on the gap' is what is spent on the prescribing that closing the gap to the "
                         "benchmark would change: not a saving."))
    else:
        ranked = [r for r in so.rank_for_icb(ctx.opportunity_views, code) if r.rank][:5]
        section.add(Text(f"{name} has not recorded its choices for {year}. The five with the most spend on the gap "
                         "to the benchmark, to choose from: "
                         + "; ".join(f"{r.opportunity.number}. {r.opportunity.title} "
                                     f"({f.money(r.standing.spend_a_year)} a year)" for r in ranked) + ".",
                         kind="warning"))
    section.add(Table(caption=f"The opportunities {name} chose for {year}, and how it has moved",
                      columns=columns, rows=rows, period=period,
                      sources=f"{EPD}; {LIST_SIZES}; NHS England's national medicines optimisation opportunities "
                              "(uptake catalogue); choices recorded by the ICB's editors",
                      empty="No opportunities chosen."))
    return section


def _measure_format(measure):
    def fmt(v) -> str:
        if f.missing(v) or measure is None:
            return "—"
        if measure.kind == "proportion":
            return f"{v * 100:.1f}%"
        unit = "£" if measure.unit == "actual_cost" else ""
        return f"{unit}{v:,.2f} per {measure.per:,.0f}"
    return fmt


def _barriers(items: list[dict], title: str, intro: str, ctx: Context) -> Section:
    section = Section("barriers", title)
    section.add(Text(intro))
    section.add(Table(
        caption=title,
        columns=[Column("Barrier"), Column("Type"), Column("Status"), Column("TAs"), Column("Also facing it", True)],
        rows=[[b["title"] + (" (example)" if b["example"] else ""), b["type"], b["status"], ", ".join(b["tas"]) or "—",
               f.number(b["support"])] for b in items],
        period=f"Open on {f.day(ctx.as_of)}", sources="the barriers register on the uptake portal (members' reports)",
        empty="No open barriers reported."))
    return section


def _case_studies(items: list[dict], ctx: Context, intro: str) -> Section:
    section = Section("case-studies", "What others learnt: case studies")
    section.add(Text(intro))
    for c in items:
        tags = [t for t in (c["tas"] and ", ".join(c["tas"]), "industry-sponsored" if c["industry_sponsored"] else "",
                            "example" if c["example"] else "") if t]
        section.add(Text(f"{c['title']} — {c['organisations'] or 'organisation not named'}"
                         f"{' (' + '; '.join(tags) + ')' if tags else ''}. {c['summary']} "
                         f"{ctx.url('/learning/case-studies/' + c['slug'] + '/')}"))
    if not items:
        section.add(Text("No published case studies yet.", kind="note"))
    return section


# --- England's report -------------------------------------------------------------------------


def england_report(ctx: Context) -> Report:
    """The same structure for England: England against expected use and the spread of ICBs
    around it; regions and the ICBs furthest behind; formulary compliance across ICBs; the
    opportunities ICBs chose; every open barrier and the newest case studies."""
    pub = ctx.pub
    rows = _profile_rows(ctx, ENGLAND_CODE)
    series = ctx.series(ENGLAND_CODE, ENGLAND)
    report = Report(
        code=ENGLAND_CODE, name="England", level=ENGLAND, month=ctx.month, as_of=ctx.as_of.isoformat(),
        title="England: uptake of NICE-approved medicines",
        subtitle=(f"National report for {f.month_name(ctx.month)} · prescribing to {f.month_name(ctx.month)}, "
                  f"formulary decisions to {f.day(ctx.as_of)}"),
        published_at=pub.published_at, portal_url=ctx.url("/"))
    measured = [r for r in rows.values() if r.headline in MEASURED and r.value is not None]
    behind = sorted((r for r in measured if r.headline == "index"), key=lambda r: r.value)
    spread = []
    for r in measured:
        v = ctx.variation(r.ta, "icb")
        low = sum(p.flag_998_od == "low" for p in v.points)
        spread.append((r, v.summary, low))
    lagging = sorted(spread, key=lambda x: -x[2])
    summary = _gaps(rows, "England", ctx)
    summary += [f"{len(measured)} NICE TAs have a figure for England in {f.month_name(ctx.month)}."]
    if behind:
        summary.append("Furthest behind the use NICE expects: " + ", ".join(
            f"{r.ta} ({f.headline_value(r.value, 'index')} of expected)" for r in behind[:3]) + ".")
    if lagging and lagging[0][2]:
        summary.append("Most ICBs below the 99.8% funnel limit: " + ", ".join(
            f"{r.ta} ({n} ICB{'s' if n != 1 else ''})" for r, _, n in lagging[:3] if n) + ".")
    national = ctx.compliance.national()
    counts = national["counts"]
    summary.append(f"Formularies: {counts['overdue'] + counts['rejected']} ICB × TA decisions overdue or rejected and "
                   f"{counts['due_soon']} due within 14 days, as of {f.day(ctx.as_of)}.")
    report.summary = summary
    head = Section("headline", "At a glance").add(Text(items=summary))
    head.add(Table(caption="Each TA in England and how widely the ICBs vary",
                   columns=[Column("TA"), Column("Measured as"), Column("England", True),
                            Column("ICBs, 10th to 90th centile", True), Column("Highest ÷ lowest (5% trimmed)", True),
                            Column("ICBs below the 99.8% limit", True)],
                   rows=[[_ta_label_of(ctx, r.ta), UNIT[r.headline], _value(r.value, r.headline),
                          f"{_value(s.get('p10'), r.headline)} to {_value(s.get('p90'), r.headline)}",
                          f.number(s.get("extremal_quotient_trimmed"), 1), f.number(n)]
                         for r, s, n in lagging],
                   period=ctx.period(), sources=ctx.sources()))
    report.sections.append(head)
    for area in ctx.areas:
        report.sections.append(_england_area(ctx, area, rows, series))
    report.sections.append(_england_compliance(ctx))
    report.sections.append(_england_opportunities(ctx))
    s = _barriers(portal_data.barriers(), "Barriers reported across England",
                  "Open barriers to implementation reported by members, most supported first; by type: "
                  + ", ".join(f"{k.lower()} {n}" for k, n in portal_data.barrier_counts().items()) + ".", ctx)
    report.sections.append(s)
    report.sections.append(_case_studies(portal_data.case_studies(), ctx, "The newest published case studies."))
    report.about = _about(ctx)
    return report


def _england_area(ctx: Context, area, rows: dict, series: dict) -> Section:
    section = Section(f"area-{area.id}", area.name)
    tas = [t for t in ctx.tas if t.clinical_area == area.id]
    shown = [t for t in tas if t.id in rows and rows[t.id].headline in MEASURED and rows[t.id].value is not None]
    regions = sorted((o for o in ctx.pub.organisations() if o["level"] == "region"), key=lambda o: o["name"] or "")
    for t in shown:
        r = rows[t.id]
        mine = _since(series.get(t.id, []), t.published)
        spec = charts.deciles(_since(ctx.deciles(t.id, "icb"), t.published), highlight=mine,
                              highlight_label="England", value_label=sc.HEADLINE_LABEL[r.headline],
                              title=f"{t.id}: England and the ICBs since NICE published it")
        section.add(Figure(spec, caption=f"{_ta_label(t)}: England (red) against the deciles of the 42 ICBs since "
                                         f"{f.day(t.published)}.",
                           period=f"{f.month_name(mine[0]['month']) if mine else ''} to {f.month_name(ctx.month)}",
                           sources=ctx.sources(t), height=TREND_HEIGHT))
    if shown:
        table = []
        for o in regions:
            row = [o["name"] or o["code"]]
            for t in shown:
                card = ctx.card(t.id, "region")
                got = next((x for x in card.rows if x.org == o["code"]), None)
                row.append(_value(got.value if got else None, card.headline))
            table.append(row)
        table.append(["England"] + [_value(rows[t.id].value, rows[t.id].headline) for t in shown])
        section.add(Table(caption=f"{area.name}: the regions", columns=[Column("Region")] + [Column(t.id, True)
                                                                                          for t in shown],
                          rows=table, period=ctx.period(), sources=ctx.sources()))
        worst = []
        for t in shown:
            card = ctx.card(t.id, "icb")
            for x in sorted((x for x in card.rows if x.value is not None), key=lambda x: x.value)[:WORST_PCNS]:
                worst.append([_ta_label(t), f"{x.name or x.org} ({x.org})", _value(x.value, card.headline),
                              f.percent(x.percentile), f.flag(x.flag_998_od)])
        section.add(Table(caption=f"{area.name}: the {WORST_PCNS} ICBs with the lowest value for each TA",
                          columns=[Column("TA"), Column("ICB"), Column("Value", True), Column("Percentile", True),
                                   Column("Funnel plot (99.8%)")],
                          rows=worst, period=ctx.period(), sources=ctx.sources()))
    hospital = [t for t in tas if t not in shown]
    if hospital:
        section.add(Text("Not measured in primary-care prescribing: " + ", ".join(_ta_label(t) for t in hospital)
                         + ".", kind="note"))
    return section


def _england_compliance(ctx: Context) -> Section:
    from ..services.compliance import requirements

    section = Section("compliance", "NICE TAs in local formularies")
    national = ctx.compliance.national()
    on_time = f"{national['on_time_pct']:.0f}%" if national["on_time_pct"] is not None else "—"
    section.add(Text(f"As of {f.day(ctx.as_of)}, across {national['icbs']} ICBs: {on_time} of the "
                     f"{national['judged']} ICB × TA requirements past their deadline were met on time."))
    by_ta = []
    for req in requirements(ctx.pub.catalogue, ctx.as_of):
        s = ctx.compliance.ta_summary(req.ta)
        late, soon = s["counts"]["overdue"] + s["counts"]["rejected"], s["counts"]["due_soon"]
        if s["icbs"] and (late or soon):
            by_ta.append((-late, req.ta, [_ta_label_of(ctx, req.ta), f.day(req.deadline), f.number(s["included"]),
                                          f.number(late), f.number(soon)]))
    by_ta = [row for *_, row in sorted(by_ta)]
    period = f"As of {f.day(ctx.as_of)}"
    section.add(Table(caption="TAs not yet in every formulary", columns=[
        Column("TA"), Column("Deadline"), Column("ICBs including it", True), Column("Overdue or rejected", True),
        Column("Due within 14 days", True)], rows=by_ta[:20], period=period, sources=ctx.compliance_sources(),
        empty="Every TA past its deadline is in every formulary."))
    ranked = [s for s in ctx.compliance.summaries() if s.rank]
    section.add(Table(caption="The ICBs with the lowest share of TAs in their formulary on time", columns=[
        Column("ICB"), Column("On time", True), Column("Overdue", True), Column("Median days to inclusion", True)],
        rows=[[f"{s.name or s.icb} ({s.icb})", f"{s.on_time_pct:.0f}%", f.number(s.counts.get("overdue", 0)),
               f.number(s.median_days)] for s in ranked[-5:][::-1]],
        period=period, sources=ctx.compliance_sources(), empty="No ICB has a decision judged yet."))
    return section


def _england_opportunities(ctx: Context) -> Section:
    year, chooser = ctx.choices
    section = Section("opportunities", "Medicines optimisation opportunities")
    rows = []
    for v in sorted(ctx.opportunity_views, key=lambda v: v.opportunity.number):
        o = v.opportunity
        icbs = chooser.get(o.id, set())
        if not v.measured:
            rows.append([f"{o.number}. {o.title}", f.number(len(icbs)), "not measured", "—", "—"])
            continue
        m = so.movement(v, icbs)
        fmt = _measure_format(v.measure)
        rows.append([f"{o.number}. {o.title}", f.number(len(icbs)), fmt(v.england),
                     f"{m['chosen']['improved']} of {m['chosen']['icbs']}",
                     f"{m['not_chosen']['improved']} of {m['not_chosen']['icbs']}"])
    section.add(Table(caption=f"NHS England's opportunities: which ICBs chose them for {year}, and who improved",
                      columns=[Column("Opportunity"), Column("ICBs choosing it", True), Column("England", True),
                               Column("Improved: ICBs that chose it", True),
                               Column("Improved: ICBs that did not", True)],
                      rows=rows, period=f"Prescribing over the 12 months to {f.month_name(ctx.month)}",
                      sources=f"{EPD}; {LIST_SIZES}; choices recorded by ICBs' editors on the uptake portal"))
    return section


def _about(ctx: Context) -> list[tuple[str, str]]:
    meta = ctx.pub.meta
    datasets = []
    for key, label in (("prescribing", EPD), ("list_sizes", "Registered patients"), ("qof_registers", QOF),
                       ("organisations", "Organisations (ODS)")):
        s = meta.get("sources", {}).get(key)
        if s:
            datasets.append(f"{label}: {s['first']} to {s['last']} ({s['rows']:,} rows)")
    return [
        ("Period", f"prescribing in {f.month_name(ctx.month)} (trends from each TA's publication); formulary "
                   f"decisions as of {f.day(ctx.as_of)}"),
        ("Sources", "; ".join(datasets) + f"; published by uptake on {meta['published_at'][:10]}"),
        ("Uptake index", "patients treated (daily doses dispensed ÷ the catalogue's daily dose ÷ days) divided by "
                         "the patients NICE expects to be treated (the eligible population × NICE's expected share)"),
        ("Percentile", "the organisation's rank among its peers of the same level, 0 (lowest) to 100 (highest)"),
        ("Funnel plot", "control limits at 99.8% around England's value for every population size, widened for "
                        "overdispersion (Spiegelhalter 2005); 'below limit' is unlikely to be chance"),
        ("Small numbers", f"figures from 1 to {sc.DEFAULT_MIN_ITEMS - 1} items are hidden, as NHS disclosure rules "
                          "expect"),
        ("Organisations", "each month's prescribing is counted in the organisation its practice belonged to that "
                          "month" if not ctx.pub.current_orgs else "every month mapped through today's organisations"),
        ("Definitions", ctx.url("/definitions/")),
        ("This report online", ctx.url("/")),
    ]
