"""Diffusion curves: closed forms, fits that recover known parameters, and series that cannot
be fitted."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import optimize

from uptake.engine.stats.diffusion import (
    bass,
    bass_peak_time,
    bass_time_to,
    first_crossing,
    fit,
    fit_bass,
    fit_logistic,
    lag_behind,
    logistic,
    logistic_time_to,
)


def test_bass_t50_check_from_methods():
    # p = 0.01, q = 0.4: t₅₀ = ln((1 + 40·0.5)/0.5)/0.41 = ln 42/0.41 = 3.737670/0.41 = 9.116
    t50 = bass_time_to(0.5, 0.01, 0.4)
    assert t50 == pytest.approx(9.116, abs=1e-3)
    assert round(t50, 2) == 9.12
    assert bass([t50], 1.0, 0.01, 0.4)[0] == pytest.approx(0.5, abs=1e-12)


def test_bass_closed_forms_against_root_finding():
    for p, q in ((0.01, 0.4), (0.003, 0.25), (0.05, 0.05), (0.02, 0.0)):
        for x in (0.1, 0.5, 0.8, 0.95):
            root = optimize.brentq(lambda t: bass([t], 1.0, p, q)[0] - x, 0.0, 10_000.0, xtol=1e-12)
            assert bass_time_to(x, p, q) == pytest.approx(root, rel=1e-9)
    # peak of the adoption rate f = dF/dt at t* = ln(q/p)/(p + q): ln 40/0.41 = 8.997
    t_star = bass_peak_time(0.01, 0.4)
    assert t_star == pytest.approx(8.9972, abs=1e-4)
    h = 1e-4
    rate = lambda t: (bass([t + h], 1, 0.01, 0.4)[0] - bass([t - h], 1, 0.01, 0.4)[0]) / (2 * h)  # noqa: E731
    assert rate(t_star) > rate(t_star - 0.5) and rate(t_star) > rate(t_star + 0.5)
    assert bass_peak_time(0.4, 0.01) is None and bass_time_to(1.0, 0.01, 0.4) is None


def test_logistic_closed_forms():
    # t_x = t₀ + ln(x/(1 − x))/r: t₅₀ = t₀; 10% → 90% takes ln 81/r = 4.394449/r
    assert logistic_time_to(0.5, 0.3, 18.0) == 18.0
    assert logistic_time_to(0.9, 0.3, 18.0) - logistic_time_to(0.1, 0.3, 18.0) == pytest.approx(4.394449 / 0.3, abs=1e-5)
    assert logistic([logistic_time_to(0.8, 0.3, 18.0)], 2.0, 0.3, 18.0)[0] == pytest.approx(1.6)
    assert logistic_time_to(1.2, 0.3, 18.0) is None


T48 = np.arange(48.0)
T60 = np.arange(60.0)


def test_logistic_fit_recovers_a_noiseless_curve():
    f = fit_logistic(T48, logistic(T48, 0.9, 0.3, 18.0))
    assert f.converged and not f.at_bound
    assert f.params == pytest.approx({"K": 0.9, "r": 0.3, "t0": 18.0}, rel=1e-5)
    assert f.r2 == pytest.approx(1.0) and f.rmse < 1e-6
    # 50% of expected (= 1) is 0.5/0.9 of K: t = 18 + ln(0.5556/0.4444)/0.3 = 18 + 0.743812 = 18.743812
    assert f.t50 == pytest.approx(18.743812, abs=1e-4)
    # 80% of expected: x = 0.8/0.9, t = 18 + ln 8/0.3 = 24.931472
    assert f.t80 == pytest.approx(24.931472, abs=1e-4)


def test_logistic_fit_recovers_a_noisy_curve():
    rng = np.random.default_rng(7)
    y = logistic(T48, 0.9, 0.3, 18.0) + rng.normal(0, 0.02, T48.size)
    f = fit_logistic(T48, y)
    assert f.converged
    assert f.params["K"] == pytest.approx(0.9, abs=0.02)
    assert f.params["r"] == pytest.approx(0.3, abs=0.03)
    assert f.params["t0"] == pytest.approx(18.0, abs=0.5)
    assert f.r2 > 0.99 and 0.01 < f.rmse < 0.03


def test_bass_fit_recovers_a_noiseless_curve():
    f = fit_bass(T60, bass(T60, 0.85, 0.01, 0.35))
    assert f.converged
    assert f.params == pytest.approx({"m": 0.85, "p": 0.01, "q": 0.35}, rel=1e-5)
    # 50% of expected = x = 0.5/0.85 of m: ln((1 + 35·0.588235)/0.411765)/0.36 = 10.998477
    assert f.t50 == pytest.approx(10.998477, abs=1e-4)
    assert f.extra["peak_time"] == pytest.approx(math.log(35) / 0.36)


def test_bass_fit_recovers_a_noisy_curve():
    rng = np.random.default_rng(8)
    y = bass(T60, 0.85, 0.01, 0.35) + rng.normal(0, 0.02, T60.size)
    f = fit_bass(T60, y)
    assert f.converged
    assert f.params["m"] == pytest.approx(0.85, abs=0.02)
    assert f.params["p"] == pytest.approx(0.01, abs=0.003)
    assert f.params["q"] == pytest.approx(0.35, abs=0.04)
    assert f.r2 > 0.99


def test_fitted_and_empirical_times_to_expected():
    y = bass(T60, 1.2, 0.01, 0.4)  # saturates above expected
    f = fit("bass", T60, y)
    assert f.t50 == pytest.approx(bass_time_to(0.5 / 1.2, 0.01, 0.4), abs=1e-4)
    assert f.t50_empirical == pytest.approx(f.t50, abs=0.05)  # linear interpolation on a smooth curve
    # a ceiling below 80% of expected: t₈₀ never comes, on the curve or in the data
    low = fit_logistic(T48, logistic(T48, 0.7, 0.3, 18.0))
    assert low.t80 is None and low.t80_empirical is None and low.t50 is not None
    # with expected = 2 (series in patients, 2 patients = 100%), t₅₀ is where the curve reaches 1
    g = fit_logistic(T48, logistic(T48, 1.8, 0.3, 18.0), expected=2.0)
    assert g.t50 == pytest.approx(18.743812, abs=1e-4)


def test_first_crossing_by_hand():
    # (0, 0.2, 0.4, 0.6) at months 0–3: 0.5 is reached half way between months 2 and 3
    assert first_crossing([0, 1, 2, 3], [0, 0.2, 0.4, 0.6], 0.5) == 2.5
    assert first_crossing([0, 1, 2, 3], [0, 0.2, 0.4, 0.6], 0.4) == 2.0
    assert first_crossing([0, 1, 2, 3], [0.7, 0.2, 0.4, 0.6], 0.5) == 0.0
    assert first_crossing([0, 1, 2], [0, 0.1, 0.2], 0.5) is None
    # the first crossing, even if the series falls back afterwards
    # (0 → 0.6 between months 0 and 1: 0.5/0.6 = 0.833333)
    assert first_crossing([0, 1, 2, 3, 4], [0, 0.6, 0.3, 0.8, 0.9], 0.5) == pytest.approx(0.833333, abs=1e-6)


def test_lag_behind_a_reference():
    ref = logistic(T60, 1.0, 0.3, 15.0)
    org = logistic(T60, 1.0, 0.3, 19.0)  # the same curve 4 months later
    lags = lag_behind(T60, org, T60, ref)
    assert lags[0.5].lag == pytest.approx(4.0, abs=0.05)
    assert lags[0.8].lag == pytest.approx(4.0, abs=0.05)
    assert lags[0.5].t_ref == pytest.approx(15.0, abs=0.05)
    slow = logistic(T60, 0.7, 0.3, 19.0)  # never reaches 80% of expected
    lags = lag_behind(T60, slow, T60, ref)
    assert lags[0.8].lag is None and lags[0.8].t_org is None and lags[0.8].t_ref is not None
    assert lags[0.5].lag is not None
    ahead = lag_behind(T60, ref, T60, org)
    assert ahead[0.5].lag == pytest.approx(-4.0, abs=0.05)


@pytest.mark.parametrize("model", ["logistic", "bass"])
@pytest.mark.parametrize(
    ("series", "why"),
    [
        (np.zeros(36), "zero"),
        (np.full(36, 0.4), "flat"),
        (np.array([0.0, 0.1, 0.2]), "too few"),
        (np.array([np.nan] * 30 + [0.1, 0.2]), "too few"),
    ],
)
def test_series_that_cannot_be_fitted_do_not_crash(model, series, why):
    f = fit(model, np.arange(float(series.size)), series)
    assert not f.converged and why in f.message
    assert f.t50 is None and f.params == {}
    assert np.isnan(f.predict([1.0, 2.0])).all()


def test_missing_months_are_dropped_and_times_must_increase():
    y = logistic(T48, 0.9, 0.3, 18.0)
    y[[5, 20, 33]] = np.nan
    f = fit_logistic(T48, y)
    assert f.converged and f.n == 45 and f.params["t0"] == pytest.approx(18.0, rel=1e-5)
    with pytest.raises(ValueError, match="increasing"):
        fit_logistic([0, 2, 1, 3, 4], [0, 0.1, 0.2, 0.3, 0.4])
    with pytest.raises(ValueError, match="model"):
        fit("gompertz", T48, y)  # type: ignore[arg-type]


def test_a_series_still_growing_exponentially_reports_its_ceiling_at_the_bound():
    # y = 0.001·e^{0.3t} has no ceiling yet: the fitted K runs to its bound, 10 × max(y)
    t = np.arange(24.0)
    y = 0.001 * np.exp(0.3 * t)
    f = fit_logistic(t, y)
    assert f.converged and f.at_bound
    assert f.params["K"] == pytest.approx(10 * y.max(), rel=1e-6)
    assert not fit_logistic(T48, logistic(T48, 0.9, 0.3, 18.0)).at_bound
