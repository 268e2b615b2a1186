"""XmR charts and the Making Data Count rules: each rule triggered and not, and a brute-force
re-implementation of the rules compared on random series."""

from __future__ import annotations

import numpy as np
import pytest

from uptake.engine.stats.spc import COMMON, CONCERN, HIGH, IMPROVEMENT, LOW, xmr

# A baseline whose mean is 10.5 and MR̄ 1: limits 10.5 ± 2.66 = (7.84, 13.16),
# 2σ band 10.5 ± (2/3)·2.66 = (8.726667, 12.273333). It alternates about the mean, so no rule fires.
BASE = [11.0, 10.0] * 6
B = len(BASE)


def flagged(values, rule, **kw):
    r = xmr(values, baseline=B, **kw)
    return list(np.nonzero(getattr(r, rule))[0])


def test_limits_by_hand():
    # 10, 12, 11, 13, 14: mean 12; moving ranges 2, 1, 2, 1 → MR̄ 1.5
    r = xmr([10, 12, 11, 13, 14])
    assert r.mean == 12.0 and r.mr_bar == 1.5
    assert (r.lower_limit, r.upper_limit) == pytest.approx((12 - 3.99, 12 + 3.99))
    assert (r.lower_2sigma, r.upper_2sigma) == pytest.approx((12 - 2.66, 12 + 2.66))
    assert r.sigma == pytest.approx(1.5 / 1.128)
    assert np.isnan(r.moving_range[0]) and list(r.moving_range[1:]) == [2, 1, 2, 1]


def test_the_baseline_alone_is_common_cause():
    r = xmr(BASE, baseline=B)
    assert (r.mean, r.mr_bar) == (10.5, 1.0)
    assert (r.lower_2sigma, r.upper_2sigma) == pytest.approx((8.726667, 12.273333), abs=1e-6)
    assert not r.special_cause.any() and set(r.label) == {COMMON}


def test_outside_the_limits():
    assert flagged(BASE + [13.2], "outside") == [B]  # 13.2 > 13.16
    assert flagged(BASE + [13.1], "outside") == []
    assert flagged(BASE + [7.8], "outside") == [B]  # 7.8 < 7.84
    assert flagged(BASE + [7.9], "outside") == []


def test_without_a_baseline_the_spike_moves_the_limits():
    # [10, 11]×6 + [20]: mean 146/13 = 11.230769, MR̄ (11·1 + 9)/12 = 1.666667, UPL 15.664103
    r = xmr([10.0, 11.0] * 6 + [20.0])
    assert r.upper_limit == pytest.approx(15.664103, abs=1e-6)
    assert r.outside[-1] and not r.outside[:-1].any()
    assert r.run[:-1].all()  # every other point is below that mean: a run of 12


RUN = [11.5, 11.2, 11.6, 11.3, 11.5, 11.4, 11.6]  # above 10.5, inside the band, not monotone


def test_run_of_seven():
    assert flagged(BASE + RUN, "run") == list(range(B, B + 7))  # every point of the run
    assert flagged(BASE + RUN[:6] + [10.0], "run") == []  # six is not enough
    below = [21 - v for v in RUN]  # mirrored below the mean
    assert flagged(BASE + below, "run") == list(range(B - 1, B + 7))  # joined by the baseline's last 10
    assert flagged(BASE[::-1] + below, "run") == list(range(B, B + 7))  # that baseline ends on 11
    # a point exactly on the mean breaks the run
    assert flagged(BASE + RUN[:3] + [10.5] + RUN[3:], "run") == []
    r = xmr(BASE + RUN, baseline=B)
    assert not (r.outside.any() or r.trend.any() or r.two_of_three.any())


TREND = [9.0, 9.5, 10.0, 10.4, 10.8, 11.2, 11.6]  # 7 rising points inside the limits


def test_trend_of_seven():
    assert flagged(BASE + TREND, "trend") == list(range(B, B + 7))
    assert flagged(BASE + TREND[1:], "trend") == []  # 6 rising points (5 rises) are not a trend
    assert flagged(BASE + TREND[::-1], "trend") == list(range(B, B + 7))  # falling
    assert flagged(BASE + TREND[:3] + [10.0] + TREND[3:], "trend") == []  # an equal value breaks it
    r = xmr(BASE + TREND, baseline=B)
    assert not (r.outside.any() or r.run.any() or r.two_of_three.any())
    assert list(r.side[B:]) == [1] * 7


