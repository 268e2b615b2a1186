"""The official Innovation Scorecard figure: daily doses (WHO DDD, or the product's ADD) per
100,000 population per financial quarter (reference/methods.md §1.3), for any organisation and
England; the same figure for a catalogue TA from the warehouse; and a check of the published
ISC files (their rates, whether the organisations' numerators add up to the national one, and
whether the population denominators agree).

    rate = daily doses in the quarter ÷ population × 100,000

Quarters are financial quarters labelled as the ISC does ('2022/23 Q1' = April–June 2022;
`uptake.sources.isc.quarter_of`). Pure Python over plain records: the warehouse figure reads
the scorecard rows every `Source` gives (engine or published tables)."""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import date

from ..catalogue import Catalogue
from ..engine.hierarchy import ENGLAND, ENGLAND_CODE
from ..engine.prepare import in_primary_care
from ..engine.scorecard import SECONDARY_LEVELS
from ..errors import UptakeError
from ..sources.isc import ISCFile, quarter_months, quarter_of
from .analysis import Source, check_level

PER = 100_000


def rate(doses: float | None, population: float | None) -> float | None:
    """Daily doses per 100,000 population; unknown (None) without a population above zero."""
    if doses is None or population is None or population <= 0:
        return None
    return doses / population * PER


@dataclass(frozen=True)
class Doses:
    """One input record: daily doses of `subject` (a medicine or a TA) given in `org` in a
    financial `quarter`, and that organisation's population."""

    subject: str
    org: str
    quarter: str
    doses: float | None  # None: not covered (no loaded file covers the products in a month of it)
    population: float | None
    setting: str = "all"  # e.g. Primary Care / Secondary Care; 'all' when not split
    name: str | None = None


@dataclass
class QuarterRate:
    subject: str
    setting: str
    org: str
    name: str | None
    quarter: str
    doses: float | None
    population: float | None
    rate: float | None
    records: int  # input records summed into it


def _total(doses: Iterable[float | None]) -> float | None:
    """The sum of doses; None (not covered) when any of them is."""
    values = list(doses)
    return None if None in values else sum(values)


def _key(r: Doses, combine_settings: bool) -> tuple[str, str, str]:
    return (r.subject, "all" if combine_settings else r.setting, r.quarter)


def quarterly_rates(records: Iterable[Doses], *, combine_settings: bool = False) -> list[QuarterRate]:
    """The rate of each organisation, subject, setting and quarter (settings summed with
    `combine_settings`, as NICE's prototype sums primary and secondary care). Records of one
    organisation and quarter must give the same population (an organisation has one)."""
    groups: dict[tuple, list[Doses]] = defaultdict(list)
    for r in records:
        groups[(*_key(r, combine_settings), r.org)].append(r)
    out = []
    for (subject, setting, quarter, org), rs in groups.items():
        pops = {r.population for r in rs}
        if len(pops) > 1:
            raise UptakeError(f"{org}, {subject}, {quarter}: records give different populations "
                              f"({', '.join(f'{p:,.0f}' for p in sorted(p for p in pops if p is not None))}); "
                              "expected one per organisation")
        doses, population = _total(r.doses for r in rs), rs[0].population
        out.append(QuarterRate(subject=subject, setting=setting, org=org, name=rs[0].name, quarter=quarter,
                               doses=doses, population=population, rate=rate(doses, population), records=len(rs)))
    return sorted(out, key=lambda q: (q.subject, q.setting, q.quarter, q.org))


def england_rates(records: Iterable[Doses], population: Mapping[str, float] | float | None = None, *,
                  combine_settings: bool = False) -> list[QuarterRate]:
    """England's rate per subject, setting and quarter: every organisation's doses summed, over
    England's population — `population` (one figure, or one per quarter) when given, else the
    sum of the populations of the organisations with a record in that subject, setting and
    quarter (which understates England when some organisations have no record)."""
    groups: dict[tuple, list[Doses]] = defaultdict(list)
    for r in records:
        groups[_key(r, combine_settings)].append(r)
    out = []
    for (subject, setting, quarter), rs in groups.items():
        if population is None:
            by_org = {r.org: r.population for r in rs}
            pop = None if None in by_org.values() else sum(by_org.values())
        elif isinstance(population, Mapping):
            pop = population.get(quarter)
        else:
            pop = float(population)
        doses = _total(r.doses for r in rs)
        out.append(QuarterRate(subject=subject, setting=setting, org=ENGLAND_CODE, name="England", quarter=quarter,
                               doses=doses, population=pop, rate=rate(doses, pop), records=len(rs)))
    return sorted(out, key=lambda q: (q.subject, q.setting, q.quarter))


