"""Overdispersion (Spiegelhalter 2005): φ̂ with winsorising or truncation, τ̂² by
DerSimonian–Laird, the adjusted limits and flags — by hand and against direct loops."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from uptake.engine.stats import overdispersion as od
from uptake.engine.stats.funnel import HIGH, LOW, NOT_SIGNIFICANT, funnel, od_control_limits

NS = NOT_SIGNIFICANT
Z95 = 1.959964

# Four ratios with E = 100, built so that on the log scale (y = ln(O/E), s = 1/√E = 0.1) the
# z-scores are exactly −3, −1, 1 and 4.
E4 = np.full(4, 100.0)
Z4 = np.array([-3.0, -1.0, 1.0, 4.0])
O4 = 100.0 * np.exp(Z4 / 10.0)


def test_z_scores_of_the_worked_example():
    r = funnel("ratio", O4, E4)
    assert np.allclose(r.z, Z4, atol=1e-12)


def test_phi_and_tau2_with_winsorising_by_hand():
    # 10th centile of (−3, −1, 1, 4): position 0.3 → −3 + 0.3·2 = −2.4; 90th: position 2.7 → 1 + 0.7·3 = 3.1
    # winsorised z = (−2.4, −1, 1, 3.1); Σz² = 5.76 + 1 + 1 + 9.61 = 17.37; φ̂ = 17.37/4 = 4.3425
    # w = 1/s² = 100 each: Σw − Σw²/Σw = 400 − 40,000/400 = 300
    # τ̂² = (17.37 − 3)/300 = 0.0479
    r = funnel("ratio", O4, E4)
    o = r.overdispersion
    assert (o.lower_cut, o.upper_cut) == pytest.approx((-2.4, 3.1), abs=1e-12)
    assert o.phi == pytest.approx(4.3425, abs=1e-12)
    assert o.statistic == pytest.approx(17.37, abs=1e-12)
    assert (o.n, o.df) == (4, 3)
    assert o.tau2 == pytest.approx(0.0479, abs=1e-12)
    # P(χ²₃ ≥ 17.37) = 0.000593
    assert r.od_p_value == pytest.approx(0.000593, abs=1e-6)


def test_additive_limits_and_adjusted_z_by_hand():
    # √(s² + τ̂²) = √(0.01 + 0.0479) = 0.240624
    # 95% limits: exp(∓1.959964·0.240624) = 0.623994, 1.602580
    # adjusted z of the area at z = 4 (y = 0.4): 0.4/0.240624 = 1.662343 < 1.96
    r = funnel("ratio", O4, E4)
    assert r.lower_95_od[3] == pytest.approx(0.623994, abs=1e-6)
    assert r.upper_95_od[3] == pytest.approx(1.602580, abs=1e-6)
    assert r.z_od[3] == pytest.approx(1.662343, abs=1e-6)


def test_multiplicative_limits_by_hand():
    # √φ̂ = √4.3425 = 2.083867; limits exp(∓1.959964·2.083867·0.1) = 0.664693, 1.504454
    # z_mult of the area at z = 4: 4/2.083867 = 1.919509
    r = funnel("ratio", O4, E4)
    assert r.lower_95_mult[0] == pytest.approx(0.664693, abs=1e-6)
    assert r.upper_95_mult[0] == pytest.approx(1.504454, abs=1e-6)
    assert r.z_mult[3] == pytest.approx(1.919509, abs=1e-6)


def test_an_area_significant_without_overdispersion_is_not_with_it():
    # O = 149.18 of E = 100: Byar lower 126.20/100 = 1.262 > 1 → high without adjustment,
    # but its adjusted z 1.66 (additive) and 1.92 (multiplicative) are inside ±1.96.
    r = funnel("ratio", O4, E4)
    assert r.ci_lower_95[3] == pytest.approx(1.262027, abs=1e-6)
    assert r.flag_95[3] == HIGH and r.flag_998[3] == HIGH
    assert r.flag_95_od[3] == NS and r.flag_95_mult[3] == NS
    # and the same happens to the low area (z = −3)
    assert r.flag_95[0] == LOW and r.flag_95_od[0] == NS


def test_truncation_by_hand():
    # truncating at (−2.4, 3.1) keeps z = −1 and 1: I = 2, φ̂ = 1, I·φ̂ = 2 > I − 1 = 1
    # Σw − Σw²/Σw = 200 − 20,000/200 = 100, so τ̂² = (2 − 1)/100 = 0.01
    r = funnel("ratio", O4, E4, method="truncate")
    o = r.overdispersion
    assert (o.n, o.df) == (2, 1)
    assert o.phi == pytest.approx(1.0)
    assert o.tau2 == pytest.approx(0.01)
    assert o.p_value == pytest.approx(stats.chi2.sf(2.0, 1))
    # φ̂ = 1 is not > 1: the multiplicative limits are then the unadjusted normal ones
    assert r.lower_95_mult[0] == pytest.approx(math.exp(-Z95 * 0.1), abs=1e-6)


def test_tau2_is_zero_when_not_overdispersed():
    # z = (−0.5, 0, 0.5, 0.2): winsorised Σz² is well under I − 1 = 3
    z = np.array([-0.5, 0.0, 0.5, 0.2])
    r = funnel("ratio", 100.0 * np.exp(z / 10.0), E4)
    assert r.phi < 1 and r.tau2 == 0.0
    assert np.allclose(r.z_od, r.z) and np.allclose(r.z_mult, r.z)
    assert np.allclose(r.lower_95_od, r.lower_95_mult)


def _dl_tau2_by_loop(y: list[float], s: list[float], y0: float) -> float:
    """Independent DerSimonian–Laird around a fixed target: Q = Σwᵢ(yᵢ − y₀)²,
    τ̂² = max(0, (Q − (k − 1))/(Σw − Σw²/Σw)), written as plain loops."""
    q = sw = sw2 = 0.0
    for yi, si in zip(y, s):
        w = 1.0 / (si * si)
        q += w * (yi - y0) ** 2
        sw += w
        sw2 += w * w
    return max(0.0, (q - (len(y) - 1)) / (sw - sw2 / sw))


def test_tau2_matches_a_direct_loop_without_winsorising():
    rng = np.random.default_rng(21)
    n = rng.integers(200, 20_000, 60).astype(float)
    o = rng.binomial(n.astype(int), np.clip(rng.normal(0.3, 0.05, n.size), 0.01, 0.99)).astype(float)
    r = funnel("proportion", o, n, share=0.0)
    y = np.arcsin(np.sqrt(o / n))
    s = 1 / (2 * np.sqrt(n))
    y0 = math.asin(math.sqrt(o.sum() / n.sum()))
    want = _dl_tau2_by_loop(list(y), list(s), y0)
    assert want > 0
    assert r.tau2 == pytest.approx(want, rel=1e-10)
    assert r.phi == pytest.approx(sum(((yi - y0) / si) ** 2 for yi, si in zip(y, s)) / n.size, rel=1e-10)


def _winsorise_by_hand(z: list[float], share: float) -> list[float]:
    """Independent: centiles by R's type 7 rule (h = (I − 1)·q, interpolate), then clip."""
    ordered = sorted(z)

    def centile(q: float) -> float:
        h = (len(ordered) - 1) * q
        lo = math.floor(h)
        hi = min(lo + 1, len(ordered) - 1)
        return ordered[lo] + (h - lo) * (ordered[hi] - ordered[lo])

    a, b = centile(share), centile(1 - share)
    return [min(max(v, a), b) for v in z]


