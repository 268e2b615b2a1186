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

from ..engine.stats.funnel import funnel as funnel_statistics

KIND = {"index": "rate", "per_1000": "rate", "items_per_1000": "rate", "proportion": "proportion"}
SCALE = {"index": 1.0, "per_1000": 1000.0, "items_per_1000": 1000.0, "proportion": 1.0}


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
    result: object  # uptake.engine.stats.funnel.FunnelResult
    scale: float

    def flags(self, i: int) -> tuple[str | None, str | None, str | None]:
        r = self.result
        return (str(r.flag_95[i]), str(r.flag_998[i]), str(r.flag_998_od[i]))


def numerator_denominator(headline: str, rows: list[dict]) -> tuple[np.ndarray, np.ndarray]:
    """The counts a headline is a ratio of, per row (NaN where unknown)."""
    def col(name: str) -> np.ndarray:
        return np.array([np.nan if r.get(name) is None else r[name] for r in rows], dtype=float)

    if headline == "index":
        return col("patients"), col("expected")
    if headline == "per_1000":
        return col("patients"), col("registered")
    if headline == "items_per_1000":
        return col("items"), col("registered_all")
    return col("numerator"), col("denominator")


def funnel_for(headline: str, rows: list[dict]) -> FunnelRows | None:
    """The funnel of `rows` (one level, one month) for the statistic of `headline`."""
    if not rows or headline not in KIND:
        return None
    num, den = numerator_denominator(headline, rows)
    kind = KIND[headline]
    res = funnel_statistics(kind, num, den, multiplier=SCALE[headline])
    return FunnelRows(summary=summarise(kind, res), result=res, scale=SCALE[headline])


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