# --- a catalogue TA from the warehouse ------------------------------------------------------------


@dataclass
class OfficialFigure:
    ta: str
    title: str
    level: str
    unit: str  # 'DDD' or 'ADD'
    unit_label: str
    population: str
    membership: str
    engine: str
    quarters: list[str] = field(default_factory=list)  # complete quarters (all three months loaded)
    incomplete: list[str] = field(default_factory=list)  # quarters with only some months loaded: left out
    england: list[QuarterRate] = field(default_factory=list)
    rows: list[QuarterRate] = field(default_factory=list)
    isc_medicines: list[str] = field(default_factory=list)  # the ISC reports these medicines for this TA
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


def _quarters(months: list[date]) -> tuple[list[str], list[str]]:
    loaded = set(months)
    labels = sorted({quarter_of(m) for m in months})
    complete = [q for q in labels if all(m in loaded for m in quarter_months(q))]
    return complete, [q for q in labels if q not in complete]


def official_figure(an: Source, ta_id: str, level: str = "icb") -> OfficialFigure:
    """The Innovation Scorecard's figure for a catalogue TA from the warehouse: per organisation
    of `level` and England, per complete financial quarter, the daily doses dispensed (WHO
    DDDs where the catalogue's presentations convert, else treatment-days at the catalogue's
    daily dose, the ISC's ADD) summed over the quarter's three months, per 100,000 registered
    patients (all ages; the mean of the three months' list sizes). Hospital issues (SCMD) are
    added at ICB, region and England, where a trust's use is attributed, as NICE's prototype sums
    primary and secondary care."""
    check_level(level)
    ta = an.catalogue.ta(ta_id)
    hospital_only = not in_primary_care(ta)
    if hospital_only and level not in SECONDARY_LEVELS:
        raise UptakeError(
            f"{ta.id}'s products are issued in hospitals, and hospital issues (SCMD) cannot be attributed below an "
            f"ICB: ask for --level icb or region. The published Innovation Scorecard reports its trusts (medicine "
            f"{', '.join(sorted({p.name for p in ta.products}))}): see `uptake official --published FILE`.")
    months = an.months()
    if not months:
        an.month(None)
    quarters, incomplete = _quarters(months)
    if not quarters:
        raise UptakeError(f"no complete financial quarter loaded ({months[0]:%Y-%m} to {months[-1]:%Y-%m}); the "
                          "figure needs all three months of a quarter")
    wanted = [m for q in quarters for m in quarter_months(q)]
    rows = an.ta_table([ta.id], wanted, (level,)).to_pylist()
    eng_rows = [r for r in rows if r["level"] == ENGLAND]
    hospital = any(r.get("secondary_treatment_days") is not None for r in eng_rows)
    if hospital_only and not hospital:
        raise UptakeError(
            f"{ta.id}'s products are issued in hospitals, and no loaded hospital issues (SCMD) file covers them "
            f"in {quarters[0]}–{quarters[-1]} (not covered: unknown, not zero): there is no figure to compute. The published Innovation Scorecard "
            f"reports it (medicine {', '.join(sorted({p.name for p in ta.products}))}): see "
            "`uptake official --published FILE`.")
    # DDDs only when every setting with use converts to them; else treatment-days throughout
    use_ddd = all(any(r[ddd] is not None for r in eng_rows)
                  for days, ddd in (("treatment_days", "ddd"), ("secondary_treatment_days", "secondary_ddd"))
                  if any(r.get(days) for r in eng_rows))
    names = an.names()
    by_org: dict[tuple[str, str, str], list[dict]] = defaultdict(list)
    for r in rows:
        if r["level"] in (level, ENGLAND):
            by_org[(r["level"], r["org"], quarter_of(r["month"]))].append(r)
    records: dict[str, list[Doses]] = {ENGLAND: [], level: []}
    uncovered: set[str] = set()
    for (lv, org, q), rs in sorted(by_org.items()):
        doses = sum(((r["ddd"] or 0.0) + (r.get("secondary_ddd") or 0.0) if use_ddd else
                     (r["treatment_days"] or 0.0) + (r.get("secondary_treatment_days") or 0.0)) for r in rs)
        # a hospital-only TA's quarter with a month whose SCMD does not cover its products: unknown, not 0
        if hospital_only and any(r.get("secondary_treatment_days") is None for r in rs):
            doses = None
            uncovered.add(q)
        pops = [r["registered_all"] for r in rs]
        pop = statistics.fmean(pops) if len(rs) == 3 and None not in pops else None
        records[lv].append(Doses(subject=ta.id, org=org, quarter=q, doses=doses, population=pop,
                                 name=names.get((lv, org))))
    unit = "DDD" if use_ddd else "ADD"
    fig = OfficialFigure(
        ta=ta.id, title=ta.title, level=level, unit=unit,
        unit_label=("WHO defined daily doses (DDD)" if use_ddd else
                    "daily doses at the catalogue's daily dose (treatment-days; the ISC's ADD)"),
        population="registered patients, all ages (mean of the quarter's three monthly list sizes)",
        membership=an.membership, engine=an.engine_name, quarters=quarters, incomplete=incomplete,
        england=quarterly_rates(records[ENGLAND]),
        rows=quarterly_rates(records[level]) if level != ENGLAND else [],
        isc_medicines=sorted({p.name for p in ta.products}))
    if incomplete:
        fig.notes.append(f"Left out, not all three months loaded: {', '.join(incomplete)}.")
    if uncovered:
        fig.notes.append(f"Not covered (no figure, not zero): {', '.join(sorted(uncovered))}: no loaded hospital "
                         f"issues (SCMD) file covers {ta.id}'s products in every month of these quarters.")
    if hospital and level in SECONDARY_LEVELS:
        fig.notes.append("Primary-care prescribing (EPD) and hospital issues (SCMD) together; a trust's issues count "
                         "towards its ICB. Homecare and outsourced dispensing are in neither, so they are not counted.")
    elif hospital:
        fig.notes.append(f"Primary-care prescribing (EPD) only at {level} level: hospital issues (SCMD) cannot be "
                         "attributed below an ICB (England's figure includes them).")
    else:
        fig.notes.append("Primary-care prescribing (EPD) only: hospital issues (SCMD) are not loaded, whereas the "
                         "ISC adds secondary care; homecare and outsourced dispensing are not counted either.")
    fig.notes.append("The denominator is registered patients (GP list sizes), not the ONS population the ISC uses: "
                     "lists count registrations, not residents, so the two differ.")
    if use_ddd:
        fig.notes.append("DDDs count only presentations whose strength unit matches the DDD's (docs/metrics.md §1).")
    return fig