def test_two_of_three_beyond_two_sigma():
    assert flagged(BASE + [12.5, 10.2, 12.6], "two_of_three") == [B, B + 2]  # not the point between
    assert flagged(BASE + [12.5, 12.6], "two_of_three") == [B, B + 1]
    assert flagged(BASE + [12.5, 10.2, 8.5], "two_of_three") == []  # opposite sides
    assert flagged(BASE + [12.5, 10.2, 10.0, 12.6], "two_of_three") == []  # 2 of 4
    assert flagged(BASE + [8.6, 8.5, 10.0], "two_of_three") == [B, B + 1]  # low side
    r = xmr(BASE + [12.5, 10.2, 12.6], baseline=B)
    assert not (r.outside.any() or r.run.any() or r.trend.any())


def test_labels_follow_the_improvement_direction():
    series = BASE + [13.2]
    assert xmr(series, baseline=B, improvement="increase").label[-1] == IMPROVEMENT
    assert xmr(series, baseline=B, improvement="decrease").label[-1] == CONCERN
    assert xmr(series, baseline=B).label[-1] == HIGH
    assert xmr(BASE + [7.8], baseline=B).label[-1] == LOW
    assert xmr(series, baseline=B, improvement="increase").label[0] == COMMON


def test_when_rules_disagree_on_the_side_the_earlier_rule_wins():
    # seven falling points that all sit above the mean: a run says high, the trend says low;
    # the run comes first (outside, two of three, run, trend), so the points are high
    falling_above = [12.2, 12.0, 11.8, 11.6, 11.4, 11.2, 11.0]
    r = xmr(BASE + falling_above, baseline=B, improvement="increase")
    assert r.run[B:].all() and r.trend[B:].all() and not r.two_of_three.any()
    assert list(r.side[B:]) == [1] * 7 and set(r.label[B:]) == {IMPROVEMENT}
    # a point beyond the upper limit that starts a falling trend is high; the rest are low
    r = xmr(BASE + [13.2, 12.0, 11.5, 11.0, 10.0, 9.5, 9.0], baseline=B)
    assert r.outside[B] and r.trend[B:].all() and not r.run.any()
    assert list(r.side[B:]) == [1] + [-1] * 6


def test_short_and_bad_series():
    one = xmr([3.0])
    assert np.isnan(one.upper_limit) and not one.special_cause.any()
    assert xmr([]).values.size == 0
    with pytest.raises(ValueError, match="missing"):
        xmr([1.0, np.nan, 2.0])
    with pytest.raises(ValueError, match="baseline"):
        xmr([1.0, 2.0, 3.0], baseline=1)
    with pytest.raises(ValueError, match="improvement"):
        xmr([1.0, 2.0], improvement="up")  # type: ignore[arg-type]


# ---------------------------------------------------------------- independent brute force

def brute_force(x: list[float], mean: float, upl: float, lpl: float, up2: float, lo2: float):
    n = len(x)
    outside = [v > upl or v < lpl for v in x]
    run = [False] * n
    for start in range(n - 6):
        w = x[start:start + 7]
        if all(v > mean for v in w) or all(v < mean for v in w):
            for i in range(start, start + 7):
                run[i] = True
    trend = [False] * n
    for start in range(n - 6):
        w = x[start:start + 7]
        if all(w[i + 1] > w[i] for i in range(6)) or all(w[i + 1] < w[i] for i in range(6)):
            for i in range(start, start + 7):
                trend[i] = True
    two = [False] * n
    for start in range(n - 2):
        for test in (lambda v: v > up2, lambda v: v < lo2):
            hits = [i for i in range(start, start + 3) if test(x[i])]
            if len(hits) >= 2:
                for i in hits:
                    two[i] = True
    return outside, run, trend, two


def test_rules_match_a_brute_force_implementation_on_random_series():
    rng = np.random.default_rng(2024)
    fired = {"outside": 0, "run": 0, "trend": 0, "two_of_three": 0}
    for _ in range(300):
        n = int(rng.integers(8, 40))
        x = np.round(np.cumsum(rng.normal(0, 1, n)) * 0.5 + rng.normal(0, 1, n), 1)  # ties happen
        r = xmr(x)
        mr_bar = np.mean(np.abs(np.diff(x)))
        mean = np.mean(x)
        want = brute_force(list(x), mean, mean + 2.66 * mr_bar, mean - 2.66 * mr_bar,
                           mean + 2 / 3 * 2.66 * mr_bar, mean - 2 / 3 * 2.66 * mr_bar)
        for name, expected in zip(fired, want):
            assert list(getattr(r, name)) == expected, name
            fired[name] += int(any(expected))
        assert list(r.special_cause) == [any(f) for f in zip(*want)]
    assert all(count > 5 for count in fired.values()), fired  # each rule was exercised
