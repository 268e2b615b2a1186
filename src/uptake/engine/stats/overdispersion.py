"""Overdispersion of a funnel plot: Spiegelhalter (2005), "Handling over-dispersion of performance
indicators", Qual Saf Health Care 14:347–51, in the steps NHS-R FunnelPlotR follows
(reference/methods.md §5.3(c)).

1. Transform each area to a roughly normal scale with standard error sᵢ and target y₀:

   ========  =======================  ==============  =======
   scale     yᵢ                       sᵢ              y₀
   ========  =======================  ==============  =======
   arcsine   arcsin √(Oᵢ/nᵢ)          1/(2√nᵢ)        arcsin √p̄
   log       ln(Oᵢ/μᵢ)                1/√μᵢ           0
   sqrt      √(Oᵢ/μᵢ)                 1/(2√μᵢ)        1
   ========  =======================  ==============  =======

   For counts, μᵢ = dᵢ·θ₀ is the area's expected count under the target θ₀ (dᵢ the expected
   count E for a ratio, the population n for a rate), so a rate is handled exactly as the
   ratio Oᵢ/μᵢ = rateᵢ/θ₀ ("log" is the SHMI method, "sqrt" the CQC one). On the log scale a
   zero count has no logarithm: it is counted as half an event, yᵢ = ln(½/μᵢ), which affects
   only areas with no events.
2. zᵢ = (yᵢ − y₀)/sᵢ.
3. Winsorise z at the 10th and 90th centiles (linear interpolation between order statistics,
   as R's default quantile and PERCENTILE_CONT), or truncate: drop areas outside them.
4. φ̂ = (1/I)·Σ zᵢ² over the I areas kept; I·φ̂ is compared with χ²_{I−1}.
5. Multiplicative limits y₀ ± z·√φ̂·sᵢ, used only when φ̂ > 1.
6. Additive random effects (DerSimonian–Laird): wᵢ = 1/sᵢ²,
   τ̂² = max(0, (I·φ̂ − (I − 1)) / (Σwᵢ − Σwᵢ²/Σwᵢ)), limits y₀ ± z·√(sᵢ² + τ̂²),
   adjusted zᵢ = (yᵢ − y₀)/√(sᵢ² + τ̂²). Sums run over the same I areas as φ̂.

Back-transforms: sin²(·) (clipped to [0, π/2] first), θ₀·exp(·), θ₀·max(·, 0)².
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats

from ._arrays import FloatArray, as_float, fsum, same_length

Scale = Literal["arcsine", "log", "sqrt"]
Method = Literal["winsorise", "truncate"]
SCALES: tuple[str, ...] = ("arcsine", "log", "sqrt")
METHODS: tuple[str, ...] = ("winsorise", "truncate")


@dataclass(frozen=True)
class Transformed:
    """Areas on the transformed scale: yᵢ, sᵢ and the target y₀."""

    y: FloatArray
    s: FloatArray
    y0: float


def to_scale(scale: Scale, observed: ArrayLike, denominator: ArrayLike, target: float) -> Transformed:
    """yᵢ, sᵢ and y₀ for `scale` (table in the module docstring). `denominator` is nᵢ for
    "arcsine" and dᵢ (μᵢ = dᵢ·target) for "log"/"sqrt". Areas with a zero or missing
    denominator get NaN."""
    if scale not in SCALES:
        raise ValueError(f"scale {scale!r}: expected one of {', '.join(SCALES)}")
    o = as_float(observed, "observed")
    d = as_float(denominator, "denominator")
    same_length(observed=o, denominator=d)
    with np.errstate(invalid="ignore", divide="ignore"):
        if scale == "arcsine":
            ok = d > 0
            p = np.where(ok, o / np.where(ok, d, 1.0), np.nan)
            y = np.arcsin(np.sqrt(np.clip(p, 0.0, 1.0)))
            s = np.where(ok, 1.0 / (2.0 * np.sqrt(np.where(ok, d, 1.0))), np.nan)
            return Transformed(np.where(np.isnan(p), np.nan, y), s, float(np.arcsin(np.sqrt(target))))
        mu = d * target
        ok = mu > 0
        safe_mu = np.where(ok, mu, 1.0)
        if scale == "log":
            counted = np.where(o == 0, 0.5, o)
            y = np.where(ok, np.log(counted / safe_mu), np.nan)
            s = np.where(ok, 1.0 / np.sqrt(safe_mu), np.nan)
            return Transformed(y, s, 0.0)
        y = np.where(ok, np.sqrt(o / safe_mu), np.nan)
        s = np.where(ok, 1.0 / (2.0 * np.sqrt(safe_mu)), np.nan)
        return Transformed(y, s, 1.0)


def from_scale(scale: Scale, y: ArrayLike, target: float) -> FloatArray:
    """Back to the indicator's scale: sin²(clip(y, 0, π/2)), target·exp(y), target·max(y, 0)²."""
    v = as_float(y, "y")
    if scale == "arcsine":
        return np.sin(np.clip(v, 0.0, np.pi / 2.0)) ** 2
    if scale == "log":
        with np.errstate(over="ignore"):  # an enormous τ̂² sends the upper limit to +inf
            return target * np.exp(v)
    if scale == "sqrt":
        return target * np.maximum(v, 0.0) ** 2
    raise ValueError(f"scale {scale!r}: expected one of {', '.join(SCALES)}")


