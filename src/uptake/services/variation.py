"""Variation for one TA (or measure), level and month: the funnel plot's data and curves, the
variation summary, and the opportunity if every organisation below England's 80th percentile
reached it."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace

import numpy as np

from ..engine.stats.funnel import funnel_curves
from ..engine.stats.variation import variation_summary
from .analysis import Source
from .funnels import funnel_for, numerator_denominator
from .scorecard import DEFAULT_MIN_ITEMS, Scorecard, scorecard, suppressed

OPPORTUNITY_CENTILE = 80


@dataclass
class FunnelPoint:
    org: str
    name: str | None
    numerator: float | None
    denominator: float | None
    value: float | None
    lower_998: float | None
    upper_998: float | None
    lower_998_od: float | None
    upper_998_od: float | None
    flag_95: str | None
    flag_998: str | None
    flag_998_od: str | None
    suppressed: bool


@dataclass
class Opportunity:
    centile: int
    benchmark: float | None  # the value at that centile
    organisations_below: int
    additional_patients: float | None
    additional_cost: float | None  # at England's cost per patient-month
    unit: str
    by_org: list[dict] = field(default_factory=list)


@dataclass
class Variation:
    scorecard: Scorecard
    summary: dict
    points: list[FunnelPoint]
    curves: dict[str, list[float | None]]
    opportunity: Opportunity | None

    def to_dict(self) -> dict:
        """Everything but the scorecard's rows (the points hold each organisation's figures)."""
        d = asdict(replace(self, scorecard=replace(self.scorecard, rows=[])))
        del d["scorecard"]["rows"]
        return d


def _f(v) -> float | None:
    return None if v is None or not np.isfinite(v) else float(v)


def variation(an: Source, subject: str, level: str = "sub_icb", month: str | None = None,
              min_items: int = DEFAULT_MIN_ITEMS, trim: float = 0.05) -> Variation:
    full = scorecard(an, subject, level, month, min_items=0)
    card = suppressed(full, min_items)
    rows = sorted(card.rows, key=lambda r: r.org)
    # statistics use every figure; suppressed points are hidden from the output only
    unsuppressed = [asdict(r) for r in sorted(full.rows, key=lambda r: r.org)]
    f = funnel_for(card.headline, unsuppressed)
    points: list[FunnelPoint] = []
    curves: dict[str, list[float | None]] = {}
    if f is not None and bool(np.isfinite(f.result.value).any()):  # no area compared: no funnel to draw
        r = f.result
        for i, row in enumerate(rows):
            hide = row.suppressed
            points.append(FunnelPoint(
                org=row.org, name=row.name,
                numerator=None if hide else _f(r.numerator[i]), denominator=_f(r.denominator[i]),
                value=None if hide else _f(r.value[i]),
                lower_998=_f(r.lower_998[i]), upper_998=_f(r.upper_998[i]),
                lower_998_od=_f(r.lower_998_od[i]), upper_998_od=_f(r.upper_998_od[i]),
                flag_95=None if hide else str(r.flag_95[i]), flag_998=None if hide else str(r.flag_998[i]),
                flag_998_od=None if hide else str(r.flag_998_od[i]), suppressed=hide))
        c = funnel_curves(r, n_points=60)
        curves = {k: [_f(x) for x in getattr(c, k)] for k in
                  ("denominator", "lower_95", "upper_95", "lower_998", "upper_998", "lower_998_od", "upper_998_od")}
    values = np.array([np.nan if p.get("value") is None else p["value"] for p in unsuppressed], dtype=float)
    observed, expected, population = _sizes(card.headline, unsuppressed)
    summary = asdict(variation_summary(values, population=population, observed=observed, expected=expected,
                                       share=trim))
    return Variation(scorecard=card, summary=summary, points=points, curves=curves,
                     opportunity=_opportunity(card, unsuppressed, {r.org for r in card.rows if r.suppressed}))


def _sizes(headline: str, rows: list[dict]):
    """Observed, expected (indirectly standardised to the pooled rate) and population per area,
    for the systematic component of variation and the weighted CV."""
    num, den = numerator_denominator(headline, rows)
    ok = np.isfinite(num) & np.isfinite(den) & (den > 0)
    pooled = num[ok].sum() / den[ok].sum() if ok.any() and den[ok].sum() > 0 else np.nan
    return num, den * pooled, den


def _opportunity(card: Scorecard, rows: list[dict], hidden: frozenset[str] | set[str] = frozenset()) -> Opportunity | None:
    """Additional patients treated if every organisation below the 80th centile of the headline
    value reached it (higher is better), at England's cost per patient-month."""
    if card.kind != "ta" or card.headline not in ("index", "per_1000"):
        return None
    values = np.array([r["value"] for r in rows if r.get("value") is not None], dtype=float)
    if values.size == 0:
        return None
    bench = float(np.quantile(values, OPPORTUNITY_CENTILE / 100))
    eng = card.england
    # England's cost per patient-month, primary care's actual cost and hospitals' indicative cost together
    cost = None if eng is None or eng.cost is None else eng.cost + (eng.secondary_cost or 0.0)
    cost_per_patient = cost / eng.patients if eng is not None and cost is not None and eng.patients else None
    by_org = []
    for r in rows:
        if r.get("value") is None or r["value"] >= bench :
            continue
        size = r["expected"] if card.headline == "index" else (r["registered"] or 0) / 1000.0
        extra = (bench - r["value"]) * (size or 0.0)
        by_org.append({"org": r["org"], "name": r.get("name"), "value": r["value"], "additional_patients": extra,
                       "additional_cost": extra * cost_per_patient if cost_per_patient is not None else None})
    by_org.sort(key=lambda d: -d["additional_patients"])
    # the total counts every organisation; the list names none whose figures are suppressed
    shown = [d for d in by_org if d["org"] not in hidden]
    total = sum(d["additional_patients"] for d in by_org)
    return Opportunity(
        centile=OPPORTUNITY_CENTILE, benchmark=bench, organisations_below=len(by_org), additional_patients=total,
        additional_cost=total * cost_per_patient if cost_per_patient is not None else None,
        unit="patients on treatment in the month", by_org=shown)
