"""Funnel plots: control limits around a target, each area's significance at 95% and 99.8%, and
the same with overdispersion allowed for (reference/methods.md §5.3).

Three kinds of indicator, each area i with numerator Oᵢ and denominator dᵢ:

- "proportion": value pᵢ = Oᵢ/nᵢ; target p̄ = ΣO/Σn. Control limits (PHE/Fingertips, the
  "inverted Wilson", which reduces exactly to the normal form):
      p̄ ± z·√(p̄(1 − p̄)/n), clipped to [0, 1].
- "rate": value Oᵢ/nᵢ (× multiplier, e.g. 1,000, which scales the output only); target
  θ₀ = ΣO/Σn. Control limits are the official funnel's count limits
  (`intervals.funnel_count_limits`) at the target's expected count μ = n·θ₀, divided by n:
      [O_L(μ)/n, O_U(μ)/n], where O_U is the count whose exact lower limit is μ and O_L the
  count whose exact upper limit is μ (PHEindicatormethods' `calculate_funnel_limits`).
- "ratio": value Oᵢ/Eᵢ (observed ÷ expected, e.g. the uptake index); target 1 (or as given).
  Control limits as for a rate with n = E: [O_L(E·θ₀)/E, O_U(E·θ₀)/E].

Significance without overdispersion follows Fingertips: an area is "high" when the lower limit
of its own confidence interval (Wilson for a proportion, exact-or-Byar for a count) lies above
the target, "low" when the upper limit lies below it, "not significant" otherwise, and "not
compared" when its denominator is zero or a value is missing (such areas are also left out of
the target and of the overdispersion estimate). For proportions the flag and the position of
the point against the control limits agree exactly (Wilson inversion). For counts the drawn
limits invert the exact interval, so they agree exactly with the flag below 10 events; from 10
events the flag uses Byar's approximation, as Fingertips does, and the two can differ only for
a point within Byar's error (under 0.2% at 95%) of a limit.

Overdispersion (Spiegelhalter 2005, see `overdispersion`): limits on the transformed scale
y₀ ± z·√(sᵢ² + τ̂²) (additive, "_od") and y₀ ± z·√φ̂·sᵢ (multiplicative, "_mult", φ̂ only if
> 1), back-transformed; flags from the adjusted z-scores against ±z. The default scale is
arcsine for proportions and log for rates and ratios (a rate is treated as the ratio
Oᵢ/(nᵢθ₀), so the two count kinds behave alike); "sqrt" (the CQC method) is the alternative
for counts, and copes better with areas that have no events.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from . import overdispersion as od
from ._arrays import FloatArray, as_float, fsum, same_length
from .intervals import LEVEL_95, LEVEL_998, Limits, funnel_count_limits, rate_limits, wilson_limits, z_value

Kind = Literal["proportion", "rate", "ratio"]
KINDS: tuple[str, ...] = ("proportion", "rate", "ratio")

HIGH = "high"
LOW = "low"
NOT_SIGNIFICANT = "not significant"
NOT_COMPARED = "not compared"
FLAGS: tuple[str, ...] = (HIGH, LOW, NOT_SIGNIFICANT, NOT_COMPARED)
FlagArray = NDArray[np.str_]

# The two levels every result carries, and the suffix naming them in fields and CSV columns.
LEVELS: dict[str, float] = {"95": LEVEL_95, "998": LEVEL_998}


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise ValueError(f"kind {kind!r}: expected one of {', '.join(KINDS)}")


def default_scale(kind: Kind) -> od.Scale:
    """arcsine for proportions, log for rates and ratios."""
    return "arcsine" if kind == "proportion" else "log"


def _inputs(kind: Kind, numerator: ArrayLike, denominator: ArrayLike) -> tuple[FloatArray, FloatArray, NDArray[np.bool_]]:
    _check_kind(kind)
    o = as_float(numerator, "numerator")
    d = as_float(denominator, "denominator")
    same_length(numerator=o, denominator=d)
    if np.any(o < 0):
        raise ValueError("numerator: values must be zero or more")
    if np.any(d < 0):
        raise ValueError("denominator: values must be zero or more")
    if kind == "proportion" and np.any(o > d):
        raise ValueError("numerator: a proportion's numerator must not exceed its denominator")
    compared = np.isfinite(o) & np.isfinite(d) & (d > 0)
    return o, d, compared


def pooled_target(kind: Kind, numerator: ArrayLike, denominator: ArrayLike) -> float:
    """The funnel's centre line: ΣO/Σd over the compared areas for a proportion or a rate
    (NaN if there are none); 1 for a ratio. Exactly rounded sums, so row order cannot matter."""
    o, d, compared = _inputs(kind, numerator, denominator)
    if kind == "ratio":
        return 1.0
    total = fsum(d[compared])
    return fsum(o[compared]) / total if total > 0 else float("nan")


def area_limits(kind: Kind, numerator: ArrayLike, denominator: ArrayLike, level: float = LEVEL_95) -> Limits:
    """Each area's own confidence interval on the unscaled value: Wilson for a proportion,
    `poisson_limits`(O)/d for a rate or a ratio. NaN where d = 0."""
    o, d, _ = _inputs(kind, numerator, denominator)
    if kind == "proportion":
        return wilson_limits(o, d, level)
    return rate_limits(o, d, level)


def control_limits(kind: Kind, target: float, denominator: ArrayLike, level: float = LEVEL_95,
                   multiplier: float = 1.0) -> Limits:
    """Funnel control limits without overdispersion at each denominator (formulas in the module
    docstring), × multiplier. `target` is on the unscaled value (a proportion in [0, 1], a rate
    per 1 unit of denominator, a ratio near 1). NaN where the denominator is 0 or missing."""
    _check_kind(kind)
    d = as_float(denominator, "denominator")
    ok = np.isfinite(d) & (d > 0)
    safe = np.where(ok, d, 1.0)
    if not np.isfinite(target):
        nan = np.full(d.shape, np.nan)
        return Limits(nan, nan.copy())
    if kind == "proportion":
        if not 0.0 <= target <= 1.0:
            raise ValueError(f"target {target!r}: a proportion must be between 0 and 1")
        half = z_value(level) * np.sqrt(target * (1.0 - target) / safe)
        lower, upper = np.clip(target - half, 0.0, 1.0), np.clip(target + half, 0.0, 1.0)
    else:
        if target < 0:
            raise ValueError(f"target {target!r}: expected zero or more")
        counts = funnel_count_limits(safe * target, level)
        lower, upper = counts.lower / safe, counts.upper / safe
    return Limits(np.where(ok, lower * multiplier, np.nan), np.where(ok, upper * multiplier, np.nan))


def od_control_limits(kind: Kind, target: float, denominator: ArrayLike, level: float = LEVEL_95, *,
                      tau2: float = 0.0, phi: float = 1.0, scale: od.Scale | None = None,
                      multiplier: float = 1.0) -> Limits:
    """Control limits allowing for overdispersion: back-transform of y₀ ± z·√(φ·sᵢ² + τ²).

    Pass `tau2`=τ̂² (and phi=1) for the additive limits, `phi`=max(φ̂, 1) (and tau2=0) for the
    multiplicative ones; with neither they are the normal-approximation limits on that scale.
    """
    _check_kind(kind)
    scale = scale or default_scale(kind)
    d = as_float(denominator, "denominator")
    if not (np.isfinite(target) and np.isfinite(tau2) and np.isfinite(phi)) or (kind != "proportion" and target <= 0):
        nan = np.full(d.shape, np.nan)
        return Limits(nan, nan.copy())
    t = od.to_scale(scale, np.zeros_like(d), d, target)
    sd = np.sqrt(phi * t.s * t.s + tau2)
    z = z_value(level)
    with np.errstate(over="ignore"):
        lower = od.from_scale(scale, t.y0 - z * sd, target) * multiplier
        upper = od.from_scale(scale, t.y0 + z * sd, target) * multiplier
    return Limits(lower, upper)  # NaN where sᵢ is (denominator 0 or missing)


def _flag_interval(lower: FloatArray, upper: FloatArray, target: float, compared: NDArray[np.bool_]) -> FlagArray:
    out = np.full(lower.shape, NOT_SIGNIFICANT, dtype="<U15")
    out[lower > target] = HIGH
    out[upper < target] = LOW
    out[~compared | ~np.isfinite(lower) | ~np.isfinite(upper)] = NOT_COMPARED
    return out


def _flag_z(z: FloatArray, critical: float, compared: NDArray[np.bool_]) -> FlagArray:
    out = np.full(z.shape, NOT_SIGNIFICANT, dtype="<U15")
    out[z > critical] = HIGH
    out[z < -critical] = LOW
    out[~compared | ~np.isfinite(z)] = NOT_COMPARED
    return out


@dataclass(frozen=True)
class FunnelResult:
    """One funnel: its centre, overdispersion, and per-area arrays (one element per input row).

    Values, `target` and limits are on the output scale (× `multiplier`); `target_unscaled`
    is the centre before scaling (a proportion, a rate per unit of denominator, a ratio). Suffix 95 / 998 names
    the level (0.95 / 0.998); no suffix beyond it: PHE limits, no overdispersion; "_od": the
    additive random-effects (τ̂²) adjustment; "_mult": the multiplicative (φ̂) one.

    - `value`: Oᵢ/dᵢ × multiplier (NaN where not compared); `compared`: used at all.
    - `ci_lower_95` …: the area's own confidence interval (Wilson / exact-or-Byar).
    - `lower_95` …: funnel control limits at the area's denominator.
    - `flag_95` …: "high", "low", "not significant" or "not compared".
    - `z`: (yᵢ − y₀)/sᵢ on the transformed scale; `z_od`: (yᵢ − y₀)/√(sᵢ² + τ̂²);
      `z_mult`: (yᵢ − y₀)/(√φ̂·sᵢ), φ̂ only if > 1.
    """

    kind: str
    multiplier: float
    target: float
    target_unscaled: float
    scale: str
    overdispersion: od.Overdispersion
    numerator: FloatArray
    denominator: FloatArray
    compared: NDArray[np.bool_]
    value: FloatArray
    ci_lower_95: FloatArray
    ci_upper_95: FloatArray
    ci_lower_998: FloatArray
    ci_upper_998: FloatArray
    lower_95: FloatArray
    upper_95: FloatArray
    lower_998: FloatArray
    upper_998: FloatArray
    flag_95: FlagArray
    flag_998: FlagArray
    z: FloatArray
    z_od: FloatArray
    lower_95_od: FloatArray
    upper_95_od: FloatArray
    lower_998_od: FloatArray
    upper_998_od: FloatArray
    flag_95_od: FlagArray
    flag_998_od: FlagArray
    z_mult: FloatArray
    lower_95_mult: FloatArray
    upper_95_mult: FloatArray
    lower_998_mult: FloatArray
    upper_998_mult: FloatArray
    flag_95_mult: FlagArray
    flag_998_mult: FlagArray

    @property
    def phi(self) -> float:
        """φ̂, the overdispersion factor (mean of the winsorised z²)."""
        return self.overdispersion.phi

    @property
    def tau2(self) -> float:
        """τ̂², the between-area variance on the transformed scale (DerSimonian–Laird)."""
        return self.overdispersion.tau2

    @property
    def od_statistic(self) -> float:
        """I·φ̂, compared with χ² on I − 1 degrees of freedom."""
        return self.overdispersion.statistic

    @property
    def od_p_value(self) -> float:
        """P(χ²_{I−1} ≥ I·φ̂): small means the areas vary more than chance allows."""
        return self.overdispersion.p_value

    @property
    def n_compared(self) -> int:
        return int(self.compared.sum())

    def columns(self) -> dict[str, np.ndarray]:
        """The per-area arrays by name, in a stable order (for building a table or a CSV)."""
        names = ["numerator", "denominator", "value"]
        for suffix in ("", "_od", "_mult"):
            for lvl in LEVELS:
                names += [f"lower_{lvl}{suffix}", f"upper_{lvl}{suffix}"]
            names += [f"flag_{lvl}{suffix}" for lvl in LEVELS]
        names += ["ci_lower_95", "ci_upper_95", "ci_lower_998", "ci_upper_998", "z", "z_od", "z_mult", "compared"]
        return {n: getattr(self, n) for n in names}


def funnel(
    kind: Kind,
    numerator: ArrayLike,
    denominator: ArrayLike,
    *,
    target: float | None = None,
    multiplier: float = 1.0,
    method: od.Method = "winsorise",
    share: float = 0.1,
    scale: od.Scale | None = None,
) -> FunnelResult:
    """A funnel plot's statistics for areas with `numerator` Oᵢ and `denominator` dᵢ.

    `kind`: "proportion" (O of n), "rate" (O per n) or "ratio" (observed O ÷ expected E).
    `target`: the centre on the unscaled value; default the pooled ΣO/Σd (1 for a ratio).
    `multiplier`: scales values, target and limits for output only (100 for a percentage,
    1,000 for a rate per 1,000). `method`/`share`: how z-scores are tamed before φ̂ is
    estimated (winsorise or truncate at `share` and 1 − `share`; 0.1 by default).
    `scale`: the overdispersion transform ("arcsine" for proportions; "log" or "sqrt" for
    counts; default arcsine/log).

    NaN numerators or denominators, and zero denominators, are "not compared". Negative values,
    or a proportion's numerator above its denominator, raise ValueError. If no area can be
    compared, the target is NaN and every flag is "not compared". Overdispersion needs a target
    above 0 for counts (a log or square root relative to it); with a zero target φ̂ and τ̂² are
    NaN and the "_od"/"_mult" flags are "not compared".
    """
    o, d, compared = _inputs(kind, numerator, denominator)
    scale = scale or default_scale(kind)
    if kind == "proportion" and scale != "arcsine":
        raise ValueError(f"scale {scale!r}: proportions use the arcsine scale")
    if kind != "proportion" and scale not in ("log", "sqrt"):
        raise ValueError(f"scale {scale!r}: rates and ratios use the log or sqrt scale")
    if multiplier <= 0 or not np.isfinite(multiplier):
        raise ValueError(f"multiplier {multiplier!r}: expected a positive number")
    tgt = pooled_target(kind, o, d) if target is None else float(target)
    if target is not None and (not np.isfinite(tgt) or tgt < 0 or (kind == "proportion" and tgt > 1)):
        raise ValueError(f"target {target!r}: expected a finite number ≥ 0 (≤ 1 for a proportion)")

    safe = np.where(compared, d, 1.0)
    value = np.where(compared, o / safe, np.nan)
    out: dict[str, object] = {}
    for lvl, level in LEVELS.items():
        ci = area_limits(kind, np.where(compared, o, 0.0), safe, level)
        ci_lower, ci_upper = np.where(compared, ci.lower, np.nan), np.where(compared, ci.upper, np.nan)
        cl = control_limits(kind, tgt, np.where(compared, d, np.nan), level)
        out[f"ci_lower_{lvl}"] = ci_lower * multiplier
        out[f"ci_upper_{lvl}"] = ci_upper * multiplier
        out[f"lower_{lvl}"] = cl.lower * multiplier
        out[f"upper_{lvl}"] = cl.upper * multiplier
        out[f"flag_{lvl}"] = _flag_interval(ci_lower, ci_upper, tgt, compared & np.isfinite(tgt))

    # Overdispersion, on the transformed scale, from the compared areas only.
    estimable = bool(np.isfinite(tgt) and (kind == "proportion" or tgt > 0))
    if estimable:
        t = od.to_scale(scale, np.where(compared, o, np.nan), np.where(compared, d, np.nan), tgt)
        with np.errstate(invalid="ignore", divide="ignore"):
            z = (t.y - t.y0) / t.s
        est = od.estimate(z, t.s, method=method, share=share)
    else:
        t = od.Transformed(np.full(o.shape, np.nan), np.full(o.shape, np.nan), float("nan"))
        z = np.full(o.shape, np.nan)
        est = od.estimate(z, t.s, method=method, share=share)
    usable = compared & np.isfinite(z)
    tau2 = est.tau2  # NaN when not estimable
    phi = est.phi_used if np.isfinite(est.phi) else float("nan")
    with np.errstate(invalid="ignore", divide="ignore"):
        out["z"] = z
        out["z_od"] = (t.y - t.y0) / np.sqrt(t.s * t.s + tau2)
        out["z_mult"] = (t.y - t.y0) / (np.sqrt(phi) * t.s)
    for suffix, (tau2_, phi_) in {"_od": (tau2, 1.0), "_mult": (0.0, phi)}.items():
        for lvl, level in LEVELS.items():
            lim = od_control_limits(kind, tgt, np.where(compared, d, np.nan), level,
                                    tau2=tau2_, phi=phi_, scale=scale, multiplier=multiplier)
            out[f"lower_{lvl}{suffix}"] = lim.lower
            out[f"upper_{lvl}{suffix}"] = lim.upper
            zs = out["z" + suffix]
            out[f"flag_{lvl}{suffix}"] = _flag_z(zs, z_value(level), usable)  # type: ignore[arg-type]

    return FunnelResult(
        kind=kind,
        multiplier=float(multiplier),
        target=tgt * multiplier,
        scale=scale,
        overdispersion=est,
        numerator=o,
        denominator=d,
        compared=compared,
        value=value * multiplier,
        target_unscaled=tgt,
        **out,  # type: ignore[arg-type]
    )


@dataclass(frozen=True)
class FunnelCurves:
    """Limit curves for drawing: one row per denominator on the grid, on the output scale.
    Fields as in `FunnelResult` (lower_95, upper_95, …, lower_95_od, …, lower_95_mult, …)."""

    kind: str
    target: float
    denominator: FloatArray
    lower_95: FloatArray
    upper_95: FloatArray
    lower_998: FloatArray
    upper_998: FloatArray
    lower_95_od: FloatArray
    upper_95_od: FloatArray
    lower_998_od: FloatArray
    upper_998_od: FloatArray
    lower_95_mult: FloatArray
    upper_95_mult: FloatArray
    lower_998_mult: FloatArray
    upper_998_mult: FloatArray


def denominator_grid(low: float, high: float, n_points: int = 100) -> FloatArray:
    """`n_points` denominators spaced geometrically from `low` to `high` (both > 0), as
    Fingertips draws its funnels."""
    if not (np.isfinite(low) and np.isfinite(high)) or low <= 0 or high < low:
        raise ValueError(f"grid from {low!r} to {high!r}: expected 0 < low ≤ high")
    if n_points < 2:
        raise ValueError("n_points: expected at least 2")
    return np.geomspace(low, high, n_points)


def funnel_curves(result: FunnelResult, *, denominators: ArrayLike | None = None, n_points: int = 100) -> FunnelCurves:
    """The limit curves of `result` (its target, τ̂² and φ̂) over `denominators`, or over a
    geometric grid from the smallest to the largest compared denominator."""
    if denominators is None:
        d = result.denominator[result.compared]
        if d.size == 0:
            raise ValueError("no area was compared, so there is no range of denominators to draw")
        grid = denominator_grid(float(d.min()), float(d.max()), n_points)
    else:
        grid = as_float(denominators, "denominators")
    kind = result.kind  # type: ignore[assignment]
    tgt = result.target_unscaled
    m = result.multiplier
    tau2, phi = result.tau2, result.overdispersion.phi_used if np.isfinite(result.phi) else float("nan")
    out: dict[str, FloatArray] = {}
    for lvl, level in LEVELS.items():
        cl = control_limits(kind, tgt, grid, level, multiplier=m)  # type: ignore[arg-type]
        add = od_control_limits(kind, tgt, grid, level, tau2=tau2, scale=result.scale, multiplier=m)  # type: ignore[arg-type]
        mult = od_control_limits(kind, tgt, grid, level, phi=phi, scale=result.scale, multiplier=m)  # type: ignore[arg-type]
        out |= {f"lower_{lvl}": cl.lower, f"upper_{lvl}": cl.upper,
                f"lower_{lvl}_od": add.lower, f"upper_{lvl}_od": add.upper,
                f"lower_{lvl}_mult": mult.lower, f"upper_{lvl}_mult": mult.upper}
    return FunnelCurves(kind=result.kind, target=result.target, denominator=grid, **out)