@pytest.mark.parametrize("kind", ["proportion", "rate", "ratio"])
def test_phi_with_winsorising_matches_an_independent_computation(kind):
    rng = np.random.default_rng({"proportion": 1, "rate": 2, "ratio": 3}[kind])
    n = rng.integers(100, 50_000, 107).astype(float)
    if kind == "proportion":
        o = rng.binomial(n.astype(int), rng.uniform(0.2, 0.4, n.size)).astype(float)
    else:
        o = rng.poisson(n * 0.01 * rng.gamma(10, 0.1, n.size)).astype(float)
    r = funnel(kind, o, n)
    zw = _winsorise_by_hand(list(r.z), 0.1)
    phi = sum(v * v for v in zw) / len(zw)
    assert r.phi == pytest.approx(phi, rel=1e-12)
    assert r.overdispersion.p_value == pytest.approx(stats.chi2.sf(phi * 107, 106), rel=1e-9)


def test_rate_overdispersion_is_the_ratio_against_expected_counts():
    """A rate is treated as the ratio O/(n·θ₀): same z, φ̂, τ̂² and flags."""
    rng = np.random.default_rng(4)
    n = rng.integers(1000, 80_000, 80).astype(float)
    o = rng.poisson(n * 0.002 * rng.gamma(8, 1 / 8, n.size)).astype(float)
    rate = funnel("rate", o, n)
    ratio = funnel("ratio", o, n * rate.target_unscaled)
    assert np.allclose(rate.z, ratio.z) and rate.phi == pytest.approx(ratio.phi)
    assert rate.tau2 == pytest.approx(ratio.tau2)
    assert np.array_equal(rate.flag_998_od, ratio.flag_998_od)
    assert np.allclose(rate.lower_95_od / rate.target, ratio.lower_95_od)