# --- the published ISC files: rates, sums, populations ---------------------------------------------


@dataclass
class SumCheck:
    medicine: str
    data_source: str
    quarter: str
    organisations: int  # rows in the organisation file
    absent: int  # organisations of that file with no row here
    organisation_sum: float | None
    national: float | None
    difference: float | None  # organisation_sum − national
    tolerance: float  # the most rounding to whole daily doses can explain: (rows + 1) ÷ 2
    status: str  # exact, within rounding, differs, national only, organisations only


@dataclass
class PublishedCheck:
    files: list[str]
    medicines: list[str]
    catalogue: dict[str, list[str]]  # medicine → the catalogue TAs with a product of that name
    quarters: list[str]
    organisations: int
    rows: int
    rates: list[QuarterRate] = field(default_factory=list)  # per organisation row (national rows if none)
    england: list[QuarterRate] = field(default_factory=list)  # from the national file, by data source
    england_from_organisations: list[QuarterRate] = field(default_factory=list)
    published_values: int = 0  # rows carrying the published rate
    published_reproduced: int = 0  # of those, within 0.005 of ours
    published_max_difference: float | None = None
    sums: list[SumCheck] = field(default_factory=list)
    sum_counts: dict[str, int] = field(default_factory=dict)
    population: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


def catalogue_tas(catalogue: Catalogue, medicine: str) -> list[str]:
    """The catalogue TAs with a product named `medicine` (case and spaces ignored)."""
    want = " ".join(medicine.lower().split())
    return sorted(t.id for t in catalogue.technology_appraisals
                  if any(" ".join(p.name.lower().split()) == want for p in t.products))


def _records(f: ISCFile) -> list[Doses]:
    return [Doses(subject=r.medicine, org=r.org, quarter=r.quarter, doses=r.numerator, population=r.denominator,
                  setting=r.data_source, name=r.org_name) for r in f.rows]


