"""How much areas vary: the NHS Atlas of Variation's range statistics and the classic
small-area variation measures (reference/methods.md §5.5).

For the values xᵢ of the I areas (rates, proportions or uptake indices; NaN ignored):

- extremal quotient EQ = max/min, and the same after excluding the k highest and k lowest
  areas (k = ⌊share·I⌋, share 5% by default, or k given: the Atlas excluded 5 each end);
- P90/P10 and the interquartile ratio Q3/Q1, centiles by linear interpolation between order
  statistics (PERCENTILE_CONT, R type 7, numpy's default);
- coefficient of variation CV = s/x̄ with the sample standard deviation (divisor I − 1), and
  the population-weighted CV = s_w/x̄_w with x̄_w = Σwᵢxᵢ/Σwᵢ and
  s_w = √(Σwᵢ(xᵢ − x̄_w)²/Σwᵢ) (weights as frequencies of people, divisor Σw);
- McPherson's systematic component of variation, from observed Oᵢ and expected Eᵢ:
  SCV = 100·[(1/k)·Σ(Oᵢ − Eᵢ)²/Eᵢ² − (1/k)·Σ1/Eᵢ] over the k areas with Eᵢ > 0. It removes
  the Poisson part of the variation, so it can be negative when areas vary less than chance.

Zeros: a ratio whose lower value (min, trimmed min, P10 or Q1) is 0 is undefined and returned
as None, never inf, and `notes` says why; likewise a CV whose mean is 0, and any statistic with
too few areas (a ratio needs 1 area, a trimmed one at least 1 left, a CV 2). Negative values
raise ValueError: these statistics are for non-negative quantities.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from ._arrays import FloatArray, as_float, fsum, same_length
from .ranking import percentile_cont


@dataclass(frozen=True)
class VariationSummary:
    """Variation over areas. Ratios are None when undefined (see `notes`).

    `n_areas`: areas with a value; `n_zero`: of which 0; `minimum`, `maximum`;
    `extremal_quotient` (max/min); `trimmed_k` areas excluded at each end and
    `extremal_quotient_trimmed`; `p10`, `p90`, `p90_p10`; `q1`, `q3`, `interquartile_ratio`;
    `cv`, `cv_weighted` (None without weights); `scv` (None without observed and expected);
    `notes`: why any figure is None.
    """

    n_areas: int
    n_zero: int
    minimum: float | None
    maximum: float | None
    extremal_quotient: float | None
    trimmed_k: int
    extremal_quotient_trimmed: float | None
    p10: float | None
    p90: float | None
    p90_p10: float | None
    q1: float | None
    q3: float | None
    interquartile_ratio: float | None
    cv: float | None
    cv_weighted: float | None
    scv: float | None
    notes: tuple[str, ...]


def _ratio(high: float | None, low: float | None, name: str, notes: list[str]) -> float | None:
    if high is None or low is None:
        return None
    if low == 0:
        notes.append(f"{name} undefined: its lower value is 0")
        return None
    return high / low


def trim_count(n: int, share: float = 0.05, k: int | None = None) -> int:
    """Areas to exclude at each end: `k` if given, else ⌊share·n⌋."""
    if k is not None:
        if k < 0:
            raise ValueError(f"k {k!r}: expected zero or more")
        return int(k)
    if not 0.0 <= share < 0.5:
        raise ValueError(f"share {share!r}: expected a number from 0 up to (not including) 0.5")
    return int(math.floor(share * n + 1e-9))


def extremal_quotient(values: ArrayLike, *, share: float = 0.0, k: int | None = None) -> float | None:
    """max/min of the values after excluding k = ⌊share·I⌋ (or `k`) areas at each end.
    None when no value is left or the minimum left is 0."""
    x = np.sort(_values(values))
    kk = trim_count(x.size, share, k)
    kept = x[kk: x.size - kk]
    if kept.size == 0 or kept[0] == 0:
        return None
    return float(kept[-1] / kept[0])


def coefficient_of_variation(values: ArrayLike, weights: ArrayLike | None = None) -> float | None:
    """s/x̄ (sample sd, divisor I − 1) or, with `weights`, the weighted s_w/x̄_w (divisor Σw).
    None with fewer than 2 areas, a zero mean or zero total weight. Areas with a missing value
    or weight are ignored."""
    x = as_float(values, "values")
    if weights is None:
        x = x[np.isfinite(x)]
        if x.size < 2:
            return None
        mean = fsum(x) / x.size
        if mean == 0:
            return None
        sd = math.sqrt(fsum((x - mean) ** 2) / (x.size - 1))
        return sd / mean
    w = as_float(weights, "weights")
    same_length(values=x, weights=w)
    if np.any(w < 0):
        raise ValueError("weights: expected zero or more")
    keep = np.isfinite(x) & np.isfinite(w)
    x, w = x[keep], w[keep]
    total = fsum(w)
    if x.size < 2 or total <= 0:
        return None
    mean = fsum(w * x) / total
    if mean == 0:
        return None
    sd = math.sqrt(fsum(w * (x - mean) ** 2) / total)
    return sd / mean


def systematic_component(observed: ArrayLike, expected: ArrayLike) -> float | None:
    """McPherson's SCV = 100·[mean((O − E)²/E²) − mean(1/E)] over areas with E > 0 and both
    values present; None if there are none."""
    o = as_float(observed, "observed")
    e = as_float(expected, "expected")
    same_length(observed=o, expected=e)
    keep = np.isfinite(o) & np.isfinite(e) & (e > 0)
    o, e = o[keep], e[keep]
    if o.size == 0:
        return None
    k = o.size
    return 100.0 * (fsum((o - e) ** 2 / e**2) / k - fsum(1.0 / e) / k)


def _values(values: ArrayLike) -> FloatArray:
    x = as_float(values, "values")
    x = x[np.isfinite(x)]
    if np.any(x < 0):
        raise ValueError("values: variation statistics need values of zero or more")
    return x


def variation_summary(
    values: ArrayLike,
    *,
    population: ArrayLike | None = None,
    observed: ArrayLike | None = None,
    expected: ArrayLike | None = None,
    share: float = 0.05,
    k: int | None = None,
) -> VariationSummary:
    """Every variation statistic for the areas' `values` (module docstring for the formulas).

    `population` weights the weighted CV; `observed`/`expected` give the SCV; `share` (5%) or
    `k` sets how many areas the trimmed extremal quotient leaves out at each end.
    """
    raw = as_float(values, "values")
    x = np.sort(_values(raw))
    n = int(x.size)
    notes: list[str] = []
    kk = trim_count(n, share, k)
    if n == 0:
        notes.append("no area has a value")
        lo = hi = p10 = p90 = q1 = q3 = None
    else:
        lo, hi = float(x[0]), float(x[-1])
        p10, q1, q3, p90 = (float(v) for v in percentile_cont(x, [0.1, 0.25, 0.75, 0.9]))
    eq = _ratio(hi, lo, "extremal quotient", notes)
    kept = x[kk: n - kk]
    if n and kept.size == 0:
        notes.append(f"trimmed extremal quotient undefined: excluding {kk} at each end leaves no area")
        eq_trim = None
    else:
        eq_trim = _ratio(float(kept[-1]) if kept.size else None, float(kept[0]) if kept.size else None,
                         "trimmed extremal quotient", notes)
    p_ratio = _ratio(p90, p10, "P90/P10", notes)
    iqr = _ratio(q3, q1, "interquartile ratio", notes)
    cv = coefficient_of_variation(x)
    if cv is None and n:
        notes.append("CV undefined: fewer than 2 areas or a mean of 0")
    cv_w = None
    if population is not None:
        pop = as_float(population, "population")
        same_length(values=raw, population=pop)
        if np.any(raw[np.isfinite(raw)] < 0):
            raise ValueError("values: variation statistics need values of zero or more")
        cv_w = coefficient_of_variation(raw, pop)
        if cv_w is None:
            notes.append("weighted CV undefined: fewer than 2 areas, no population or a mean of 0")
    scv = None
    if observed is not None and expected is not None:
        scv = systematic_component(observed, expected)
        if scv is None:
            notes.append("SCV undefined: no area has an expected value above 0")
    elif (observed is None) != (expected is None):
        raise ValueError("SCV needs both observed and expected")
    return VariationSummary(
        n_areas=n,
        n_zero=int(np.count_nonzero(x == 0)),
        minimum=lo,
        maximum=hi,
        extremal_quotient=eq,
        trimmed_k=kk,
        extremal_quotient_trimmed=eq_trim,
        p10=p10,
        p90=p90,
        p90_p10=p_ratio,
        q1=q1,
        q3=q3,
        interquartile_ratio=iqr,
        cv=cv,
        cv_weighted=cv_w,
        scv=scv,
        notes=tuple(notes),
    )
