"""Funnel plots for scorecard rows: which statistic each headline uses, and the flags.

    uptake index (patients ÷ expected)  → 'rate' on expected use: patients per expected patient
    patients per 1,000 registered        → 'rate': patients per registered patient
    items per 1,000 registered           → 'rate': items per registered patient
    a measure's share                    → 'proportion': numerator ÷ denominator

The uptake index is compared with the pooled index of the organisations shown (England's, when
every practice is mapped), not with 1: expected use is NICE's steady state, which a TA reaches
only years after publication, so "everyone below 1" would say nothing. That is the indirectly
standardised ratio O ÷ (E × England's index) judged against 1 — the same limits.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..engine.hierarchy import ENGLAND
from ..engine.stats.funnel import FunnelResult, Kind
from ..engine.stats.funnel import funnel as funnel_statistics

KIND: dict[str, Kind] = {"index": "rate", "per_1000": "rate", "items_per_1000": "rate", "proportion": "proportion",
        "rate_per_1000": "rate"}
SCALE = {"index": 1.0, "per_1000": 1000.0, "items_per_1000": 1000.0, "proportion": 1.0, "rate_per_1000": 1000.0}


@dataclass
class FunnelSummary:
    kind: str
    target: float | None
    phi: float | None
    tau2: float | None
    overdispersed: bool | None
    areas: int
    outside_998_low: int
    outside_998_high: int
    outside_998_low_od: int
    outside_998_high_od: int


@dataclass
class FunnelRows:
    summary: FunnelSummary
    result: FunnelResult
    scale: float

    def flags(self, i: int) -> tuple[str | None, str | None, str | None]:
        r = self.result
        return (str(r.flag_95[i]), str(r.flag_998[i]), str(r.flag_998_od[i]))


COUNTS = {"index": ("patients", "expected"), "per_1000": ("patients", "registered"),
          "items_per_1000": ("items", "registered_all"), "proportion": ("numerator", "denominator"),
          "rate_per_1000": ("numerator", "denominator")}


def measure_headline(measure) -> str:
    """A measure's headline statistic: a share of prescribing ('proportion', Wilson limits), or a
    rate per 1,000 registered patients ('rate_per_1000', Poisson limits)."""
    if measure.kind == "proportion":
        return "proportion"
    if measure.per != 1000:
        raise ValueError(f"measure {measure.id}: a rate per {measure.per:g} patients has no funnel; expected per 1000")
    return "rate_per_1000"


def numerator_denominator(headline: str, rows: list[dict]) -> tuple[np.ndarray, np.ndarray]:
    """The counts a headline is a ratio of, per row (NaN where unknown)."""
    def col(name: str) -> np.ndarray:
        return np.array([np.nan if r.get(name) is None else r[name] for r in rows], dtype=float)

    num, den = COUNTS.get(headline, COUNTS["proportion"])
    return col(num), col(den)


def funnel_for(headline: str, rows: list[dict]) -> FunnelRows | None:
    """The funnel of `rows` (one level, one month) for the statistic of `headline`."""
    if not rows or headline not in KIND:
        return None
    num, den = numerator_denominator(headline, rows)
    return funnel_of_counts(headline, num, den)


def funnel_of_counts(headline: str, num: np.ndarray, den: np.ndarray) -> FunnelRows:
    kind = KIND[headline]
    res = funnel_statistics(kind, num, den, multiplier=SCALE[headline])
    return FunnelRows(summary=summarise(kind, res), result=res, scale=SCALE[headline])


FLAGS = ("flag_95", "flag_998", "flag_998_od")


def flag_columns(table: pa.Table, subject: str, headline: str | None = None) -> dict[str, pa.Array]:
    """flag_95, flag_998 and flag_998_od for every row of a scorecard table holding many
    subjects, levels and months: each (subject, level, month) judged as `funnel_for` judges it.
    England's rows, and headlines without a funnel, get nulls. `headline` fixes the headline
    for every row (a measure's 'proportion'); else the table's `headline` column gives it."""
    n = table.num_rows
    out = {name: np.full(n, None, dtype=object) for name in FLAGS}
    keys = pc.sort_indices(table, [(subject, "ascending"), ("level", "ascending"), ("month", "ascending")])
    order = keys.to_numpy()
    cols = {c: table.column(c).take(keys) for c in (subject, "level", "month")}
    heads = (np.full(n, headline, dtype=object) if headline else
             table.column("headline").take(keys).to_numpy(zero_copy_only=False))
    counts = {c: table.column(c).take(keys).to_numpy(zero_copy_only=False).astype(float)
              for pair in COUNTS.values() for c in pair if c in table.column_names}
    group = [cols[c].to_numpy(zero_copy_only=False) for c in (subject, "level", "month")]
    change = np.zeros(n, dtype=bool)
    if n:
        change[0] = True
        for g in group:
            change[1:] |= g[1:] != g[:-1]
    starts = np.flatnonzero(change)
    ends = np.append(starts[1:], n)
    for a, b in zip(starts, ends):
        head = heads[a]
        if group[1][a] == ENGLAND or head not in KIND:
            continue
        num, den = COUNTS[head]
        f = funnel_of_counts(head, counts[num][a:b], counts[den][a:b])
        for name in FLAGS:
            out[name][order[a:b]] = getattr(f.result, name).astype(object)
    return {name: pa.array(values.tolist(), pa.string()) for name, values in out.items()}


def summarise(kind: str, res) -> FunnelSummary:
    def count(flags, what):
        return int(sum(1 for f in flags if f == what))

    od = res.overdispersion
    finite = bool(np.isfinite(od.p_value))
    return FunnelSummary(
        kind=kind, target=_num(res.target), phi=_num(od.phi), tau2=_num(od.tau2),
        overdispersed=bool(od.p_value < 0.05) if finite else None,
        areas=int(np.isfinite(res.value).sum()),
        outside_998_low=count(res.flag_998, "low"), outside_998_high=count(res.flag_998, "high"),
        outside_998_low_od=count(res.flag_998_od, "low"), outside_998_high_od=count(res.flag_998_od, "high"))


def _num(v) -> float | None:
    return float(v) if v is not None and np.isfinite(v) else None
