"""Diffusion curves for a monthly uptake series (reference/methods.md §6.1–6.2).

Models, t in months since the TA's publication (or any origin the caller chooses):

- logistic  U(t) = K / (1 + e^{−r(t − t₀)})
  time to reach a level L < K:  t = t₀ + ln(x/(1 − x))/r with x = L/K  (t₅₀ of K is t₀)
- Bass      N(t) = m·F(t),  F(t) = (1 − e^{−(p+q)t}) / (1 + (q/p)·e^{−(p+q)t})
  time to reach a level L < m:  t = ln((1 + (q/p)·x)/(1 − x))/(p + q) with x = L/m
  (p = 0.01, q = 0.4 gives t₅₀ = ln 42/0.41 = 9.12); peak adoption t* = ln(q/p)/(p + q).

Both are fitted by non-linear least squares (scipy.optimize.least_squares, trust-region
reflective with bounds) from several starting points, keeping the best. "Expected" is the
level the series is measured against: for an uptake share (observed ÷ expected) it is 1, so
t₅₀ and t₈₀ are the months to reach 0.5 and 0.8 of expected use — not of the fitted ceiling,
which may be above or below it. Each is given from the fitted curve (closed forms above; None
if the fitted ceiling never reaches the level) and as the empirical first crossing (linear
interpolation between the last month below the level and the first at or above it; None if the
series never gets there).

A series that is too short (fewer than 4 points), flat, or zero is not fitted: the result has
converged=False and says why. Missing values (NaN) are dropped before fitting.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike
from scipy import optimize

from ._arrays import FloatArray, as_float, same_length

Model = Literal["logistic", "bass"]
MIN_POINTS = 4
CEILING_FACTOR = 10.0  # the ceiling (K or m) may be fitted up to this many times the largest value


def logistic(t: ArrayLike, K: float, r: float, t0: float) -> FloatArray:
    """U(t) = K / (1 + e^{−r(t − t₀)})."""
    tt = as_float(t, "t")
    with np.errstate(over="ignore"):
        return K / (1.0 + np.exp(-r * (tt - t0)))


def bass(t: ArrayLike, m: float, p: float, q: float) -> FloatArray:
    """N(t) = m·F(t), F(t) = (1 − e^{−(p+q)t}) / (1 + (q/p)·e^{−(p+q)t}); 0 for t ≤ 0."""
    tt = np.maximum(as_float(t, "t"), 0.0)
    e = np.exp(-(p + q) * tt)
    return m * (1.0 - e) / (1.0 + (q / p) * e)


def logistic_time_to(fraction: float, r: float, t0: float) -> float | None:
    """t at which U(t) = fraction·K: t₀ + ln(x/(1 − x))/r; None unless 0 < x < 1 and r > 0."""
    if not 0.0 < fraction < 1.0 or r <= 0:
        return None
    return t0 + math.log(fraction / (1.0 - fraction)) / r


def bass_time_to(fraction: float, p: float, q: float) -> float | None:
    """t at which F(t) = x: ln((1 + (q/p)·x)/(1 − x))/(p + q); None unless 0 < x < 1, p > 0."""
    if not 0.0 < fraction < 1.0 or p <= 0 or q < 0:
        return None
    return math.log((1.0 + (q / p) * fraction) / (1.0 - fraction)) / (p + q)


def bass_peak_time(p: float, q: float) -> float | None:
    """t* = ln(q/p)/(p + q), the month of fastest adoption; None unless q > p > 0."""
    if p <= 0 or q <= p:
        return None
    return math.log(q / p) / (p + q)


def first_crossing(t: ArrayLike, y: ArrayLike, level: float) -> float | None:
    """The first time the series reaches `level`: linear interpolation between the last point
    below it and the first point at or above it (that point's own t if it is the first). None
    if it never does. NaN points are skipped; t must increase."""
    tt, yy = _series(t, y)
    at = np.nonzero(yy >= level)[0]
    if at.size == 0:
        return None
    i = int(at[0])
    if i == 0:
        return float(tt[0])
    t1, t2, y1, y2 = tt[i - 1], tt[i], yy[i - 1], yy[i]
    return float(t1 + (level - y1) * (t2 - t1) / (y2 - y1))


def _series(t: ArrayLike, y: ArrayLike) -> tuple[FloatArray, FloatArray]:
    tt = as_float(t, "t")
    yy = as_float(y, "y")
    same_length(t=tt, y=yy)
    keep = np.isfinite(tt) & np.isfinite(yy)
    tt, yy = tt[keep], yy[keep]
    if np.any(np.diff(tt) <= 0):
        raise ValueError("t: expected strictly increasing times")
    return tt, yy


@dataclass(frozen=True)
class DiffusionFit:
    """A fitted curve. `params`: K, r, t0 (logistic) or m, p, q (Bass); `r2` = 1 − SS_res/SS_tot;
    `rmse` = √(SS_res/n); `converged`: the optimiser reported success and the parameters are
    finite; `at_bound`: a parameter ended on its bound (usually a ceiling the data cannot pin
    down yet: read t₅₀/t₈₀ with care); `n`: points used; `message`: the optimiser's or why no
    fit was tried. `t50`/`t80`: months to 0.5/0.8 × expected on the fitted curve;
    `t50_empirical`/`t80_empirical`: first crossings of the data. None where never reached."""

    model: str
    params: dict[str, float]
    r2: float
    rmse: float
    converged: bool
    at_bound: bool
    n: int
    expected: float
    t50: float | None
    t80: float | None
    t50_empirical: float | None
    t80_empirical: float | None
    message: str
    extra: dict[str, float | None] = field(default_factory=dict)

    def predict(self, t: ArrayLike) -> FloatArray:
        """The fitted curve at `t` (NaN if nothing was fitted)."""
        if not self.params:
            return np.full(as_float(t, "t").shape, np.nan)
        if self.model == "logistic":
            return logistic(t, self.params["K"], self.params["r"], self.params["t0"])
        return bass(t, self.params["m"], self.params["p"], self.params["q"])

    def time_to(self, level: float) -> float | None:
        """Months until the fitted curve reaches `level` (in the series' units); None if never."""
        if not self.converged:
            return None
        if self.model == "logistic":
            K, r, t0 = self.params["K"], self.params["r"], self.params["t0"]
            return logistic_time_to(level / K, r, t0) if K > 0 else None
        m, p, q = self.params["m"], self.params["p"], self.params["q"]
        return bass_time_to(level / m, p, q) if m > 0 else None


def _failed(model: Model, n: int, expected: float, t: FloatArray, y: FloatArray, why: str) -> DiffusionFit:
    return DiffusionFit(model, {}, float("nan"), float("nan"), False, False, n, expected, None, None,
                        first_crossing(t, y, 0.5 * expected) if n else None,
                        first_crossing(t, y, 0.8 * expected) if n else None, why)


def _starts(model: Model, t: FloatArray, y: FloatArray) -> list[list[float]]:
    top = float(np.max(y))
    span = float(t[-1] - t[0]) or 1.0
    if model == "logistic":
        half = first_crossing(t, y, top / 2.0)
        mid = half if half is not None else float(t[len(t) // 2])
        slope = float(np.max(np.diff(y) / np.diff(t))) if len(t) > 1 else 0.0
        r0 = min(max(4.0 * slope / (1.1 * top), 0.05), 5.0) if slope > 0 else 4.394 / span
        return [[1.1 * top, r0, mid], [1.5 * top, r0 / 2.0, mid + span / 4.0],
                [3.0 * top, r0 / 2.0, float(t[-1])], [1.0 * top, 2.0 * r0, mid]]
    return [[1.2 * top, p, q] for p in (0.001, 0.01, 0.05) for q in (0.05, 0.3, 1.0)] + [[3.0 * top, 0.005, 0.3]]


def _bounds(model: Model, t: FloatArray, y: FloatArray) -> tuple[list[float], list[float]]:
    top = float(np.max(y))
    span = float(t[-1] - t[0]) or 1.0
    if model == "logistic":
        return [top * 1e-6, 1e-6, float(t[0]) - 5.0 * span], [CEILING_FACTOR * top, 20.0, float(t[-1]) + 5.0 * span]
    return [top * 1e-6, 1e-7, 0.0], [CEILING_FACTOR * top, 1.0, 5.0]


def fit(model: Model, t: ArrayLike, y: ArrayLike, *, expected: float = 1.0) -> DiffusionFit:
    """Fit `model` ("logistic" or "bass") to the series y(t) by least squares.

    `expected` is the level meaning 100% of expected use in y's units (1 for an uptake share);
    t₅₀/t₈₀ are the times to 0.5 and 0.8 of it. Never raises for a flat, zero or short series:
    it returns converged=False with the reason in `message`.
    """
    if model not in ("logistic", "bass"):
        raise ValueError(f"model {model!r}: expected 'logistic' or 'bass'")
    if not (np.isfinite(expected) and expected > 0):
        raise ValueError(f"expected {expected!r}: expected a positive number")
    tt, yy = _series(t, y)
    n = int(tt.size)
    if n < MIN_POINTS:
        return _failed(model, n, expected, tt, yy, f"too few points to fit ({n}; need {MIN_POINTS})")
    if np.max(yy) <= 0:
        return _failed(model, n, expected, tt, yy, "the series is zero throughout: nothing to fit")
    if np.ptp(yy) == 0:
        return _failed(model, n, expected, tt, yy, "the series is flat: its timing cannot be fitted")
    if model == "bass" and tt[0] < 0:
        return _failed(model, n, expected, tt, yy, "the Bass curve starts at t = 0; times must be ≥ 0")

    curve: Callable[..., FloatArray] = logistic if model == "logistic" else bass
    lower, upper = _bounds(model, tt, yy)
    best: optimize.OptimizeResult | None = None
    last_error = "every start gave a non-finite cost"
    for start in _starts(model, tt, yy):
        x0 = np.clip(start, lower, upper)
        try:
            res = optimize.least_squares(lambda p: curve(tt, *p) - yy, x0, bounds=(lower, upper),
                                         method="trf", x_scale="jac", max_nfev=2000)
        except (ValueError, FloatingPointError) as exc:  # a start the optimiser cannot use
            last_error = str(exc)
            continue
        if np.isfinite(res.cost) and (best is None or res.cost < best.cost):
            best = res
    if best is None:
        return _failed(model, n, expected, tt, yy, f"no starting point could be fitted ({last_error})")

    names = ("K", "r", "t0") if model == "logistic" else ("m", "p", "q")
    params = {k: float(v) for k, v in zip(names, best.x)}
    residual = curve(tt, *best.x) - yy
    ss_res = float(np.sum(residual**2))
    ss_tot = float(np.sum((yy - yy.mean()) ** 2))
    converged = bool(best.success and np.all(np.isfinite(best.x)))
    span = np.asarray(upper) - np.asarray(lower)
    at_bound = bool(np.any(np.abs(best.x - lower) <= 1e-6 * span) or np.any(np.abs(best.x - upper) <= 1e-6 * span))
    result = DiffusionFit(
        model=model, params=params, r2=1.0 - ss_res / ss_tot, rmse=math.sqrt(ss_res / n),
        converged=converged, at_bound=at_bound, n=n, expected=float(expected), t50=None, t80=None,
        t50_empirical=first_crossing(tt, yy, 0.5 * expected), t80_empirical=first_crossing(tt, yy, 0.8 * expected),
        message=str(best.message),
        extra={"peak_time": bass_peak_time(params["p"], params["q"])} if model == "bass" else {},
    )
    return _with_times(result)


def _with_times(fit_: DiffusionFit) -> DiffusionFit:
    return replace(fit_, t50=fit_.time_to(0.5 * fit_.expected), t80=fit_.time_to(0.8 * fit_.expected))


def fit_logistic(t: ArrayLike, y: ArrayLike, *, expected: float = 1.0) -> DiffusionFit:
    """`fit("logistic", t, y, expected=expected)`."""
    return fit("logistic", t, y, expected=expected)


def fit_bass(t: ArrayLike, y: ArrayLike, *, expected: float = 1.0) -> DiffusionFit:
    """`fit("bass", t, y, expected=expected)`."""
    return fit("bass", t, y, expected=expected)


@dataclass(frozen=True)
class Lag:
    """How far an organisation's series is behind a reference (e.g. England) at `level`:
    `lag` = t_org − t_ref (months; positive = behind), None if either never reaches it."""

    level: float
    t_org: float | None
    t_ref: float | None
    lag: float | None


def lag_behind(t: ArrayLike, y: ArrayLike, ref_t: ArrayLike, ref_y: ArrayLike, *,
               fractions: tuple[float, ...] = (0.5, 0.8), expected: float = 1.0) -> dict[float, Lag]:
    """The horizontal distance between the organisation's series and the reference series at
    each fraction of `expected` (50% and 80% by default), from their empirical first crossings.
    Keyed by fraction."""
    out: dict[float, Lag] = {}
    for fraction in fractions:
        level = fraction * expected
        t_org = first_crossing(t, y, level)
        t_ref = first_crossing(ref_t, ref_y, level)
        out[fraction] = Lag(level, t_org, t_ref, None if t_org is None or t_ref is None else t_org - t_ref)
    return out
