"""NHS England's national medicines optimisation opportunities, for each ICB: where it stands on
each opportunity's headline measure, the gap to the benchmark, the prescribing and the spend that
closing the gap would change, and how it has moved over the last year — and, for one ICB, the
opportunities ranked by that value, to choose five from.

For an ICB with headline value v (numerator n over denominator d, `per` as the measure says),
benchmark b and numerator spend c in the month:

    gap        = v − b when lower is better, b − v when higher is better; 0 when already there
    units      = gap × d ÷ per       the numerator's units (items, quantity or £) that would change
    spend      = units × c ÷ n       at the ICB's own cost per unit (England's when n is 0)
    a year     = spend × 12

`spend` is what is spent (or would be spent, when higher is better) on the prescribing that
would change: not a saving, which depends on what replaces it. The benchmark is NHS England's
target where one exists, otherwise the best quartile of ICBs in the month (the 25th centile when
lower is better, the 75th when higher is; linear interpolation between ICBs). Opportunities that
primary-care prescribing cannot measure are listed with what is missing, never with a figure.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date

import numpy as np

from ..catalogue.measures import Measure
from ..catalogue.opportunities import Opportunity, load_opportunities
from .analysis import Source

LEVEL = "icb"
MONTHS_BACK = 12


@dataclass
class IcbStanding:
    """One ICB on one opportunity in one month."""

    icb: str
    name: str | None
    value: float | None
    benchmark: float | None
    gap: float | None  # towards the better direction, ≥ 0
    units: float | None  # of the numerator that would change
    spend: float | None  # £ a month on that prescribing
    spend_a_year: float | None
    denominator: float | None  # the population it is measured on (items, or registered patients)
    percentile: float | None
    value_before: float | None = None  # MONTHS_BACK months earlier (or the earliest month)
    change: float | None = None  # value − value_before
    improved: bool | None = None  # moved in the better direction

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class OpportunityView:
    """One opportunity across ICBs in a month."""

    opportunity: Opportunity
    measure: Measure | None
    month: date | None
    before: date | None
    benchmark: float | None
    england: float | None
    rows: list[IcbStanding] = field(default_factory=list)

    @property
    def measured(self) -> bool:
        return self.measure is not None and self.month is not None

    def for_icb(self, code: str) -> IcbStanding | None:
        return next((r for r in self.rows if r.icb == code), None)

    def to_dict(self) -> dict:
        return {"opportunity": self.opportunity.to_dict(), "measure": self.measure.id if self.measure else None,
                "month": self.month.isoformat() if self.month else None,
                "before": self.before.isoformat() if self.before else None, "benchmark": self.benchmark,
                "england": self.england, "rows": [r.to_dict() for r in self.rows]}


def benchmark_value(o: Opportunity, m: Measure, values: list[float]) -> float | None:
    """NHS England's target, or the best-quartile centile of the ICBs' values."""
    if o.benchmark.kind == "target":
        return o.benchmark.value
    if o.benchmark.kind == "best_quartile" and values and o.benchmark.centile is not None:
        return float(np.percentile(np.asarray(values, dtype=float), o.benchmark.centile))
    return None


def standings(o: Opportunity, m: Measure, now: list[dict], before: list[dict], names: dict) -> tuple[
        float | None, list[IcbStanding]]:
    """(benchmark, each ICB's standing) from measure rows (level, org, value, numerator,
    denominator, numerator_cost, percentile) of the month and of MONTHS_BACK months before."""
    icbs = [r for r in now if r["level"] == LEVEL]
    b = benchmark_value(o, m, [r["value"] for r in icbs if r["value"] is not None])
    eng = next((r for r in now if r["level"] == "england"), None)
    eng_unit_cost = (eng["numerator_cost"] / eng["numerator"]) if eng and eng.get("numerator") else None
    earlier = {r["org"]: r["value"] for r in before if r["level"] == LEVEL}
    out = []
    for r in icbs:
        v = r["value"]
        gap = units = spend = None
        if v is not None and b is not None and m.direction in ("lower", "higher"):
            gap = max(0.0, v - b) if m.direction == "lower" else max(0.0, b - v)
            units = gap * (r["denominator"] or 0.0) / m.per
            unit_cost = (r["numerator_cost"] / r["numerator"]) if r.get("numerator") else eng_unit_cost
            spend = units * unit_cost if unit_cost is not None else None
        was = earlier.get(r["org"])
        change = v - was if v is not None and was is not None else None
        improved = None
        if change is not None and m.direction in ("lower", "higher") and change != 0:
            improved = (change < 0) == (m.direction == "lower")
        out.append(IcbStanding(r["org"], names.get((LEVEL, r["org"])), v, b, gap, units, spend,
                               spend * 12 if spend is not None else None, r["denominator"], r.get("percentile"),
                               was, change, improved))
    out.sort(key=lambda s: (s.spend is None, -(s.spend or 0.0), s.icb))
    return b, out


def _back(months: list[date], month: date) -> date | None:
    earlier = [m for m in months if m < month]
    if not earlier:
        return None
    target = date(month.year - 1, month.month, 1)
    return target if target in earlier else earlier[0]


def view(source: Source, o: Opportunity, month: str | None = None) -> OpportunityView:
    """One opportunity across every ICB in the month (default: the latest)."""
    m = next((x for x in source.measures if x.id == o.headline_measure), None) if o.headline_measure else None
    if m is None:
        return OpportunityView(o, None, None, None, None, None)
    when = source.month(month)
    before = _back(source.months(), when)
    wanted = [when] + ([before] if before else [])
    rows = source.measure_table([m.id], wanted, (LEVEL, "england")).to_pylist()
    now = [r for r in rows if r["month"] == when]
    then = [r for r in rows if r["month"] == before]
    b, ranked = standings(o, m, now, then, source.names())
    eng = next((r["value"] for r in now if r["level"] == "england"), None)
    return OpportunityView(o, m, when, before, b, eng, ranked)


def all_views(source: Source, month: str | None = None) -> list[OpportunityView]:
    return [view(source, o, month) for o in load_opportunities()]


@dataclass
class Ranked:
    """An opportunity for one ICB, with its place in the ICB's ranking."""

    rank: int | None
    opportunity: Opportunity
    standing: IcbStanding | None
    measured: bool
    benchmark: float | None
    england: float | None
    measure: Measure | None = None

    def to_dict(self) -> dict:
        return {"rank": self.rank, "opportunity": self.opportunity.id, "number": self.opportunity.number,
                "title": self.opportunity.title, "measured": self.measured, "benchmark": self.benchmark,
                "england": self.england, "data_needed": self.opportunity.data_needed,
                "measure": self.measure.id if self.measure else None,
                **(self.standing.to_dict() if self.standing else {})}


