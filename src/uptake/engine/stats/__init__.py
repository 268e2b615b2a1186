"""The pure statistics layer: numpy arrays in, numpy arrays and small dataclasses out.

No warehouse, no Ibis, no I/O. The engine aggregates per-organisation tables and calls these.

- `intervals`: Wilson, Byar, exact Poisson limits (Fingertips).
- `funnel`: funnel-plot limits and flags at 95% / 99.8%, with and without overdispersion.
- `overdispersion`: Spiegelhalter's φ̂ and τ̂² (winsorised or truncated z-scores).
- `variation`: extremal quotient, P90/P10, IQR ratio, CV, SCV.
- `ranking`: percent rank and deciles (OpenPrescribing).
- `spc`: XmR charts with the Making Data Count rules.
- `diffusion`: logistic and Bass fits, t₅₀/t₈₀, lag behind a reference.
"""

from .diffusion import DiffusionFit, Lag, bass, first_crossing, fit, fit_bass, fit_logistic, lag_behind, logistic
from .funnel import (
    HIGH,
    LOW,
    NOT_COMPARED,
    NOT_SIGNIFICANT,
    FunnelCurves,
    FunnelResult,
    control_limits,
    funnel,
    funnel_curves,
    od_control_limits,
    pooled_target,
)
from .intervals import (
    Limits,
    byar_limits,
    exact_poisson_limits,
    funnel_count_limits,
    poisson_limits,
    rate_limits,
    ratio_limits,
    wilson_limits,
    z_value,
)
from .overdispersion import Overdispersion
from .ranking import deciles, percent_rank, percentile_cont
from .spc import XmRResult, xmr
from .variation import VariationSummary, systematic_component, variation_summary

__all__ = [
    "HIGH", "LOW", "NOT_COMPARED", "NOT_SIGNIFICANT",
    "DiffusionFit", "FunnelCurves", "FunnelResult", "Lag", "Limits", "Overdispersion", "VariationSummary",
    "XmRResult",
    "bass", "byar_limits", "control_limits", "deciles", "exact_poisson_limits", "first_crossing", "fit",
    "funnel_count_limits",
    "fit_bass", "fit_logistic", "funnel", "funnel_curves", "lag_behind", "logistic", "od_control_limits",
    "percent_rank", "percentile_cont", "poisson_limits", "pooled_target", "rate_limits", "ratio_limits",
    "systematic_component", "variation_summary", "wilson_limits", "xmr", "z_value",
]
