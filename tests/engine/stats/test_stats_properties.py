"""Properties every funnel and interval must have, whatever the data (hypothesis)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from uptake.engine.stats.funnel import HIGH, LOW, funnel
from uptake.engine.stats.intervals import poisson_limits, wilson_limits

SETTINGS = settings(max_examples=60, deadline=None)
TOL = 1e-9


@st.composite
def proportions(draw):
    n = draw(st.lists(st.integers(0, 100_000), min_size=2, max_size=40))
    o = [draw(st.integers(0, k)) for k in n]
    return np.array(o, float), np.array(n, float)


@st.composite
def rates(draw):
    size = draw(st.integers(2, 40))
    o = draw(st.lists(st.integers(0, 5000), min_size=size, max_size=size))
    n = draw(st.lists(st.integers(0, 1_000_000), min_size=size, max_size=size))
    return np.array(o, float), np.array(n, float)


@st.composite
def ratios(draw):
    size = draw(st.integers(2, 40))
    # observed use in patient-equivalents: zero, or from a hundredth of a patient upwards
    o = draw(st.lists(st.one_of(st.just(0.0), st.floats(0.01, 3000)), min_size=size, max_size=size))
    e = draw(st.lists(st.one_of(st.just(0.0), st.floats(0.01, 3000)), min_size=size, max_size=size))
    return np.array(o, float), np.array(e, float)


DATA = st.one_of(
    st.tuples(st.just("proportion"), proportions()),
    st.tuples(st.just("rate"), rates()),
    st.tuples(st.just("ratio"), ratios()),
)
SUFFIXES = ("", "_od", "_mult")


def _le(a, b):
    """a ≤ b wherever both are defined (within rounding; ±inf compare as numbers)."""
    both = ~np.isnan(a) & ~np.isnan(b)
    a, b = a[both], b[both]
    slack = np.where(np.isfinite(b), TOL * np.maximum(1.0, np.abs(b)), 0.0)
    return bool(np.all(a <= b + slack))


@SETTINGS
@given(DATA, st.sampled_from([1.0, 100.0, 1000.0]))
def test_limits_are_ordered_and_99_8_is_wider(case, multiplier):
    kind, (o, d) = case
    r = funnel(kind, o, d, multiplier=multiplier)
    c = r.compared
    if not np.isfinite(r.target):
        return
    target = np.full(o.shape, r.target)
    for sfx in SUFFIXES:
        lo95, up95 = getattr(r, f"lower_95{sfx}")[c], getattr(r, f"upper_95{sfx}")[c]
        lo998, up998 = getattr(r, f"lower_998{sfx}")[c], getattr(r, f"upper_998{sfx}")[c]
        if sfx == "":
            assert np.isfinite(lo95).all() and np.isfinite(up998).all()
        elif np.isfinite(r.phi):  # a huge φ̂ or τ̂² may overflow an upper limit to +inf, never to NaN
            assert not np.isnan(lo95).any() and not np.isnan(up998).any()
        assert _le(lo95, target[c]) and _le(target[c], up95)
        assert _le(lo998, lo95) and _le(up95, up998)
    # each area's own interval holds its value and widens with the level
    for lvl in ("95", "998"):
        assert _le(getattr(r, f"ci_lower_{lvl}")[c], r.value[c]) and _le(r.value[c], getattr(r, f"ci_upper_{lvl}")[c])
    assert _le(r.ci_lower_998[c], r.ci_lower_95[c]) and _le(r.ci_upper_95[c], r.ci_upper_998[c])


@SETTINGS
@given(DATA, st.randoms(use_true_random=False))
def test_flags_do_not_depend_on_row_order(case, rnd):
    kind, (o, d) = case
    order = list(range(o.size))
    rnd.shuffle(order)
    a = funnel(kind, o, d)
    b = funnel(kind, o[order], d[order])
    assert a.target == b.target or (np.isnan(a.target) and np.isnan(b.target))
    assert a.phi == b.phi or (np.isnan(a.phi) and np.isnan(b.phi))
    for name in ("flag_95", "flag_998", "flag_95_od", "flag_998_od", "flag_95_mult", "flag_998_mult"):
        assert np.array_equal(getattr(a, name)[order], getattr(b, name)), name


@SETTINGS
@given(DATA)
def test_significant_at_99_8_implies_the_same_at_95_and_adjustment_only_shrinks_z(case):
    kind, (o, d) = case
    r = funnel(kind, o, d)
    for sfx in SUFFIXES:
        strict, loose = getattr(r, f"flag_998{sfx}"), getattr(r, f"flag_95{sfx}")
        sig = (strict == HIGH) | (strict == LOW)
        assert np.array_equal(strict[sig], loose[sig])
    finite = np.isfinite(r.z) & np.isfinite(r.z_od)
    assert np.all(np.abs(r.z_od[finite]) <= np.abs(r.z[finite]) + 1e-12)
    assert np.all(np.abs(r.z_mult[finite]) <= np.abs(r.z[finite]) + 1e-12)


@SETTINGS
@given(st.lists(st.tuples(st.integers(1, 10**6), st.floats(0, 1)), min_size=1, max_size=50),
       st.sampled_from([0.8, 0.95, 0.998]))
def test_wilson_contains_the_proportion(pairs, level):
    n = np.array([p[0] for p in pairs], float)
    o = np.floor(np.array([p[1] for p in pairs]) * n)
    lo, hi = wilson_limits(o, n, level)
    assert np.all((lo >= 0) & (lo <= o / n + TOL) & (hi >= o / n - TOL) & (hi <= 1))


@SETTINGS
@given(st.lists(st.floats(0, 1e6, allow_nan=False), min_size=1, max_size=50))
def test_poisson_limits_contain_the_count_and_widen(counts):
    o = np.array(counts)
    a, b = poisson_limits(o, 0.95), poisson_limits(o, 0.998)
    assert np.all((a.lower <= o * (1 + TOL)) & (a.upper >= o))
    assert np.all((b.lower <= a.lower + TOL) & (b.upper >= a.upper))
