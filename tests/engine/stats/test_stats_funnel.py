"""Funnel limits and flags (PHE/Fingertips), by hand and against independent derivations."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import optimize, special, stats

from uptake.engine.stats.funnel import (
    HIGH,
    LOW,
    NOT_COMPARED,
    NOT_SIGNIFICANT,
    control_limits,
    denominator_grid,
    funnel,
    funnel_curves,
    od_control_limits,
    pooled_target,
)
from uptake.engine.stats.intervals import wilson_limits

Z95 = 1.959964
Z998 = 3.090232
NS = NOT_SIGNIFICANT


# ---------------------------------------------------------------- proportions

PROP_O = [5, 30, 50, 2]
PROP_N = [20, 100, 120, 50]  # p̄ = 87/290 = 0.3


def test_proportion_hand_worked():
    r = funnel("proportion", PROP_O, PROP_N)
    assert r.target == pytest.approx(0.3, abs=1e-15)
    # n = 100: 0.3 ± 1.959964·√(0.21/100) = 0.3 ± 0.089817
    assert r.lower_95[1] == pytest.approx(0.210183, abs=1e-6)
    assert r.upper_95[1] == pytest.approx(0.389817, abs=1e-6)
    # n = 120 at 99.8%: 0.3 + 3.090232·√(0.21/120) = 0.429274
    assert r.upper_998[2] == pytest.approx(0.429274, abs=1e-6)
    # n = 20 at 99.8%: 0.3 − 3.090232·√(0.21/20) = −0.0167 → clipped to 0
    assert r.lower_998[0] == 0.0
    # 50/120 = 0.4167: above 0.3898 at 95% (its Wilson lower 0.3324 > 0.3), inside 0.4293 at 99.8%
    # 2/50 = 0.04: low at both; 5/20 and 30/100 not significant
    assert list(r.flag_95) == [NS, NS, HIGH, LOW]
    assert list(r.flag_998) == [NS, NS, NS, LOW]
    assert r.ci_lower_95[0] == pytest.approx(0.111862, abs=1e-6)  # Wilson 5/20


def test_inverted_wilson_identity():
    """methods.md §5.3(a): the proportion whose Wilson interval has p̄ exactly at its edge is
    p̄ ± z·√(p̄(1 − p̄)/n)."""
    for p_bar in (0.05, 0.2, 0.5, 0.9):
        for n in (30, 100, 1000, 25_000):
            for level in (0.95, 0.998):
                lo, hi = control_limits("proportion", p_bar, [n], level)
                if lo[0] > 0:
                    assert wilson_limits([lo[0] * n], [n], level).upper[0] == pytest.approx(p_bar, abs=1e-12)
                if hi[0] < 1:
                    assert wilson_limits([hi[0] * n], [n], level).lower[0] == pytest.approx(p_bar, abs=1e-12)


def test_proportion_flags_agree_with_the_limits():
    rng = np.random.default_rng(5)
    n = rng.integers(20, 3000, 400)
    o = rng.binomial(n, rng.uniform(0.1, 0.5, n.size))
    r = funnel("proportion", o, n)
    for lvl in ("95", "998"):
        lower, upper, flag = getattr(r, f"lower_{lvl}"), getattr(r, f"upper_{lvl}"), getattr(r, f"flag_{lvl}")
        position = np.where(r.value > upper, HIGH, np.where(r.value < lower, LOW, NS))
        assert np.array_equal(flag, position)
    assert {HIGH, LOW} <= set(r.flag_95)  # the data are overdispersed, so both kinds occur


def test_zero_numerator_proportion():
    # 0 of 40 against p̄ = 0.25: Wilson upper z²/(40 + z²) = 3.841459/43.841459 = 0.087622 < 0.25 → low
    r = funnel("proportion", [0, 30], [40, 80])
    assert r.target == pytest.approx(30 / 120)
    assert r.value[0] == 0.0
    assert r.ci_lower_95[0] == 0.0
    assert r.ci_upper_95[0] == pytest.approx(0.087622, abs=1e-6)
    assert r.flag_95[0] == LOW


def test_zero_and_missing_denominators_are_not_compared_and_do_not_move_the_target():
    base = funnel("proportion", PROP_O, PROP_N)
    more = funnel("proportion", PROP_O + [0, np.nan, 3], PROP_N + [0, 10, np.nan])
    assert more.target == base.target
    assert list(more.flag_95[4:]) == [NOT_COMPARED] * 3
    assert list(more.flag_998_od[4:]) == [NOT_COMPARED] * 3
    assert np.array_equal(more.flag_95[:4], base.flag_95)
    assert np.array_equal(more.flag_95_od[:4], base.flag_95_od)
    assert more.phi == base.phi and more.tau2 == base.tau2
    assert np.isnan(more.value[4:]).all() and np.isnan(more.lower_95[4:]).all()
    assert more.n_compared == 4


def test_a_limit_touching_the_target_is_not_significant():
    # all-zero rates: target 0, every area's lower limit is exactly 0 — not above it
    r = funnel("rate", [0, 0, 0], [10, 200, 3000])
    assert r.target == 0.0
    assert list(r.flag_95) == list(r.flag_998) == [NS] * 3
    # a proportion of 1 against a target of 1: Wilson upper is exactly 1 — not below it
    # (4092 is a case where the formula's floating-point rounding lands an ulp under 1)
    r = funnel("proportion", [10, 40, 4092], [10, 40, 4092])
    assert list(r.flag_95) == list(r.flag_998) == [NS, NS, NS]
    assert list(r.ci_upper_998) == [1.0, 1.0, 1.0]


def test_no_comparable_area_gives_nan_target_and_no_crash():
    r = funnel("rate", [0, 1], [0, 0])
    assert math.isnan(r.target)
    assert set(r.flag_95) == set(r.flag_95_od) == {NOT_COMPARED}
    assert math.isnan(r.phi)


def test_bad_input_raises():
    with pytest.raises(ValueError, match="exceed"):
        funnel("proportion", [5], [4])
    with pytest.raises(ValueError, match="zero or more"):
        funnel("rate", [-1], [4])
    with pytest.raises(ValueError, match="zero or more"):
        funnel("ratio", [1], [-4])
    with pytest.raises(ValueError, match="kind"):
        funnel("percent", [1], [4])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="target"):
        funnel("proportion", [1], [4], target=1.5)
    with pytest.raises(ValueError, match="scale"):
        funnel("proportion", [1], [4], scale="log")


# ---------------------------------------------------------------- rates

RATE_O = [5, 30, 50, 2, 0, 100]
RATE_N = [2000, 10_000, 12_000, 5000, 1000, 20_000]  # target 187/50,000 = 0.00374 = 3.74 per 1,000


def test_rate_hand_worked():
    r = funnel("rate", RATE_O, RATE_N, multiplier=1000)
    assert r.target == pytest.approx(3.74, abs=1e-12)
    # n = 1,000: μ = 3.74 is just above −ln 0.025 = 3.688879 (the exact upper limit of 0 events),
    # so the lower limit is a count just above 0: P(O_L + 1, 3.74) = 0.975 gives O_L = 0.024398;
    # upper: P(O_U, 3.74) = 0.025 gives O_U = 8.436323 (both checked with gammainc below)
    assert r.lower_95[4] == pytest.approx(0.024398, abs=1e-6)
    assert r.upper_95[4] == pytest.approx(8.436323, abs=1e-6)
    assert special.gammainc(0.024398 + 1, 3.74) == pytest.approx(0.975, abs=1e-6)
    assert special.gammainc(8.436323, 3.74) == pytest.approx(0.025, abs=1e-6)
    # 100 in 20,000 = 5.0: Byar lower of 100 = 81.362105 → 4.068105 > 3.74: high at 95%;
    # at 99.8% Byar lower 71.9037 → 3.595185 < 3.74: not significant
    assert r.ci_lower_95[5] == pytest.approx(4.068105, abs=1e-6)
    assert (r.flag_95[5], r.flag_998[5]) == (HIGH, NS)
    # 0 in 1,000: exact upper −ln 0.025 = 3.688879 < 3.74: low at 95%; −ln 0.001 = 6.907755: not at 99.8%
    assert r.ci_upper_95[4] == pytest.approx(3.688879, abs=1e-6)
    assert (r.flag_95[4], r.flag_998[4]) == (LOW, NS)
    # 2 in 5,000 = 0.4: exact upper of 2 at 99.8% = ½χ²_{0.999}(6) = 11.2290 → 2.2458 per 1,000 < 3.74
    assert r.ci_upper_998[3] == pytest.approx(2.2458, abs=1e-4)
    assert (r.flag_95[3], r.flag_998[3]) == (LOW, LOW)


def test_count_control_limits_invert_the_exact_interval():
    """Independent: the upper limit O_U at expected count μ satisfies P(O_U, μ) = α/2 and the
    lower O_L satisfies P(O_L + 1, μ) = 1 − α/2, for the regularised incomplete gamma P: the
    counts whose exact interval has μ as its lower and upper bound."""
    n = np.array([100.0, 500.0, 1000.0, 2600.0, 30_000.0, 3_000_000.0])
    target = 0.0035  # μ = 0.35, 1.75, 3.5, 9.1, 105, 10,500
    for level in (0.95, 0.998):
        tail = (1 - level) / 2
        lo, hi = control_limits("rate", target, n, level)
        mu = n * target
        assert np.allclose(special.gammainc(hi * n, mu), tail, rtol=1e-9, atol=1e-12)
        above = lo > 0
        assert np.allclose(special.gammainc(lo[above] * n[above] + 1, mu[above]), 1 - tail, rtol=1e-9)
        # below the exact upper limit of 0 events (−ln α/2) no count is low
        assert np.array_equal(~above, mu < -np.log(tail))


def _exact_bound(observed: int, tail: float, side: str) -> float:
    """The Poisson mean at which P(X ≤ O) = α/2 ("upper") or P(X ≥ O) = α/2 ("lower"), found by
    root-finding on scipy's Poisson distribution: PHEindicatormethods' `poisson_funnel`."""
    if side == "upper":
        return optimize.brentq(lambda m: stats.poisson.cdf(observed, m) - tail, 1e-12, 10 * observed + 50, xtol=1e-13)
    return optimize.brentq(lambda m: stats.poisson.sf(observed - 1, m) - tail, 1e-12, 10 * observed + 50, xtol=1e-13)


# PHEindicatormethods' own expected output for `calculate_funnel_limits(statistic = "ratio")`:
# tests/testthat/testdata_funnel_ratio_outputs.csv (github.com/ukhsa-collaboration/
# PHEindicatormethods, commit 8ac28e54): observed events O and the expected events at which each
# limit passes through O: lower_2s_exp_events, upper_2s_exp_events, lower_3s_exp_events,
# upper_3s_exp_events (2s = 95%, 3s = 99.8%).
PHE_RATIO_OUTPUTS = [
    (1, 5.571644585, 0.025317898, 9.233410143, 0.001000547),
    (2, 7.224687515, 0.242209467, 11.22886836, 0.04540199),
    (10, 18.39035799, 4.795387629, 24.13397235, 2.960519925),
    (20, 30.88838097, 12.21651877, 38.04188668, 8.958211233),
    (100, 121.6268111, 81.36400699, 134.9243187, 71.92139974),
    (716, 770.4222128, 664.5083011, 802.60414, 636.1521174),
]


@pytest.mark.parametrize("row", PHE_RATIO_OUTPUTS, ids=lambda r: f"O={r[0]}")
def test_ratio_limits_match_phe_indicator_methods(row):
    """The official curve passes through (E, O/E) with E the exact bound of O; ours, drawn at
    that E, gives O/E, within the published table's bisection tolerance (its v = E/(E + O + 1)
    is found to 1e-7, about 1e-5 of E at O = 1, 99.8%)."""
    o, lower95_at, upper95_at, lower998_at, upper998_at = row
    for level, lower_at, upper_at in ((0.95, lower95_at, upper95_at), (0.998, lower998_at, upper998_at)):
        assert control_limits("ratio", 1.0, [lower_at], level).lower[0] == pytest.approx(o / lower_at, rel=1e-5)
        assert control_limits("ratio", 1.0, [upper_at], level).upper[0] == pytest.approx(o / upper_at, rel=1e-5)


@pytest.mark.parametrize("o", [1, 2, 3, 7, 9, 10, 15, 40, 250])
def test_ratio_limits_match_an_independent_poisson_root_finding(o):
    for level in (0.95, 0.998):
        tail = (1 - level) / 2
        e_low, e_high = _exact_bound(o, tail, "lower"), _exact_bound(o, tail, "upper")
        assert control_limits("ratio", 1.0, [e_low], level).upper[0] == pytest.approx(o / e_low, rel=1e-8)
        assert control_limits("ratio", 1.0, [e_high], level).lower[0] == pytest.approx(o / e_high, rel=1e-8)


def test_ratio_upper_limit_at_one_event_is_the_official_39_5():
    """Issue 17.6: at O = 1 the upper 95% limit is drawn at E = 0.0253 (the exact lower limit of
    1 event); the official value there is 1/0.0253 = 39.5 (the expected count's own interval
    gave 147.8)."""
    e = _exact_bound(1, 0.025, "lower")
    assert e == pytest.approx(0.025317808, rel=1e-7)
    assert control_limits("ratio", 1.0, [e]).upper[0] == pytest.approx(39.4977, abs=1e-3)


def test_multiplier_only_scales_output():
    a = funnel("rate", RATE_O, RATE_N)
    b = funnel("rate", RATE_O, RATE_N, multiplier=1000)
    for name in ("value", "lower_95", "upper_998", "ci_lower_95", "lower_95_od", "upper_998_mult"):
        assert np.allclose(getattr(b, name), 1000 * getattr(a, name), equal_nan=True)
    for name in ("flag_95", "flag_998", "flag_95_od", "flag_998_od", "flag_95_mult", "z", "z_od"):
        assert np.array_equal(getattr(a, name), getattr(b, name))
    assert (a.phi, a.tau2) == (b.phi, b.tau2)


def test_count_flags_agree_with_the_drawn_limits():
    """The drawn limits invert the exact interval, so below 10 events a point is beyond a limit
    exactly when it is flagged; from 10 events the flag uses Byar's approximation (Fingertips),
    so the two agree except within Byar's error (< 0.2%) of a limit."""
    rng = np.random.default_rng(8)
    n = rng.integers(500, 200_000, 500).astype(float)
    o = rng.poisson(n * 0.004 * rng.gamma(20, 1 / 20, n.size)).astype(float)
    n = np.concatenate([n, rng.integers(100, 2000, 300).astype(float)])
    o = np.concatenate([o, rng.poisson(n[500:] * 0.004 * rng.gamma(5, 1 / 5, 300)).astype(float)])
    r = funnel("rate", o, n)
    small = o < 10
    for lvl in ("95", "998"):
        lower, upper = getattr(r, f"lower_{lvl}") * n, getattr(r, f"upper_{lvl}") * n  # as counts
        flag = getattr(r, f"flag_{lvl}")
        beyond_high, beyond_low = o > upper, o < lower
        assert np.array_equal(flag[small] == HIGH, beyond_high[small])
        assert np.array_equal(flag[small] == LOW, beyond_low[small])
        clear = ~small & (np.abs(o - upper) > 0.002 * upper) & (np.abs(o - lower) > 0.002 * lower)
        assert np.array_equal(flag[clear] == HIGH, beyond_high[clear])
        assert np.array_equal(flag[clear] == LOW, beyond_low[clear])
        assert (small & (flag != NS)).any() and (clear & (flag == HIGH)).any() and (clear & (flag == LOW)).any()


