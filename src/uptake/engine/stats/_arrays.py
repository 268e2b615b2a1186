"""Small helpers shared by the statistics modules: input coercion and exactly-rounded sums."""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike, NDArray

FloatArray = NDArray[np.float64]


def as_float(values: ArrayLike, name: str = "values") -> FloatArray:
    """`values` as a 1-D float64 array (a scalar becomes a length-1 array; None becomes NaN)."""
    try:
        out = np.atleast_1d(np.asarray(values, dtype=np.float64))
    except (TypeError, ValueError):
        raise ValueError(f"{name}: expected numbers") from None
    if out.ndim != 1:
        raise ValueError(f"{name}: expected a one-dimensional array, got shape {out.shape}")
    return out


def same_length(**arrays: FloatArray) -> int:
    """The common length of the named arrays; ValueError naming them if they differ."""
    lengths = {name: len(a) for name, a in arrays.items()}
    if len(set(lengths.values())) > 1:
        shown = ", ".join(f"{k}={v}" for k, v in lengths.items())
        raise ValueError(f"arrays must have the same length ({shown})")
    return next(iter(lengths.values()), 0)


def fsum(values: FloatArray) -> float:
    """Exactly rounded sum (math.fsum): independent of the order of the values, so that
    results computed from sums do not change when the rows are shuffled."""
    return math.fsum(values.tolist())


def check_level(level: float) -> float:
    level = float(level)
    if not 0.0 < level < 1.0:
        raise ValueError(f"confidence level {level!r}: expected a number between 0 and 1, e.g. 0.95 or 0.998")
    return level
