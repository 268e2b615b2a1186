"""When an organisation will reach its expected use, from its fitted diffusion curve (issue 18;
docs/metrics.md §3.6).

The series is the uptake index (patients ÷ central expected) by months since the TA's
publication. A logistic curve U(t) = K / (1 + e^{−r(t − t₀)}) is fitted (diffusion.fit_logistic)
and solved for U(t) = level:

    t(level) = t₀ + ln(x / (1 − x)) / r,   x = level / K

for the central expected use (level 1) and for the ends of the expected range (levels
expected_low ÷ expected and expected_high ÷ expected): the interval is the months at which the
same curve reaches the low and the high end. Outcomes:

- ``reached``: the series is already at or above the level (the first month it got there);
- ``forecast``: the curve reaches it within ``horizon`` months (60: five years) of the last month;
- ``beyond``: the curve's ceiling K is at or below the level, or it gets there after the horizon —
  "not within 5 years at the current rate";
- ``not_fitted``: too few points, flat or zero series (the fit's message says which).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from .diffusion import first_crossing, fit_logistic

HORIZON = 60  # months: "not within 5 years at the current rate"


@dataclass(frozen=True)
class Forecast:
    status: str  # reached, forecast, beyond, not_fitted
    t: float | None  # months since publication at which the central level is reached
    t_low: float | None  # ... the low end of the expected range (the earlier month)
    t_high: float | None  # ... the high end (the later month); None: beyond the horizon
    message: str = ""


def _when(K: float, r: float, t0: float, level: float, last: float, horizon: float) -> float | None:
    x = level / K
    if not 0.0 < x < 1.0 or r <= 0:
        return None
    t = t0 + math.log(x / (1.0 - x)) / r
    return t if t <= last + horizon else None


def reach(t: ArrayLike, y: ArrayLike, level: float = 1.0, low: float | None = None, high: float | None = None,
          horizon: float = HORIZON) -> Forecast:
    """Months since publication at which the series reaches `level` (and `low`, `high`)."""
    tt, yy = np.asarray(t, dtype=float), np.asarray(y, dtype=float)
    low = level if low is None else low
    high = level if high is None else high
    ok = np.isfinite(yy)
    if ok.any():
        done = first_crossing(tt[ok], yy[ok], level)
        if done is not None:
            return Forecast("reached", done, first_crossing(tt[ok], yy[ok], low), first_crossing(tt[ok], yy[ok], high))
    f = fit_logistic(tt, yy, expected=level)
    if not f.converged:
        return Forecast("not_fitted", None, None, None, f.message)
    K, r, t0 = f.params["K"], f.params["r"], f.params["t0"]
    last = float(tt[ok][-1])
    central = _when(K, r, t0, level, last, horizon)
    at_low = first_crossing(tt[ok], yy[ok], low) if low <= level else None
    at_low = at_low if at_low is not None else _when(K, r, t0, low, last, horizon)
    at_high = _when(K, r, t0, high, last, horizon)
    if central is None:
        return Forecast("beyond", None, at_low, None,
                        f"fitted ceiling K = {K:.3g}: not within {horizon / 12:.0f} years at the current rate")
    return Forecast("forecast", central, at_low, at_high)
