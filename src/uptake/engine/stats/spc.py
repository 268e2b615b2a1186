"""XmR (individuals) charts with NHS England's "Making Data Count" rules (reference/methods.md
§5.6; the rules as NHS-R NHSRplotthedots applies them).

For a series x₁ … x_T (a baseline of the first b points, or all of them, sets the limits):

- centre x̄ = mean of the baseline points;
- moving ranges MRₜ = |xₜ − xₜ₋₁| (t ≥ 2) and MR̄ = their mean over the baseline;
- process limits x̄ ± 2.66·MR̄ (3σ with σ = MR̄/1.128);
- the "close to the limits" band x̄ ± (2/3)·2.66·MR̄ (2σ; the same two-thirds of the way out).

Special-cause rules, each giving per point a side, +1 (high) or −1 (low), or 0:

1. outside: a point above the upper or below the lower process limit (strictly);
2. run: 7 or more consecutive points strictly on the same side of x̄ (a point on x̄ breaks
   the run) — every point of the run is flagged;
3. trend: 7 or more consecutive points each strictly above (or below) the one before
   (6 successive differences of one sign; an equal value breaks it) — every point of it;
4. two of three: 2 or 3 of any 3 consecutive points beyond the 2σ band on the same side —
   the points beyond the band in such a window are flagged (not the one between them).

A point's side is that of the first rule flagging it, in the order outside, two of three,
run, trend. With `improvement` "increase" ("higher is better") a high special cause is
labelled "improvement" and a low one "concern"; "decrease" the reverse; without a direction,
"special cause high"/"special cause low". Other points are "common cause".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ._arrays import FloatArray, as_float

RUN_LENGTH = 7
TREND_LENGTH = 7
LIMIT_FACTOR = 2.66
D2 = 1.128  # E|x_t − x_{t−1}| / σ for normal data: σ̂ = MR̄/d₂

Improvement = Literal["increase", "decrease"]
COMMON = "common cause"
IMPROVEMENT = "improvement"
CONCERN = "concern"
HIGH = "special cause high"
LOW = "special cause low"

BoolArray = NDArray[np.bool_]
SideArray = NDArray[np.int8]


@dataclass(frozen=True)
class XmRResult:
    """An XmR chart. Scalars: `mean`, `mr_bar`, `sigma` (= MR̄/1.128), `upper_limit`,
    `lower_limit`, `upper_2sigma`, `lower_2sigma`, `baseline` (points that set them).
    Per point: `values`, `moving_range` (NaN at the first point), the rule flags `outside`,
    `run`, `trend`, `two_of_three`, their union `special_cause`, `side` (+1, −1, 0) and
    `label` ("improvement", "concern", "special cause high/low" or "common cause").
    With fewer than 2 points the limits are NaN and no point is flagged."""

    values: FloatArray
    baseline: int
    mean: float
    mr_bar: float
    sigma: float
    upper_limit: float
    lower_limit: float
    upper_2sigma: float
    lower_2sigma: float
    moving_range: FloatArray
    outside: BoolArray
    run: BoolArray
    trend: BoolArray
    two_of_three: BoolArray
    special_cause: BoolArray
    side: SideArray
    label: NDArray[np.str_]


def _runs(signs: NDArray[np.int8], length: int) -> SideArray:
    """Per element: the sign of the run of equal non-zero signs it belongs to, if that run is
    at least `length` long, else 0."""
    out = np.zeros(signs.shape, dtype=np.int8)
    start = 0
    n = signs.size
    while start < n:
        end = start
        while end + 1 < n and signs[end + 1] == signs[start]:
            end += 1
        if signs[start] != 0 and end - start + 1 >= length:
            out[start: end + 1] = signs[start]
        start = end + 1
    return out


def run_rule(values: FloatArray, centre: float, length: int = RUN_LENGTH) -> SideArray:
    """Rule 2: +1/−1 for points in a run of ≥ `length` strictly above/below `centre`."""
    return _runs(np.sign(values - centre).astype(np.int8), length)


def trend_rule(values: FloatArray, length: int = TREND_LENGTH) -> SideArray:
    """Rule 3: +1/−1 for points in ≥ `length` consecutive strictly rising/falling points."""
    out = np.zeros(values.shape, dtype=np.int8)
    if values.size < 2:
        return out
    steps = _runs(np.sign(np.diff(values)).astype(np.int8), length - 1)  # per difference
    # a difference between points t and t+1 belongs to both
    out[:-1] = steps
    out[1:] = np.where(steps != 0, steps, out[1:])
    return out


def two_of_three_rule(values: FloatArray, upper: float, lower: float) -> SideArray:
    """Rule 4: +1/−1 for points beyond `upper`/`lower` (the 2σ band) that are one of at least
    two such points, on the same side, among some 3 consecutive points."""
    out = np.zeros(values.shape, dtype=np.int8)
    for side, beyond in ((1, values > upper), (-1, values < lower)):
        for t in range(values.size):
            window = beyond[max(0, t - 2): t + 1]
            if window.size == 3 and window.sum() >= 2:
                out[max(0, t - 2): t + 1][window] = side
    return out


def xmr(values: ArrayLike, *, improvement: Improvement | None = None, baseline: int | None = None) -> XmRResult:
    """The XmR chart of `values` (module docstring for the formulas and rules).

    `baseline`: compute the mean and MR̄ from the first `baseline` points only (at least 2),
    then judge every point against those limits. NaN values are refused (ValueError): fill or
    drop missing months first, so that "consecutive" means what it says.
    """
    x = as_float(values, "values")
    if np.any(~np.isfinite(x)):
        raise ValueError("values: a missing or infinite value in the series; fill or drop it first")
    if improvement not in (None, "increase", "decrease"):
        raise ValueError(f"improvement {improvement!r}: expected 'increase', 'decrease' or None")
    n = x.size
    b = n if baseline is None else int(baseline)
    if baseline is not None and not 2 <= b <= n:
        raise ValueError(f"baseline {baseline!r}: expected between 2 and the number of points ({n})")
    mr = np.full(n, np.nan)
    if n >= 2:
        mr[1:] = np.abs(np.diff(x))
    false = np.zeros(n, dtype=bool)
    if n < 2:
        nan = float("nan")
        return XmRResult(x, n, float(x.mean()) if n else nan, nan, nan, nan, nan, nan, nan, mr,
                         false, false.copy(), false.copy(), false.copy(), false.copy(),
                         np.zeros(n, dtype=np.int8), np.full(n, COMMON, dtype="<U18"))
    mean = float(np.mean(x[:b]))
    mr_bar = float(np.mean(mr[1:b]))
    upper, lower = mean + LIMIT_FACTOR * mr_bar, mean - LIMIT_FACTOR * mr_bar
    band = 2.0 / 3.0 * LIMIT_FACTOR * mr_bar
    upper2, lower2 = mean + band, mean - band

    outside = np.where(x > upper, 1, np.where(x < lower, -1, 0)).astype(np.int8)
    two3 = two_of_three_rule(x, upper2, lower2)
    run = run_rule(x, mean)
    trend = trend_rule(x)
    side = np.zeros(n, dtype=np.int8)
    for rule in (trend, run, two3, outside):  # later rules take precedence
        side = np.where(rule != 0, rule, side).astype(np.int8)
    special = side != 0

    label = np.full(n, COMMON, dtype="<U18")
    if improvement is None:
        label[side > 0], label[side < 0] = HIGH, LOW
    else:
        good = 1 if improvement == "increase" else -1
        label[side == good], label[side == -good] = IMPROVEMENT, CONCERN
    return XmRResult(
        values=x, baseline=b, mean=mean, mr_bar=mr_bar, sigma=mr_bar / D2,
        upper_limit=upper, lower_limit=lower, upper_2sigma=upper2, lower_2sigma=lower2,
        moving_range=mr, outside=outside != 0, run=run != 0, trend=trend != 0,
        two_of_three=two3 != 0, special_cause=special, side=side, label=label,
    )
