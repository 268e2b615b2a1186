"""Diffusion of one TA since NICE published it: England's monthly series with fitted logistic and
Bass curves, months to 50% and 80% of expected use, and each organisation's lag behind England."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date

import numpy as np

from ..engine.hierarchy import ENGLAND
from ..engine.stats.diffusion import DiffusionFit, fit_bass, fit_logistic, lag_behind
from ..errors import UptakeError
from .analysis import Source, check_level
from .scorecard import HEADLINE_LABEL


@dataclass
class CurveFit:
    model: str
    params: dict[str, float]
    r2: float | None
    converged: bool
    at_bound: bool
    t50: float | None
    t80: float | None
    message: str


@dataclass
class OrgLag:
    org: str
    name: str | None
    latest: float | None
    t50: float | None
    t80: float | None
    lag50: float | None  # months behind England at 50% (positive: behind)
    lag80: float | None


@dataclass
class Diffusion:
    ta: str
    title: str
    published: str
    funding_deadline: str
    headline: str
    headline_label: str
    target: float | None  # the level t50/t80 are fractions of (1 = expected use), or None
    target_label: str
    level: str
    membership: str
    engine: str
    months: list[str] = field(default_factory=list)
    months_since_publication: list[int] = field(default_factory=list)
    england: list[float | None] = field(default_factory=list)
    fits: list[CurveFit] = field(default_factory=list)
    t50_empirical: float | None = None
    t80_empirical: float | None = None
    organisations: list[OrgLag] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


def months_between(start: date, month: date) -> int:
    """Whole months from the TA's publication month to `month` (0 = the month it was published)."""
    return (month.year - start.year) * 12 + month.month - start.month


def _curve(f: DiffusionFit, target: float) -> CurveFit:
    def num(v):
        return None if v is None or not np.isfinite(v) else float(v)

    return CurveFit(model=f.model, params={k: float(v) for k, v in f.params.items()}, r2=num(f.r2),
                    converged=f.converged, at_bound=f.at_bound, t50=num(f.time_to(0.5 * target)),
                    t80=num(f.time_to(0.8 * target)), message=f.message)


def diffusion(an: Source, ta_id: str, level: str = "icb") -> Diffusion:
    check_level(level)
    ta = an.catalogue.ta(ta_id)
    months = [m for m in an.months() if m >= ta.published.replace(day=1)]
    if not months:
        raise UptakeError(f"no prescribing loaded since {ta.id} was published ({ta.published})")
    rows = an.ta_table([ta.id], months, (level,)).to_pylist()
    eng = sorted((r for r in rows if r["level"] == ENGLAND), key=lambda r: r["month"])
    if not eng:
        raise UptakeError(f"no data for {ta.id}")
    headline = eng[0]["headline"]
    t = np.array([months_between(ta.published, r["month"]) for r in eng], dtype=float)
    y = np.array([np.nan if r["value"] is None else r["value"] for r in eng], dtype=float)
    notes = []
    if headline == "index":
        target, label = 1.0, "NICE's expected use (uptake index 1)"
    else:
        latest = y[np.isfinite(y)][-1] if np.isfinite(y).any() else None
        target, label = (latest, "England's latest value (no expected use in the catalogue)")
        notes.append("Without a sourced expected use, 50% and 80% are of England's latest value, and the "
                     "fitted curves' ceilings are the data's, not NICE's.")
    mixed = [f"{m:%Y-%m}" for m in months if an.sources_note(m, level)]
    if mixed:
        notes.append(f"Sources mixed in {', '.join(mixed)}: organisation-level prescribing gives each organisation's "
                     "whole total where it has a row, practice-level prescribing elsewhere, never counted twice "
                     "(docs/metrics.md, \"Coverage and precedence\").")
    if t[0] > 0:
        notes.append(f"Data start {t[0]:.0f} months after publication: the early part of the curve is not "
                     "observed, so the fitted parameters rest on the later months only.")
    fits = []
    if target:
        fits = [_curve(fit_logistic(t, y, expected=target), target), _curve(fit_bass(t, y, expected=target), target)]
    from ..engine.stats.diffusion import first_crossing

    result = Diffusion(
        ta=ta.id, title=ta.title, published=ta.published.isoformat(), funding_deadline=ta.funding_deadline.isoformat(),
        headline=headline, headline_label=HEADLINE_LABEL[headline], target=target, target_label=label,
        level=level, membership=an.membership, engine=an.engine_name,
        months=[f"{r['month']:%Y-%m}" for r in eng], months_since_publication=[int(x) for x in t],
        england=[None if not np.isfinite(v) else float(v) for v in y], fits=fits,
        t50_empirical=first_crossing(t, y, 0.5 * target) if target else None,
        t80_empirical=first_crossing(t, y, 0.8 * target) if target else None, notes=notes)
    names = an.names()
    by_org: dict[str, list[dict]] = {}
    for r in rows:
        if r["level"] == level:
            by_org.setdefault(r["org"], []).append(r)
    for org, series in sorted(by_org.items()):
        series.sort(key=lambda r: r["month"])
        ot = np.array([months_between(ta.published, r["month"]) for r in series], dtype=float)
        oy = np.array([np.nan if r["value"] is None else r["value"] for r in series], dtype=float)
        lags = lag_behind(ot, oy, t, y, expected=target) if target else {}
        latest = oy[-1] if oy.size and np.isfinite(oy[-1]) else None
        result.organisations.append(OrgLag(
            org=org, name=names.get((level, org)), latest=None if latest is None else float(latest),
            t50=lags[0.5].t_org if lags else None, t80=lags[0.8].t_org if lags else None,
            lag50=lags[0.5].lag if lags else None, lag80=lags[0.8].lag if lags else None))
    return result
