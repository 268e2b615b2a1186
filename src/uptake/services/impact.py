"""Did uptake move after an intervention? For an organisation, a TA and a date (a case study's
implementation, a formulary decision, a chosen opportunity, a joint working project), the
difference-in-differences against the organisation's peers and an interrupted time series with
its own trend (engine.stats.impact; docs/metrics.md, "Impact"). Results are associations.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date

import numpy as np

from ..engine.hierarchy import ENGLAND
from ..engine.stats import impact as st
from ..errors import UptakeError
from .analysis import Source, parse_month
from .peers import peers_of
from .scorecard import DEFAULT_MIN_ITEMS, is_small

ASSOCIATION = ("An association, not proof that the intervention caused the change: it assumes the "
               "organisation would otherwise have moved like its peers (difference-in-differences) or "
               "along its own earlier trend (interrupted time series), and that nothing else changed "
               "at the same time.")


@dataclass
class Impact:
    org: str
    name: str | None
    level: str
    ta: str
    title: str
    headline: str  # the unit of the values: index, per_1000, ...
    month: str  # the intervention's month: the first month "after"
    peers: list[str]
    did: st.Estimate
    its: st.Estimate
    series: list[dict] = field(default_factory=list)  # {month, value, peers_mean}, the months used
    caveat: str = ASSOCIATION

    def to_dict(self) -> dict:
        return asdict(self)


def intervention_month(when: date | str) -> date:
    if isinstance(when, str):
        when = parse_month(when[:7])
    return date(when.year, when.month, 1)


def impact(src: Source, org: str, ta: str, when: date | str, *, window: int = st.WINDOW,
           min_items: int = DEFAULT_MIN_ITEMS) -> Impact:
    """The estimates for `org` and TA `ta` around the month of `when`."""
    code = org.strip().upper()
    level = src.org_level(code)
    if level == ENGLAND:
        raise UptakeError("impact is measured for an organisation against its peers, not for England")
    subject = src.catalogue.ta(ta)
    start = intervention_month(when)
    months = [m for m in src.months()
              if _offset(start, m) >= -window and _offset(start, m) < window]
    peers = [p.peer for p in peers_of(src, code, level)]
    values: dict[tuple[str, date], float] = {}
    headline = "per_1000"
    if months:
        rows = src.ta_table([subject.id], months, (level,)).to_pylist()
        wanted = {code, *peers}
        for r in rows:
            if r["level"] == level and r["org"] in wanted:
                headline = r.get("headline") or headline
                if r["value"] is not None and not is_small(r["items"], min_items):
                    values[(r["org"], r["month"])] = float(r["value"])
    grid = [_add(start, k) for k in range(-window, window)]
    mine = np.array([values.get((code, m), np.nan) for m in grid])
    theirs = np.array([[values.get((p, m), np.nan) for m in grid] for p in peers]).reshape(len(peers), len(grid))
    did = st.did(mine, theirs, window, window) if peers else st.Estimate(
        "difference-in-differences", None, None, None, 0, 0, f"{st.NOT_ENOUGH}: no peers computed for {code}")
    its = st.its(mine, window, window)
    counted = np.isfinite(theirs).sum(axis=0)
    peer_mean = np.where(counted > 0, np.nansum(theirs, axis=0) / np.maximum(counted, 1), np.nan)
    series = [{"month": f"{m:%Y-%m}", "value": _num(mine[i]), "peers_mean": _num(peer_mean[i])}
              for i, m in enumerate(grid) if m in months]
    return Impact(org=code, name=src.names().get((level, code)), level=level, ta=subject.id, title=subject.title,
                  headline=headline, month=f"{start:%Y-%m}", peers=peers, did=did, its=its, series=series)


def _offset(start: date, m: date) -> int:
    return (m.year - start.year) * 12 + m.month - start.month


def _add(start: date, k: int) -> date:
    n = start.year * 12 + start.month - 1 + k
    return date(n // 12, n % 12 + 1, 1)


def _num(v: float) -> float | None:
    return None if not np.isfinite(v) else float(v)


def describe(e: st.Estimate, unit: str) -> str:
    """One line for people: the estimate, its interval and the months used, or why there is none."""
    if e.effect is None:
        return f"{e.method}: {e.note}"
    return (f"{e.method}: {e.effect:+.3g} {unit} (95% interval {e.low:+.3g} to {e.high:+.3g}; "
            f"{e.months_before} months before, {e.months_after} after)")