# ---------------------------------------------------------------- ratios

def test_ratio_hand_worked():
    r = funnel("ratio", [30, 8, 0, 12], [20, 10, 5, 12])
    assert r.target == 1.0
    assert np.allclose(r.value, [1.5, 0.8, 0.0, 1.0])
    # 30/20: Byar lower of 30 = 20.236939 → 1.011847 > 1: high at 95%; at 99.8% 15.838987 → 0.791949
    assert r.ci_lower_95[0] == pytest.approx(1.011847, abs=1e-6)
    assert r.ci_lower_998[0] == pytest.approx(0.791949, abs=1e-6)
    # 0/5: exact upper 3.688879/5 = 0.737776 < 1: low at 95%; 6.907755/5 = 1.381551: not at 99.8%
    assert r.ci_upper_95[2] == pytest.approx(0.737776, abs=1e-6)
    assert list(r.flag_95) == [HIGH, NS, LOW, NS]
    assert list(r.flag_998) == [NS, NS, NS, NS]
    # control limits at E = 20: P(O_L + 1, 20) = 0.975 → O_L = 11.247658, P(O_U, 20) = 0.025 →
    # O_U = 29.706324; ÷ 20 → 0.562383, 1.485316 (PHEindicatormethods' table: O = 12 is the
    # lower limit at E = 20.96, O = 30 the upper at E = 20.24, either side of these)
    assert r.lower_95[0] == pytest.approx(0.562383, abs=1e-6)
    assert r.upper_95[0] == pytest.approx(1.485316, abs=1e-6)
    assert special.gammainc(0.562383 * 20 + 1, 20) == pytest.approx(0.975, abs=1e-5)
    assert special.gammainc(1.485316 * 20, 20) == pytest.approx(0.025, abs=1e-5)
    # E = 12 → 0.436362, 1.643515
    assert (r.lower_95[3], r.upper_95[3]) == pytest.approx((0.436362, 1.643515), abs=1e-6)


