"""Confidence limits as OHID Fingertips computes them (PHE "Technical Guide – Confidence
Intervals", 2018; reference/methods.md §5.1 and §9).

Notation: O observed count (numerator), n denominator, α = 1 − level,
z = Φ⁻¹(1 − α/2) (1.959964 at 95%, 3.090232 at 99.8%).

- Proportions: Wilson score interval.
- Counts (rates, ratios): exact Poisson limits through the χ² distribution when O < 10,
  Byar's approximation when O ≥ 10 (`poisson_limits`, the Fingertips rule).
- A rate's limits are the count's limits ÷ n (× a display multiplier); an indirectly
  standardised ratio's (O/E) are the count's limits ÷ E.
- A funnel's control limits for a count (`funnel_count_limits`) invert the exact limits: the
  counts O whose exact interval has the expected count μ as its bound, as PHEindicatormethods
  and Fingertips draw ratio and rate funnels.

Every function is vectorised: arrays in, arrays out (`Limits(lower, upper)`, a named tuple).
Missing values (NaN) and zero denominators give NaN limits; impossible inputs (negative counts,
a proportion's numerator above its denominator) raise ValueError. Counts need not be whole
numbers (observed use measured in patient-equivalents is not): the χ² and Byar formulas are
used as written with a real O, which is the gamma-distribution generalisation of the Poisson.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike
from scipy import special, stats

from ._arrays import FloatArray, as_float, check_level, same_length

LEVEL_95 = 0.95
LEVEL_998 = 0.998
BYAR_THRESHOLD = 10.0  # Fingertips: exact limits for O < 10, Byar's for O ≥ 10


class Limits(NamedTuple):
    """Lower and upper limits, element by element."""

    lower: FloatArray
    upper: FloatArray


def z_value(level: float) -> float:
    """The two-sided normal quantile z = Φ⁻¹(1 − α/2) with α = 1 − level.

    z_value(0.95) = 1.959964, z_value(0.998) = 3.090232 (as Fingertips' qnorm(level + α/2)).
    """
    level = check_level(level)
    return float(special.ndtri(0.5 + level / 2.0))


def _counts(observed: ArrayLike, name: str = "observed") -> FloatArray:
    o = as_float(observed, name)
    if np.any(o < 0):
        raise ValueError(f"{name}: counts must be zero or more")
    return o


def wilson_limits(numerator: ArrayLike, denominator: ArrayLike, level: float = LEVEL_95) -> Limits:
    """Wilson score limits for the proportion O/n:

        p_L, p_U = (2O + z² ∓ z·√(z² + 4·O·(1 − O/n))) / (2·(n + z²))

    Defined for O = 0 (p_L = 0, p_U = z²/(n + z²)) and O = n (p_U = 1). NaN where n ≤ 0 or an
    input is NaN. ValueError if O < 0 or O > n.
    """
    o = _counts(numerator, "numerator")
    n = as_float(denominator, "denominator")
    same_length(numerator=o, denominator=n)
    if np.any(o > n):
        raise ValueError("numerator: a proportion's numerator must not exceed its denominator")
    z = z_value(level)
    ok = n > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        p = np.where(ok, o / np.where(ok, n, 1.0), np.nan)
        root = z * np.sqrt(z * z + 4.0 * o * (1.0 - p))
        centre = 2.0 * o + z * z
        scale = 2.0 * (n + z * z)
        lower = np.where(ok, (centre - root) / scale, np.nan)
        upper = np.where(ok, (centre + root) / scale, np.nan)
    # At O = 0 and O = n the formula gives exactly 0 and 1, but in floating point z·√(z²) need
    # not equal z², which would leave a limit an ulp inside and flag a proportion of 1 against a
    # target of 1: set the exact values.
    lower = np.where(ok & (o == 0), 0.0, np.clip(lower, 0.0, 1.0))
    upper = np.where(ok & (o == n), 1.0, np.clip(upper, 0.0, 1.0))
    return Limits(lower, upper)


def byar_limits(observed: ArrayLike, level: float = LEVEL_95) -> Limits:
    """Byar's approximation to the Poisson limits of a count O:

        O_L = O·(1 − 1/(9O) − z/(3√O))³
        O_U = (O+1)·(1 − 1/(9(O+1)) + z/(3√(O+1)))³

    Meant for O ≥ 10 (within 0.2% of exact there at 95%). For small O the lower formula can go
    negative or be undefined (O = 0); it is then set to 0.
    """
    o = _counts(observed)
    z = z_value(level)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        lower = o * (1.0 - 1.0 / (9.0 * o) - z / (3.0 * np.sqrt(o))) ** 3
        o1 = o + 1.0
        upper = o1 * (1.0 - 1.0 / (9.0 * o1) + z / (3.0 * np.sqrt(o1))) ** 3
    lower = np.where((o == 0) | (lower < 0), 0.0, lower)
    return Limits(np.where(np.isnan(o), np.nan, lower), upper)


def exact_poisson_limits(observed: ArrayLike, level: float = LEVEL_95) -> Limits:
    """Exact (Garwood) Poisson limits of a count O through the χ² distribution:

        O_L = ½·χ²_{α/2}(2O)       (0 when O = 0)
        O_U = ½·χ²_{1−α/2}(2O + 2)

    where χ²_q(ν) is the q-quantile of χ² with ν degrees of freedom. For whole O these are the
    means μ at which P(X ≥ O | μ) = α/2 and P(X ≤ O | μ) = α/2.
    """
    o = _counts(observed)
    alpha = 1.0 - check_level(level)
    with np.errstate(invalid="ignore"):
        lower = np.where(o > 0, stats.chi2.ppf(alpha / 2.0, 2.0 * np.where(o > 0, o, 1.0)) / 2.0, 0.0)
        upper = stats.chi2.ppf(1.0 - alpha / 2.0, 2.0 * o + 2.0) / 2.0
    # For a vanishingly small positive O (below ~1e-300) the quantile underflows to NaN: it is 0.
    lower = np.where(np.isnan(lower) & (o > 0) & np.isfinite(o), 0.0, lower)
    return Limits(np.where(np.isnan(o), np.nan, lower), upper)


def poisson_limits(observed: ArrayLike, level: float = LEVEL_95) -> Limits:
    """Limits of a count as Fingertips computes them: exact (χ²) when O < 10, Byar's when O ≥ 10."""
    o = _counts(observed)
    exact = exact_poisson_limits(o, level)
    byar = byar_limits(o, level)
    use_byar = o >= BYAR_THRESHOLD
    return Limits(np.where(use_byar, byar.lower, exact.lower), np.where(use_byar, byar.upper, exact.upper))


def funnel_count_limits(expected: ArrayLike, level: float = LEVEL_95) -> Limits:
    """The funnel's control limits for a count with Poisson mean μ (the expected count), as
    PHEindicatormethods' `calculate_funnel_limits` draws ratio and rate funnels: the upper limit
    is the count O_U whose exact *lower* limit is μ, the lower limit the count O_L whose exact
    *upper* limit is μ:

        ½χ²_{α/2}(2·O_U) = μ          i.e.  P(O_U, μ) = α/2
        ½χ²_{1−α/2}(2·O_L + 2) = μ    i.e.  P(O_L + 1, μ) = 1 − α/2

    with P the regularised lower incomplete gamma function (solved for its shape by
    `scipy.special.gdtrib`; continuous in O, the gamma generalisation of the Poisson). At a
    whole O this is exactly the official curve, which PHEindicatormethods computes at whole
    observed counts O as the points (E, O/E) with E the exact bound of O. O_L is 0 while μ is
    below the exact upper limit of 0 events (−ln(α/2): 3.689 at 95%, 6.908 at 99.8%).

    An observed count O is outside [O_L, O_U] exactly when its own exact interval excludes μ,
    so a point lies beyond the drawn limit exactly when its exact-interval flag says so.
    """
    mu = _counts(expected, "expected")
    tail = (1.0 - check_level(level)) / 2.0
    with np.errstate(invalid="ignore"):
        upper = special.gdtrib(1.0, tail, mu)
        lower = np.maximum(special.gdtrib(1.0, 1.0 - tail, mu) - 1.0, 0.0)
    upper = np.where(mu == 0, 0.0, upper)
    return Limits(np.where(np.isnan(mu), np.nan, lower), np.where(np.isnan(mu), np.nan, upper))


def rate_limits(
    count: ArrayLike, denominator: ArrayLike, level: float = LEVEL_95, multiplier: float = 1.0
) -> Limits:
    """Limits of the rate O/n × multiplier: `poisson_limits`(O) / n × multiplier. NaN where n ≤ 0."""
    o = _counts(count, "count")
    n = as_float(denominator, "denominator")
    same_length(count=o, denominator=n)
    counts = poisson_limits(o, level)
    ok = n > 0
    safe = np.where(ok, n, 1.0)
    return Limits(
        np.where(ok, counts.lower / safe * multiplier, np.nan),
        np.where(ok, counts.upper / safe * multiplier, np.nan),
    )


def ratio_limits(observed: ArrayLike, expected: ArrayLike, level: float = LEVEL_95) -> Limits:
    """Limits of an indirectly standardised ratio O/E: `poisson_limits`(O) / E. NaN where E ≤ 0."""
    return rate_limits(observed, expected, level, 1.0)
