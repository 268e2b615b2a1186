"""Percentile ranks and deciles as OpenPrescribing computes them (reference/methods.md §5.4).
The engine computes the same in SQL; these are the reference implementations its tests use.

- Percent rank of area i among the N areas with a value (SQL PERCENT_RANK):
      100·(rank_min(i) − 1)/(N − 1),
  rank_min(i) = 1 + the number of values strictly below xᵢ (ties share the lowest rank).
  NaN values get NaN and are not counted in N; a single area ranks 0.
- Deciles: PERCENTILE_CONT at q = 0.1, …, 0.9 over the N values, every area counted once
  (unweighted): with the values sorted x₍₀₎ ≤ … ≤ x₍N−1₎ and h = (N − 1)·q,
      x₍⌊h⌋₎ + (h − ⌊h⌋)·(x₍⌊h⌋+1₎ − x₍⌊h⌋₎).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from ._arrays import FloatArray, as_float

DECILES: tuple[float, ...] = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)


def percent_rank(values: ArrayLike) -> FloatArray:
    """100·(rank_min − 1)/(N − 1) for each value; NaN stays NaN and is not counted in N."""
    x = as_float(values, "values")
    out = np.full(x.shape, np.nan)
    present = ~np.isnan(x)
    kept = x[present]
    n = kept.size
    if n == 0:
        return out
    if n == 1:
        out[present] = 0.0
        return out
    below = np.searchsorted(np.sort(kept), kept, side="left")  # values strictly below = rank_min − 1
    out[present] = 100.0 * below / (n - 1)
    return out


def percentile_cont(values: ArrayLike, quantiles: ArrayLike) -> FloatArray:
    """PERCENTILE_CONT(q) for each q in `quantiles` (0 ≤ q ≤ 1) over the non-NaN values:
    linear interpolation at position h = (N − 1)·q of the sorted values. All NaN if no value."""
    x = as_float(values, "values")
    q = as_float(quantiles, "quantiles")
    if np.any((q < 0) | (q > 1) | np.isnan(q)):
        raise ValueError("quantiles: expected numbers between 0 and 1")
    s = np.sort(x[~np.isnan(x)])
    if s.size == 0:
        return np.full(q.shape, np.nan)
    h = (s.size - 1) * q
    lo = np.floor(h).astype(int)
    hi = np.minimum(lo + 1, s.size - 1)
    return s[lo] + (h - lo) * (s[hi] - s[lo])


def deciles(values: ArrayLike) -> FloatArray:
    """The nine unweighted deciles (PERCENTILE_CONT at 0.1 … 0.9) of the non-NaN values."""
    return percentile_cont(values, DECILES)