def test_ratio_with_a_given_target():
    r = funnel("ratio", [30, 8], [20, 10], target=1.6)
    assert r.target == 1.6
    # 30/20 = 1.5, CI (1.0118, 2.1414) contains 1.6; 8/10 = 0.8, exact upper of 8 = 15.7631 / 10 = 1.576 < 1.6
    assert list(r.flag_95) == [NS, LOW]


def test_pooled_target():
    assert pooled_target("proportion", PROP_O, PROP_N) == pytest.approx(0.3)
    assert pooled_target("rate", [1, 2, np.nan], [10, 0, 5]) == pytest.approx(0.1)
    assert pooled_target("ratio", [1, 2], [3, 4]) == 1.0


# ---------------------------------------------------------------- curves

def test_curves_over_a_geometric_grid_match_the_pointwise_limits():
    r = funnel("proportion", PROP_O, PROP_N, multiplier=100)
    c = funnel_curves(r, n_points=50)
    assert c.denominator[0] == pytest.approx(20) and c.denominator[-1] == pytest.approx(120)
    assert np.allclose(np.diff(np.log(c.denominator)), math.log(6) / 49)
    assert np.allclose(c.upper_95, control_limits("proportion", 0.3, c.denominator, 0.95, 100).upper)
    assert np.allclose(c.lower_998_od, od_control_limits("proportion", 0.3, c.denominator, 0.998,
                                                         tau2=r.tau2, multiplier=100).lower)
    # at the areas' own denominators the curves are the per-area limits
    at = funnel_curves(r, denominators=PROP_N)
    for name in ("lower_95", "upper_998", "lower_95_od", "upper_998_od", "lower_95_mult", "upper_998_mult"):
        assert np.allclose(getattr(at, name), getattr(r, name))
    assert np.all(c.lower_998 <= c.lower_95) and np.all(c.upper_998 >= c.upper_95)
    assert np.all(np.diff(c.upper_95) < 0)  # the funnel narrows


def test_denominator_grid_refuses_a_bad_range():
    with pytest.raises(ValueError):
        denominator_grid(0, 10)
    with pytest.raises(ValueError):
        denominator_grid(10, 5)
    with pytest.raises(ValueError, match="no area"):
        funnel_curves(funnel("rate", [1], [0]))
