"""Confidence limits: hand-worked values, textbook tables, and independent re-derivations."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import special, stats

from uptake.engine.stats.intervals import (
    byar_limits,
    exact_poisson_limits,
    poisson_limits,
    rate_limits,
    ratio_limits,
    wilson_limits,
    z_value,
)

Z95 = 1.959964
Z998 = 3.090232


def test_z_values_are_fingertips_constants():
    assert z_value(0.95) == pytest.approx(Z95, abs=5e-7)
    assert z_value(0.998) == pytest.approx(Z998, abs=5e-7)
    assert z_value(0.90) == pytest.approx(1.644854, abs=5e-7)  # any level is allowed


@pytest.mark.parametrize("level", [0, 1, 95, -0.5, float("nan")])
def test_z_value_refuses_levels_outside_0_1(level):
    with pytest.raises(ValueError, match="confidence level"):
        z_value(level)


# ---------------------------------------------------------------- Wilson

def test_wilson_hand_worked_5_of_20():
    # 2O + z² = 13.841459; √(z² + 4·5·0.75) = √18.841459 = 4.340675; 2(n + z²) = 47.682918
    # p_L = (13.841459 − 1.959964·4.340675)/47.682918 = 0.111862
    # p_U = (13.841459 + 8.507548)/47.682918 = 0.468701   (the textbook 0.1119–0.4687)
    lo, hi = wilson_limits([5], [20], 0.95)
    assert lo[0] == pytest.approx(0.111862, abs=1e-6)
    assert hi[0] == pytest.approx(0.468701, abs=1e-6)


def test_wilson_at_zero_numerator():
    # O = 0: the root is z·√(z²) = z², so p_L = 0 and p_U = 2z²/(2(n + z²)) = z²/(n + z²)
    # n = 10: 3.841459/13.841459 = 0.277533
    lo, hi = wilson_limits([0], [10], 0.95)
    assert lo[0] == 0.0
    assert hi[0] == pytest.approx(0.277533, abs=1e-6)
    # 99.8%: z² = 9.549534; 9.549534/19.549534 = 0.488479
    lo, hi = wilson_limits([0], [10], 0.998)
    assert lo[0] == 0.0
    assert hi[0] == pytest.approx(0.488479, abs=1e-6)


def test_wilson_at_numerator_equal_to_denominator():
    # O = n: p_L = n/(n + z²) = 10/13.841459 = 0.722467, p_U = 1
    lo, hi = wilson_limits([10], [10], 0.95)
    assert lo[0] == pytest.approx(0.722467, abs=1e-6)
    assert hi[0] == 1.0


def _wilson_by_quadratic(o: int, n: int, z: float) -> tuple[float, float]:
    """Independent: the Wilson limits are the p where the score statistic |p̂ − p|/√(p(1−p)/n)
    equals z, i.e. the roots of (n + z²)p² − (2O + z²)p + O²/n = 0."""
    roots = np.roots([n + z * z, -(2 * o + z * z), o * o / n])
    roots = sorted(float(np.real(r)) for r in roots)
    return max(roots[0], 0.0), min(roots[1], 1.0)


@pytest.mark.parametrize("level", [0.95, 0.998, 0.9])
def test_wilson_matches_the_roots_of_the_score_test(level):
    z = float(stats.norm.ppf(0.5 + level / 2))
    rng = np.random.default_rng(11)
    n = rng.integers(1, 5000, 200)
    o = np.array([rng.integers(0, k + 1) for k in n])
    lo, hi = wilson_limits(o, n, level)
    for i in range(len(n)):
        want_lo, want_hi = _wilson_by_quadratic(int(o[i]), int(n[i]), z)
        assert lo[i] == pytest.approx(want_lo, abs=1e-9)
        assert hi[i] == pytest.approx(want_hi, abs=1e-9)


def test_wilson_limits_sit_exactly_z_score_units_from_the_observed_proportion():
    o, n = np.array([3, 40, 120]), np.array([50, 200, 130])
    lo, hi = wilson_limits(o, n, 0.95)
    p = o / n
    assert np.allclose((p - lo) / np.sqrt(lo * (1 - lo) / n), Z95, atol=1e-5)
    assert np.allclose((hi - p) / np.sqrt(hi * (1 - hi) / n), Z95, atol=1e-5)


def test_wilson_missing_and_zero_denominator_give_nan_and_bad_input_raises():
    lo, hi = wilson_limits([np.nan, 0, 1], [10, 0, np.nan])
    assert np.isnan(lo).all() and np.isnan(hi).all()
    with pytest.raises(ValueError, match="exceed"):
        wilson_limits([11], [10])
    with pytest.raises(ValueError, match="zero or more"):
        wilson_limits([-1], [10])
    with pytest.raises(ValueError, match="same length"):
        wilson_limits([1, 2], [10])


# ---------------------------------------------------------------- Poisson

@pytest.mark.parametrize(
    ("observed", "lower", "upper"),
    [  # the standard table of exact 95% Poisson limits (e.g. Documenta Geigy; PHE Technical Guide)
        (0, 0.0, 3.689),
        (1, 0.0253, 5.572),
        (5, 1.623, 11.668),
        (10, 4.795, 18.390),
    ],
)
def test_exact_poisson_matches_published_table(observed, lower, upper):
    lo, hi = exact_poisson_limits([observed], 0.95)
    assert lo[0] == pytest.approx(lower, abs=6e-4)
    assert hi[0] == pytest.approx(upper, abs=6e-4)


def test_exact_poisson_at_zero_is_minus_log_of_the_tail():
    # χ² on 2 df: ½χ²_q(2) = −ln(1 − q): 95% → −ln 0.025 = 3.688879; 99.8% → −ln 0.001 = 6.907755
    assert exact_poisson_limits([0], 0.95).upper[0] == pytest.approx(3.688879, abs=1e-6)
    assert exact_poisson_limits([0], 0.998).upper[0] == pytest.approx(6.907755, abs=1e-6)
    assert exact_poisson_limits([0], 0.998).lower[0] == 0.0


def _bisect(f, lo: float, hi: float) -> float:
    for _ in range(70):
        mid = (lo + hi) / 2
        if f(mid) > 0:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def _exact_by_poisson_cdf(o: int, level: float) -> tuple[float, float]:
    """Independent: the μ at which P(X ≥ O | μ) = α/2 (lower) and P(X ≤ O | μ) = α/2 (upper),
    by bisection on the Poisson distribution function."""
    tail = (1 - level) / 2
    lower = 0.0 if o == 0 else _bisect(lambda mu: tail - stats.poisson.sf(o - 1, mu), 0.0, o + 50.0)
    upper = _bisect(lambda mu: stats.poisson.cdf(o, mu) - tail, 0.0, 3 * o + 50.0)
    return lower, upper


@pytest.mark.parametrize("level", [0.95, 0.998])
def test_exact_poisson_matches_bisection_on_the_poisson_cdf(level):
    counts = list(range(0, 31)) + [57, 120]
    lo, hi = exact_poisson_limits(counts, level)
    for i, o in enumerate(counts):
        want_lo, want_hi = _exact_by_poisson_cdf(o, level)
        assert lo[i] == pytest.approx(want_lo, rel=1e-7, abs=1e-10)
        assert hi[i] == pytest.approx(want_hi, rel=1e-7)


def test_exact_poisson_for_a_real_count_is_the_gamma_generalisation():
    # For real O, ½χ²_q(2O) is the q-quantile of Gamma(O, 1): P(O, L) = q with P the
    # regularised lower incomplete gamma function.
    o = np.array([0.4, 3.74, 9.5])
    lo, hi = exact_poisson_limits(o, 0.95)
    assert np.allclose(special.gammainc(o, lo), 0.025, atol=1e-10)
    assert np.allclose(special.gammainc(o + 1, hi), 0.975, atol=1e-10)


def test_byar_hand_worked_at_10():
    # O_L = 10·(1 − 1/90 − 1.959964/(3√10))³ = 10·(1 − 0.011111 − 0.206598)³ = 10·0.782291³ = 4.787450
    # O_U = 11·(1 − 1/99 + 1.959964/(3√11))³ = 11·(1 − 0.010101 + 0.196983)³ = 18.391459
    lo, hi = byar_limits([10], 0.95)
    assert lo[0] == pytest.approx(4.787450, abs=2e-6)
    assert hi[0] == pytest.approx(18.391459, abs=2e-6)


def test_byar_is_within_0_2_percent_of_exact_from_10_events_at_95():
    counts = np.arange(10, 3001)
    exact = exact_poisson_limits(counts, 0.95)
    byar = byar_limits(counts, 0.95)
    assert np.max(np.abs(byar.lower / exact.lower - 1)) < 0.002
    assert np.max(np.abs(byar.upper / exact.upper - 1)) < 0.002
    # and it is not that close below 10, which is why Fingertips switches there
    assert abs(byar_limits([2], 0.95).lower[0] / exact_poisson_limits([2], 0.95).lower[0] - 1) > 0.002


def test_byar_lower_never_negative():
    lo, _ = byar_limits([0, 1, 2], 0.998)  # the formula itself goes negative here
    assert np.all(lo >= 0)


def test_poisson_limits_switch_from_exact_to_byar_at_10():
    combined = poisson_limits([9, 9.99, 10, 11], 0.95)
    exact = exact_poisson_limits([9, 9.99], 0.95)
    byar = byar_limits([10, 11], 0.95)
    assert np.array_equal(combined.lower[:2], exact.lower) and np.array_equal(combined.upper[:2], exact.upper)
    assert np.array_equal(combined.lower[2:], byar.lower) and np.array_equal(combined.upper[2:], byar.upper)


def test_rate_limits_hand_worked():
    # 25 events in 50,000, per 1,000: Byar 25 → (16.174266, 36.906451); ÷ 50 → (0.323485, 0.738129)
    lo, hi = rate_limits([25], [50_000], 0.95, multiplier=1000)
    assert lo[0] == pytest.approx(0.323485, abs=1e-6)
    assert hi[0] == pytest.approx(0.738129, abs=1e-6)
    lo, hi = rate_limits([25, 3], [0, np.nan])
    assert np.isnan(lo).all() and np.isnan(hi).all()


def test_ratio_limits_are_count_limits_over_expected():
    # 30 observed, 20 expected: Byar 30 → (20.236939, 42.828372); ÷ 20 → (1.011847, 2.141419)
    lo, hi = ratio_limits([30], [20], 0.95)
    assert lo[0] == pytest.approx(1.011847, abs=1e-6)
    assert hi[0] == pytest.approx(2.141419, abs=1e-6)
    o, e = np.array([0, 4, 30, 250]), np.array([2.0, 5.0, 20.0, 199.0])
    got = ratio_limits(o, e, 0.998)
    want = poisson_limits(o, 0.998)
    assert np.allclose(got.lower, want.lower / e) and np.allclose(got.upper, want.upper / e)


def test_limits_are_ordered_and_99_8_is_wider():
    o = np.arange(0, 200)
    for fn in (exact_poisson_limits, byar_limits, poisson_limits):
        a, b = fn(o, 0.95), fn(o, 0.998)
        assert np.all(a.lower <= o) and np.all(a.upper >= o)
        assert np.all(b.lower <= a.lower) and np.all(b.upper > a.upper)
    a, b = wilson_limits(o, np.full(o.size, 250), 0.95), wilson_limits(o, np.full(o.size, 250), 0.998)
    assert np.all(a.lower <= o / 250) and np.all(a.upper >= o / 250)
    assert np.all(b.lower <= a.lower) and np.all(b.upper >= a.upper)
    assert math.isclose(a.upper[0], Z95**2 / (250 + Z95**2), rel_tol=1e-6)


def test_poisson_refuses_negative_and_keeps_nan():
    with pytest.raises(ValueError, match="zero or more"):
        poisson_limits([-1])
    lo, hi = poisson_limits([np.nan, 4])
    assert np.isnan(lo[0]) and np.isnan(hi[0]) and np.isfinite(lo[1])
