"""Did uptake change after an intervention? Two estimates for one organisation's monthly series
(docs/metrics.md, "Impact"); both are associations, not proof of cause.

- **Difference-in-differences** against peers: d_t = organisation − mean of its peers in month t;
  the estimate is mean(d after) − mean(d before), over up to 12 months either side (the
  intervention's month is the first month after). Its 95% interval is Welch's t interval for
  the difference of the two means of d (months treated as independent given the peers, which
  remove the shared trend). Assumes parallel trends: without the intervention the gap to the
  peers would have stayed as it was.
- **Interrupted time series** with the organisation's own trend: segmented least squares
  y_t = a + b·t + c·after_t + e·(t − t0)·after_t; the estimate is the level change c at the
  intervention, with its 95% t interval (n − 4 degrees of freedom), and the change of slope e.
  Assumes the trend before would have continued in a straight line.

Each needs at least `MIN_MONTHS` months with values on each side, otherwise "not enough data".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

WINDOW = 12
MIN_MONTHS = 6
LEVEL = 0.95
NOT_ENOUGH = "not enough data"


@dataclass(frozen=True)
class Estimate:
    method: str  # "difference-in-differences" | "interrupted time series"
    effect: float | None
    low: float | None
    high: float | None
    months_before: int
    months_after: int
    note: str | None = None  # NOT_ENOUGH and why, when there is no estimate
    slope_change: float | None = None  # ITS only: change of monthly slope

    @property
    def significant(self) -> bool:
        return self.low is not None and (self.low > 0 or self.high < 0)


def _split(values: np.ndarray, start: int, window: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices with a value in the `window` months before `start` and the `window` from it."""
    idx = np.arange(len(values))
    ok = np.isfinite(values)
    before = idx[ok & (idx >= start - window) & (idx < start)]
    after = idx[ok & (idx >= start) & (idx < start + window)]
    return before, after


def _short(method: str, nb: int, na: int, what: str) -> Estimate:
    return Estimate(method, None, None, None, nb, na,
                    f"{NOT_ENOUGH}: {nb} month(s) before and {na} after with {what}; {MIN_MONTHS} each needed")


def did(org: np.ndarray, peers: np.ndarray, start: int, window: int = WINDOW,
        min_months: int = MIN_MONTHS) -> Estimate:
    """org: [T] series; peers: [P, T] peers' series (NaN where missing); start: index of the
    intervention month."""
    method = "difference-in-differences"
    peers = np.atleast_2d(np.asarray(peers, dtype=np.float64))
    have = np.isfinite(peers)
    counted = have.sum(axis=0)
    mean = np.where(counted > 0, np.where(have, peers, 0).sum(axis=0) / np.maximum(counted, 1), np.nan)
    gap = np.asarray(org, dtype=np.float64) - mean
    b, a = _split(gap, start, window)
    if len(b) < min_months or len(a) < min_months or peers.shape[0] == 0:
        return _short(method, len(b), len(a), "the organisation's and its peers' values")
    x, y = gap[b], gap[a]
    vx, vy = x.var(ddof=1) / len(x), y.var(ddof=1) / len(y)
    se = np.sqrt(vx + vy)
    effect = float(y.mean() - x.mean())
    if se == 0:
        return Estimate(method, effect, effect, effect, len(b), len(a))
    df = (vx + vy) ** 2 / (vx ** 2 / (len(x) - 1) + vy ** 2 / (len(y) - 1))
    q = stats.t.ppf(0.5 + LEVEL / 2, df)
    return Estimate(method, effect, effect - q * se, effect + q * se, len(b), len(a))


def its(org: np.ndarray, start: int, window: int = WINDOW, min_months: int = MIN_MONTHS) -> Estimate:
    """Segmented regression on the organisation's own series around `start`."""
    method = "interrupted time series"
    y_all = np.asarray(org, dtype=np.float64)
    b, a = _split(y_all, start, window)
    if len(b) < min_months or len(a) < min_months:
        return _short(method, len(b), len(a), "a value")
    idx = np.concatenate([b, a])
    t = (idx - start).astype(np.float64)
    after = (idx >= start).astype(np.float64)
    X = np.column_stack([np.ones_like(t), t, after, t * after])
    y = y_all[idx]
    coef, _, rank, _ = np.linalg.lstsq(X, y, rcond=None)
    df = len(y) - 4
    resid = y - X @ coef
    sigma2 = resid @ resid / df
    cov = sigma2 * np.linalg.inv(X.T @ X)
    se = float(np.sqrt(cov[2, 2]))
    q = stats.t.ppf(0.5 + LEVEL / 2, df)
    c = float(coef[2])
    return Estimate(method, c, c - q * se, c + q * se, len(b), len(a), slope_change=float(coef[3]))