def check_published(files: list[ISCFile], catalogue: Catalogue) -> PublishedCheck:
    """Rates from the published numerators and denominators; where a file carries the published
    rate, how many we reproduce; with an organisation file and a national file, whether the
    organisations' numerators add up to the national one in each medicine, data source and
    quarter, which organisations have no row, and whether the populations agree."""
    orgs = [f for f in files if not f.national]
    nats = [f for f in files if f.national]
    if len(orgs) > 1 or len(nats) > 1:
        raise UptakeError("give at most one organisation-level and one national Innovation Scorecard file")
    org_file, nat_file = (orgs[0] if orgs else None), (nats[0] if nats else None)
    medicines = sorted({r.medicine for f in files for r in f.rows})
    check = PublishedCheck(
        files=[str(f.path) for f in files], medicines=medicines,
        catalogue={m: catalogue_tas(catalogue, m) for m in medicines},
        quarters=sorted({r.quarter for f in files for r in f.rows}),
        organisations=len(org_file.orgs) if org_file else 0, rows=sum(len(f.rows) for f in files))
    main = org_file or nat_file
    check.rates = quarterly_rates(_records(main))
    _published_values(check, files)
    if nat_file is not None:
        check.england = quarterly_rates(_records(nat_file))
    if org_file is not None:
        populations = _populations(org_file)
        nat_pop = _national_population(nat_file) if nat_file else None
        total = sum(populations.values())
        check.england_from_organisations = england_rates(_records(org_file), nat_pop if nat_pop is not None else total)
        check.population = {
            "organisations": len(populations), "organisations_total": total,
            "one_population_per_organisation": not _varying(org_file),
            "varying": _varying(org_file),
            "national": nat_pop, "national_values": sorted({r.denominator for r in nat_file.rows}) if nat_file else [],
            "organisations_add_up_to_national": nat_pop is not None and total == nat_pop}
    if org_file is not None and nat_file is not None:
        check.sums = _sums(org_file, nat_file)
        counts: dict[str, int] = defaultdict(int)
        for s in check.sums:
            counts[s.status] += 1
        check.sum_counts = dict(counts)
    for m, tas in check.catalogue.items():
        if not tas:
            check.notes.append(f"{m} is not in our catalogue: no TA lists a product of that name.")
    return check


def _published_values(check: PublishedCheck, files: list[ISCFile]) -> None:
    diffs = []
    for f in files:
        for r in f.rows:
            if r.value is not None:
                diffs.append(abs(rate(r.numerator, r.denominator) - r.value))
    check.published_values = len(diffs)
    check.published_reproduced = sum(d <= 0.005 for d in diffs)
    check.published_max_difference = max(diffs) if diffs else None
    if not diffs:
        check.notes.append("The files carry no published rate (NICE's extract dropped the ISC's `value` column), so "
                           "the rates are computed from the published numerators and denominators and cannot be "
                           "compared with the ISC's own.")


def _populations(f: ISCFile) -> dict[str, float]:
    pops: dict[str, float] = {}
    for r in f.rows:
        pops.setdefault(r.org, r.denominator)
    return pops


def _varying(f: ISCFile) -> list[str]:
    seen: dict[str, set[float]] = defaultdict(set)
    for r in f.rows:
        seen[r.org].add(r.denominator)
    return sorted(org for org, v in seen.items() if len(v) > 1)


def _national_population(f: ISCFile) -> float | None:
    values = {r.denominator for r in f.rows}
    return values.pop() if len(values) == 1 else None


def _sums(org_file: ISCFile, nat_file: ISCFile) -> list[SumCheck]:
    window = set(org_file.quarters)
    everyone = set(org_file.orgs)
    orgs: dict[tuple, list] = defaultdict(list)
    for r in org_file.rows:
        orgs[(r.medicine, r.data_source, r.quarter)].append(r)
    nat = {(r.medicine, r.data_source, r.quarter): r.numerator for r in nat_file.rows if r.quarter in window}
    out = []
    for key in sorted(set(orgs) | set(nat), key=lambda k: (k[0], k[2], k[1])):
        rs = orgs.get(key, [])
        total = sum(r.numerator for r in rs) if rs else None
        national = nat.get(key)
        tolerance = (len(rs) + 1) / 2
        if total is None:
            status, diff = "national only", None
        elif national is None:
            status, diff = "organisations only", None
        else:
            diff = total - national
            status = "exact" if diff == 0 else ("within rounding" if abs(diff) <= tolerance else "differs")
        out.append(SumCheck(medicine=key[0], data_source=key[1], quarter=key[2], organisations=len(rs),
                            absent=len(everyone - {r.org for r in rs}), organisation_sum=total, national=national,
                            difference=diff, tolerance=tolerance, status=status))
    return out