def cutoffs(z: ArrayLike, share: float = 0.1) -> tuple[float, float]:
    """The `share` and 1 − `share` centiles of z (linear interpolation), ignoring NaN."""
    if not 0.0 <= share < 0.5:
        raise ValueError(f"share {share!r}: expected a number from 0 up to (not including) 0.5")
    v = as_float(z, "z")
    v = v[np.isfinite(v)]
    if v.size == 0:
        return float("nan"), float("nan")
    lo, hi = np.quantile(v, [share, 1.0 - share])
    return float(lo), float(hi)


def winsorise(z: ArrayLike, share: float = 0.1) -> FloatArray:
    """z with values below the `share` centile raised to it and values above the 1 − `share`
    centile lowered to it (NaN stays NaN)."""
    v = as_float(z, "z")
    lo, hi = cutoffs(v, share)
    return np.clip(v, lo, hi) if np.isfinite(lo) else v.copy()


@dataclass(frozen=True)
class Overdispersion:
    """φ̂, τ̂² and the test of overdispersion for one set of areas.

    `phi` = φ̂; `tau2` = τ̂² (DerSimonian–Laird); `statistic` = I·φ̂; `df` = I − 1; `p_value` =
    P(χ²_{I−1} ≥ I·φ̂) (NaN when I < 2); `n` = I, the areas used; `lower_cut`/`upper_cut` the
    centiles at which z was winsorised or truncated; `method` and `share` as requested.
    """

    phi: float
    tau2: float
    statistic: float
    df: int
    p_value: float
    n: int
    lower_cut: float
    upper_cut: float
    method: str
    share: float

    @property
    def phi_used(self) -> float:
        """The multiplicative factor actually applied: φ̂ if φ̂ > 1, otherwise 1."""
        return self.phi if self.phi > 1.0 else 1.0


def tau2_dersimonian_laird(statistic: float, n: int, weights: ArrayLike) -> float:
    """τ̂² = max(0, (I·φ̂ − (I − 1)) / (Σwᵢ − Σwᵢ²/Σwᵢ)), with `statistic` = I·φ̂ and `n` = I."""
    w = as_float(weights, "weights")
    w = w[np.isfinite(w)]
    if n < 2 or w.size < 2 or not np.isfinite(statistic) or statistic <= n - 1:
        return 0.0
    total = fsum(w)
    denominator = total - fsum(w * w) / total
    if denominator <= 0:
        return 0.0
    return max(0.0, (statistic - (n - 1)) / denominator)


def estimate(z: ArrayLike, s: ArrayLike, *, method: Method = "winsorise", share: float = 0.1) -> Overdispersion:
    """φ̂, τ̂² and the χ² test from the z-scores zᵢ and standard errors sᵢ (steps 3, 4, 6).

    Areas where z or s is not finite are ignored. "winsorise" keeps every area, its z clipped
    to the centiles; "truncate" keeps only areas whose z lies within them (inclusive).
    """
    if method not in METHODS:
        raise ValueError(f"method {method!r}: expected one of {', '.join(METHODS)}")
    zv = as_float(z, "z")
    sv = as_float(s, "s")
    same_length(z=zv, s=sv)
    keep = np.isfinite(zv) & np.isfinite(sv) & (sv > 0)
    zv, sv = zv[keep], sv[keep]
    lo, hi = cutoffs(zv, share)
    if method == "winsorise":
        used = np.clip(zv, lo, hi) if zv.size else zv
        s_used = sv
    else:
        inside = (zv >= lo) & (zv <= hi)
        used, s_used = zv[inside], sv[inside]
    n = int(used.size)
    if n == 0:
        return Overdispersion(float("nan"), float("nan"), float("nan"), -1, float("nan"), 0, lo, hi, method, share)
    statistic = fsum(used * used)
    phi = statistic / n
    df = n - 1
    p_value = float(stats.chi2.sf(statistic, df)) if df >= 1 else float("nan")
    tau2 = tau2_dersimonian_laird(statistic, n, 1.0 / (s_used * s_used))
    return Overdispersion(phi, tau2, statistic, df, p_value, n, lo, hi, method, share)
