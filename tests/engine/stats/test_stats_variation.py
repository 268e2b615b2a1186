"""Variation statistics: the Atlas range, centile ratios, CVs and McPherson's SCV."""

from __future__ import annotations

import math

import numpy as np
import pytest

from uptake.engine.stats.variation import (
    coefficient_of_variation,
    extremal_quotient,
    systematic_component,
    trim_count,
    variation_summary,
)

ONE_TO_20 = np.arange(1.0, 21.0)


def test_summary_of_1_to_20_by_hand():
    v = variation_summary(ONE_TO_20[::-1])  # order does not matter
    assert v.n_areas == 20 and v.n_zero == 0
    assert v.extremal_quotient == 20.0
    # 5% of 20 = 1 area excluded each end: 19/2 = 9.5
    assert v.trimmed_k == 1
    assert v.extremal_quotient_trimmed == 9.5
    # P10: h = 19·0.1 = 1.9 → 2 + 0.9 = 2.9; P90: h = 17.1 → 18 + 0.1 = 18.1; 18.1/2.9 = 6.241379
    assert (v.p10, v.p90) == pytest.approx((2.9, 18.1))
    assert v.p90_p10 == pytest.approx(6.241379, abs=1e-6)
    # Q1: h = 4.75 → 5.75; Q3: h = 14.25 → 15.25; 15.25/5.75 = 2.652174
    assert v.interquartile_ratio == pytest.approx(2.652174, abs=1e-6)
    # mean 10.5, sample sd √35 = 5.916080, CV = 0.563436
    assert v.cv == pytest.approx(0.563436, abs=1e-6)
    assert v.cv_weighted is None and v.scv is None and v.notes == ()


def test_trimming_by_k_or_share():
    assert variation_summary(ONE_TO_20, k=3).extremal_quotient_trimmed == pytest.approx(17 / 4)
    assert variation_summary(ONE_TO_20, share=0.1).extremal_quotient_trimmed == pytest.approx(18 / 3)
    assert extremal_quotient(ONE_TO_20, k=5) == pytest.approx(15 / 6)
    assert trim_count(106) == 5  # 5% of 106 sub-ICBs: 5.3 → 5, the Atlas's "5 each end"
    assert trim_count(60) == 3 and trim_count(19) == 0
    with pytest.raises(ValueError):
        trim_count(10, share=0.5)


def test_zeros_make_ratios_none_and_say_so():
    v = variation_summary([0.0, 0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0, 13.0, 14.0, 15.0,
                           16.0, 17.0, 18.0])
    assert v.n_zero == 2 and v.minimum == 0.0
    assert v.extremal_quotient is None
    assert v.extremal_quotient_trimmed is None  # trimming 1 leaves the other zero
    assert v.p90_p10 is not None  # P10 = 0 + 0.9·1 = 0.9
    assert any("extremal quotient undefined" in n for n in v.notes)
    assert any("trimmed extremal quotient undefined" in n for n in v.notes)
    # a trim that removes the zeros gives a number again
    assert variation_summary([0.0, 2.0, 3.0, 4.0, 40.0], k=1).extremal_quotient_trimmed == pytest.approx(2.0)


def test_all_zero_and_empty_inputs():
    v = variation_summary([0.0, 0.0, 0.0])
    assert v.extremal_quotient is None and v.p90_p10 is None and v.interquartile_ratio is None and v.cv is None
    assert len(v.notes) == 5
    e = variation_summary([np.nan])
    assert e.n_areas == 0 and e.extremal_quotient is None and e.notes[0] == "no area has a value"


def test_trim_that_leaves_nothing():
    v = variation_summary([1.0, 2.0], k=1)
    assert v.extremal_quotient_trimmed is None
    assert any("leaves no area" in n for n in v.notes)


def test_weighted_cv_by_hand():
    # values (1, 2, 3), weights (1, 1, 2): x̄_w = 9/4 = 2.25;
    # Σw(x − x̄_w)² = 1.5625 + 0.0625 + 2·0.5625 = 2.75; s_w = √(2.75/4) = 0.829156; CV_w = 0.368514
    assert coefficient_of_variation([1.0, 2.0, 3.0], [1.0, 1.0, 2.0]) == pytest.approx(0.368514, abs=1e-6)
    # unweighted: mean 2, sample sd 1 → 0.5
    assert coefficient_of_variation([1.0, 2.0, 3.0]) == 0.5
    v = variation_summary([1.0, 2.0, 3.0, np.nan], population=[1.0, 1.0, 2.0, 5.0])
    assert v.cv_weighted == pytest.approx(0.368514, abs=1e-6)


def test_cv_against_numpy():
    rng = np.random.default_rng(9)
    x, w = rng.gamma(3, 2, 150), rng.integers(1000, 500_000, 150).astype(float)
    assert coefficient_of_variation(x) == pytest.approx(np.std(x, ddof=1) / np.mean(x), rel=1e-12)
    mean = np.average(x, weights=w)
    assert coefficient_of_variation(x, w) == pytest.approx(
        math.sqrt(np.average((x - mean) ** 2, weights=w)) / mean, rel=1e-12)


def test_centiles_against_numpy():
    rng = np.random.default_rng(10)
    x = rng.lognormal(0, 0.4, 211)
    v = variation_summary(x)
    p10, q1, q3, p90 = np.percentile(x, [10, 25, 75, 90])
    assert v.p90_p10 == pytest.approx(p90 / p10, rel=1e-12)
    assert v.interquartile_ratio == pytest.approx(q3 / q1, rel=1e-12)
    s = np.sort(x)
    assert v.extremal_quotient_trimmed == pytest.approx(s[-11] / s[10], rel=1e-12)  # ⌊0.05·211⌋ = 10


def test_scv_by_hand():
    # O = (10, 20, 30), E = 20 each: (O − E)²/E² = (0.25, 0, 0.25), mean 1/6; mean(1/E) = 0.05
    # SCV = 100·(0.166667 − 0.05) = 11.666667
    assert systematic_component([10, 20, 30], [20, 20, 20]) == pytest.approx(11.666667, abs=1e-6)
    # O = E everywhere leaves only the Poisson correction: 100·(0 − 1/50) = −2 (less than chance)
    assert systematic_component([50, 50], [50, 50]) == pytest.approx(-2.0)
    # areas without an expected value are left out
    assert systematic_component([10, 20, 30, 5], [20, 20, 20, 0]) == pytest.approx(11.666667, abs=1e-6)
    assert systematic_component([1], [0]) is None


def test_scv_against_a_loop_and_in_the_summary():
    rng = np.random.default_rng(12)
    e = rng.uniform(20, 400, 50)
    o = rng.poisson(e * rng.gamma(25, 1 / 25, 50))
    total = 0.0
    for oi, ei in zip(o, e):
        total += (oi - ei) ** 2 / ei**2 - 1 / ei
    want = 100 * total / 50
    assert systematic_component(o, e) == pytest.approx(want, rel=1e-10)
    assert variation_summary(o / e, observed=o, expected=e).scv == pytest.approx(want, rel=1e-10)


def test_bad_inputs():
    with pytest.raises(ValueError, match="zero or more"):
        variation_summary([1.0, -2.0])
    with pytest.raises(ValueError, match="both"):
        variation_summary([1.0], observed=[1.0])
    with pytest.raises(ValueError, match="same length"):
        variation_summary([1.0, 2.0], population=[1.0])