def rank_for_icb(views: list[OpportunityView], icb: str) -> list[Ranked]:
    """The opportunities for one ICB by the spend on the prescribing that closing its gap would
    change (a year, highest first), then by the gap relative to the benchmark; opportunities at
    or past the benchmark next, and those nothing in the warehouse measures last (by number)."""
    measured, unmeasured = [], []
    for v in views:
        s = v.for_icb(icb) if v.measured else None
        if s is None or s.value is None:
            unmeasured.append(Ranked(None, v.opportunity, s, v.measured, v.benchmark, v.england, v.measure))
        else:
            measured.append(Ranked(None, v.opportunity, s, True, v.benchmark, v.england, v.measure))

    def key(r: Ranked):
        s = r.standing
        assert s is not None  # measured: every one has a standing
        relative = (s.gap / abs(r.benchmark)) if s.gap is not None and r.benchmark else 0.0
        return (-(s.spend_a_year or 0.0), -relative, r.opportunity.number)

    measured.sort(key=key)
    for i, r in enumerate(measured, 1):
        r.rank = i
    return measured + sorted(unmeasured, key=lambda r: r.opportunity.number)


def movement(v: OpportunityView, chosen: set[str]) -> dict:
    """How the ICBs that chose the opportunity moved against those that did not: the median
    change in the headline value over the year, and how many improved."""
    def summary(rows: list[IcbStanding]) -> dict:
        changes = [r.change for r in rows if r.change is not None]
        return {"icbs": len(rows), "median_change": float(np.median(changes)) if changes else None,
                "improved": sum(1 for r in rows if r.improved)}
    return {"chosen": summary([r for r in v.rows if r.icb in chosen]),
            "not_chosen": summary([r for r in v.rows if r.icb not in chosen])}