def test_log_scale_counts_a_zero_as_half_an_event():
    # O = 0 with μ = 8: y = ln(0.5/8) = −2.772589, s = 1/√8, z = −2.772589·2.828427 = −7.842065
    r = funnel("ratio", [0, 10, 9, 7], [8, 9, 8, 8])
    assert r.z[0] == pytest.approx(-7.842065, abs=1e-6)
    assert np.isfinite(r.phi)


def test_sqrt_scale_cqc_method():
    # y = √(O/μ), s = 1/(2√μ), target 1: O = 0, μ = 4 → z = (0 − 1)·2·2 = −4; O = 9, μ = 4 → z = (1.5 − 1)·4 = 2
    r = funnel("ratio", [0, 9, 4, 4], [4, 4, 4, 4], scale="sqrt")
    assert r.z[:2] == pytest.approx([-4.0, 2.0])
    lim = od_control_limits("ratio", 1.0, [4.0], 0.95, scale="sqrt")
    # (1 ∓ 1.959964·0.25)² = 0.510009², 1.489991² = 0.260109, 2.220073
    assert (lim.lower[0], lim.upper[0]) == pytest.approx((0.260109, 2.220073), abs=1e-6)


def test_arcsine_back_transform_by_hand():
    # p̄ = 0.3, n = 100, τ² = 0: y₀ = arcsin √0.3 = 0.579640; sin²(y₀ ∓ 1.959964/20) = 0.214586, 0.393072
    lim = od_control_limits("proportion", 0.3, [100.0], 0.95)
    assert (lim.lower[0], lim.upper[0]) == pytest.approx((0.214586, 0.393072), abs=1e-6)
    # a very small n: y₀ − z·s < 0 clips at 0 instead of folding back up
    assert od_control_limits("proportion", 0.05, [4.0], 0.998).lower[0] == 0.0


def test_estimate_ignores_missing_and_refuses_bad_options():
    est = od.estimate([np.nan, 1.0, -1.0, 2.0], [0.1, 0.1, 0.1, np.nan])
    assert est.n == 2
    with pytest.raises(ValueError, match="method"):
        od.estimate([1.0], [1.0], method="trim")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="share"):
        od.cutoffs([1.0, 2.0], 0.5)
    single = od.estimate([2.0], [0.1])
    assert single.n == 1 and math.isnan(single.p_value) and single.tau2 == 0.0


def test_winsorise_helper():
    # 11 values 0..10: 10th centile at h = 1 → 1; 90th at h = 9 → 9
    assert list(od.winsorise(np.arange(11.0))) == [1, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9]
